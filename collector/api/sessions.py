"""Sign-in and sign-out for web users (bearer tokens), and who is signed in."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, current_app, jsonify, request
from marshmallow import Schema, fields, validate

from collector.api.common import api_blueprint, json_body
from collector.api.openapi import accepts
from collector.auth import current_actor, require_https_for_passwords, roles_required, sign_in
from collector.db import get_session
from ingest.accounts.admin import signed_in, signed_out
from ingest.accounts.users import close_session, open_session
from ingest.records.describe import iso

bp = api_blueprint("sessions", __name__)


class SessionSchema(Schema):
    """Credentials for POST /v1/sessions."""

    email = fields.String(required=True, validate=validate.Length(min=3, max=320))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024))


@bp.post("/sessions")
@accepts(SessionSchema)
def create_session():
    """Exchange an email and password for a bearer token (rate limited like Basic auth, audited).

    :raise 401: wrong email or password.  :raise 403: over plain HTTP from another machine.
    :raise 429: too many failed sign-ins for the account or from the address.
    """
    require_https_for_passwords()
    body = SessionSchema().load(json_body())
    session = get_session()
    user = sign_in(body["email"], body["password"])
    token, row = open_session(session, user, timedelta(hours=int(current_app.config["SESSION_HOURS"])))
    signed_in(session, user)
    session.commit()
    return jsonify({"token": token, "createdAt": iso(row.created_at), "expiresAt": iso(row.expires_at)})


@bp.delete("/sessions/current")
@roles_required()
def delete_session():
    """Sign out: revoke the bearer session token this request carries.

    :raise 400: the request was not made with a session token (Basic auth, or an API token).
    """
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("bearer "):
        abort(400, "Only a bearer session can be signed out.")
    session = get_session()
    if not close_session(session, header.split(" ", 1)[1].strip()):
        abort(400, "This is an API token, not a session: an administrator revokes it (collector tokens revoke).")
    signed_out(get_session(), current_actor().user)
    session.commit()
    return jsonify({"success": True})


@bp.get("/users/current")
@roles_required()
def users_current():
    """Describe the signed-in user."""
    user = current_actor().user
    return jsonify(
        {
            "id": user.id,
            "email": user.email,
            "displayName": user.display_name,
            "role": user.role,
            "provinces": user.provinces,
            "createdAt": iso(user.created_at),
        }
    )
