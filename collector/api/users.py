"""Web users, for administrators: list, create, read, and change role, provinces, name or access."""

from __future__ import annotations

from flask import abort, jsonify
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from collector.api.common import api_blueprint, json_body
from collector.api.openapi import accepts
from collector.auth import current_actor, roles_required
from collector.db import get_session
from ingest.access import RIGHTS, ROLES
from ingest.accounts.admin import add_user, change_user
from ingest.db import begin_write
from ingest.models import User
from ingest.records.describe import iso

bp = api_blueprint("users", __name__)

#: Roles that manage users, roles and tokens.
ADMINS = tuple(r for r in ROLES if "admin" in RIGHTS[r])

# Roles are not checked by the schema: an unknown one is a 400 that names it (ingest.accounts.users.check_role).
_ROLE = fields.String(validate=validate.Length(min=1, max=50))
_PROVINCES = fields.List(fields.String(validate=validate.Length(min=1, max=10)), validate=validate.Length(max=50))


class UserSchema(Schema):
    """A new web user."""

    email = fields.String(required=True, validate=validate.Length(min=3, max=320))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024))
    role = _ROLE
    provinces = _PROVINCES
    displayName = fields.String(validate=validate.Length(max=200))


class UserChangeSchema(Schema):
    """What PATCH /v1/users/<id> may change (never the password or the email)."""

    role = _ROLE
    provinces = _PROVINCES
    displayName = fields.String(validate=validate.Length(max=200))
    disabled = fields.Boolean()


def user_json(user: User) -> dict:
    """Describe a web user (Central's shape, with role, provinces and when access was disabled)."""
    return {
        "id": user.id,
        "email": user.email,
        "displayName": user.display_name,
        "role": user.role,
        "provinces": user.provinces,
        "createdAt": iso(user.created_at),
        "disabledAt": iso(user.disabled_at),
    }


def _user(user_id: int) -> User:
    """:raise 404: no such user."""
    user = get_session().get(User, user_id)
    if user is None:
        abort(404, "No such user.")
    return user


@bp.get("/users")
@roles_required(*ADMINS)
def list_users():
    """List every web user, disabled ones included."""
    users = get_session().scalars(select(User).order_by(User.id))
    return jsonify([user_json(u) for u in users])


@bp.post("/users")
@roles_required(*ADMINS)
@accepts(UserSchema)
def create():
    """Create a web user with a role (and provinces for provincial roles).

    :raise 400: unknown role or province (named), short password, not an email.  :raise 409: email taken.
    """
    body = UserSchema().load(json_body())
    session = get_session()
    user = add_user(
        session,
        body["email"],
        body["password"],
        body.get("role", "analyst"),
        provinces=body.get("provinces", []),
        display_name=body.get("displayName", ""),
    )
    session.commit()
    return jsonify(user_json(user)), 201


@bp.get("/users/<int:user_id>")
@roles_required(*ADMINS)
def get(user_id: int):
    """Describe one web user.

    :raise 404: no such user.
    """
    return jsonify(user_json(_user(user_id)))


@bp.patch("/users/<int:user_id>")
@roles_required(*ADMINS)
@accepts(UserChangeSchema)
def update(user_id: int):
    """Change a user's role, provinces, display name, or disable or enable them (audited).

    Provinces left out are kept when the new role may have provinces, and dropped when it may not.

    :raise 400: unknown role or province (named), or provinces that do not fit the role.
    :raise 403: administrators changing their own role, provinces or access.  :raise 404: no such user.
    """
    body = UserChangeSchema().load(json_body())
    session = get_session()
    begin_write(session)
    user = _user(user_id)
    changes = change_user(
        session,
        current_actor().user,
        user,
        role=body.get("role"),
        provinces=body.get("provinces"),
        disabled=body.get("disabled"),
        display_name=body.get("displayName"),
    )
    if changes:
        session.commit()
    return jsonify(user_json(user))
