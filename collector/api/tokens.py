"""API tokens, for administrators: long-lived, named, revocable bearer tokens for tools (pyodk, Power BI)."""

from __future__ import annotations

from flask import abort, jsonify, request
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from collector.api.common import api_blueprint, json_body
from collector.api.openapi import accepts
from collector.api.users import ADMINS
from collector.auth import current_actor, roles_required
from collector.db import get_session
from collector.transport.guards import MAX_ID
from ingest.accounts.admin import add_api_token, end_api_token
from ingest.models import ApiToken, User
from ingest.records.describe import iso

bp = api_blueprint("tokens", __name__)


class TokenSchema(Schema):
    """A new API token; it acts as `userId` (the caller when left out), with that user's rights and no more."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    userId = fields.Integer(load_default=None, validate=validate.Range(min=1, max=MAX_ID))
    expiresDays = fields.Integer(load_default=None)


def token_json(row: ApiToken) -> dict:
    """Describe an API token without its secret."""
    return {
        "id": row.id,
        "name": row.name,
        "userId": row.user_id,
        "userEmail": row.user.email,
        "createdAt": iso(row.created_at),
        "expiresAt": iso(row.expires_at),
        "revokedAt": iso(row.revoked_at),
        "lastUsedAt": iso(row.last_used_at),
    }


@bp.post("/tokens")
@roles_required(*ADMINS)
@accepts(TokenSchema)
def create():
    """Make an API token; the answer is the only time the token itself is shown.

    :raise 400: no name, a bad lifetime, or no such user.
    """
    body = TokenSchema().load(json_body())
    session = get_session()
    user = session.get(User, body["userId"]) if body["userId"] else current_actor().user
    if user is None:
        abort(400, f"There is no user with the id {body['userId']}.")
    token, row = add_api_token(session, user, body["name"], body["expiresDays"])
    session.commit()
    return jsonify({**token_json(row), "token": token}), 201


@bp.get("/tokens")
@roles_required(*ADMINS)
def list_tokens():
    """List API tokens (`?userId=` filters), revoked ones included; never their secrets.

    :raise 400: a userId that is not a number.
    """
    query = select(ApiToken).order_by(ApiToken.id)
    if "userId" in request.args:
        user_id = request.args["userId"]
        if not (user_id.isascii() and user_id.isdigit() and int(user_id) <= MAX_ID):
            abort(400, "userId must be a user's number.")
        query = query.where(ApiToken.user_id == int(user_id))
    return jsonify([token_json(row) for row in get_session().scalars(query)])


@bp.delete("/tokens/<int:token_id>")
@roles_required(*ADMINS)
def revoke(token_id: int):
    """Revoke an API token: its next request is refused (401).

    :raise 404: no such token.
    """
    session = get_session()
    row = session.get(ApiToken, token_id)
    if row is None:
        abort(404, "No such API token.")
    end_api_token(session, row)
    session.commit()
    return jsonify({"success": True})
