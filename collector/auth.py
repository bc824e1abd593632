"""Who is calling: a device by its token URL, or a web user by Basic auth or bearer token."""
from __future__ import annotations

import base64
import binascii
import functools
from dataclasses import dataclass

from flask import abort, g, request

from collector.db import get_session
from ingest import audit, scope
from ingest.access import Caller, device_caller, user_caller
from ingest.accounts import authenticate, device_for_token, user_for_bearer
from ingest.models import Device, User


@dataclass
class Actor:
    """The authenticated caller: exactly one of user or device is set; `caller` is what reads are scoped by."""

    user: User | None = None
    device: Device | None = None

    @property
    def caller(self) -> Caller:
        """The scope every record query of this request is made for."""
        return user_caller(self.user) if self.user is not None else device_caller(self.device)


def _basic_credentials(header: str) -> tuple[str, str] | None:
    try:
        decoded = base64.b64decode(header.split(" ", 1)[1].strip(), validate=True).decode("utf-8")
    except (IndexError, binascii.Error, UnicodeDecodeError):
        return None
    email, sep, password = decoded.partition(":")
    # A NUL can reach no stored email; refusing it here keeps it out of the query (PostgreSQL rejects it).
    return (email, password) if sep and "\x00" not in decoded else None


def current_actor() -> Actor:
    """Authenticate the request once and cache the result.

    :raise 401: no credentials, or a wrong password.  :raise 403: unknown or revoked device token.
    """
    if "actor" in g:
        return g.actor
    session = get_session()
    token = g.get("device_token")
    actor = None
    if token is not None:
        device = device_for_token(session, token)
        if device is None:
            abort(403, "This device link is unknown or was revoked. Ask your trainer for a new QR code.")
        actor = Actor(device=device)
    else:
        header = request.headers.get("Authorization", "")
        scheme = header.split(" ", 1)[0].lower()
        if scheme == "bearer":
            user = user_for_bearer(session, header.split(" ", 1)[1].strip() if " " in header else "")
            if user is None:
                abort(401, "The session token is unknown or expired. Sign in again.")
            actor = Actor(user=user)
        elif scheme == "basic":
            creds = _basic_credentials(header)
            user = authenticate(session, *creds) if creds else None
            if user is None:
                abort(401, "The email or password is wrong.")
            actor = Actor(user=user)
    if actor is None:
        abort(401)
    g.actor = actor
    scope.use(session, actor.caller)
    return actor


def pop_device_token(_endpoint, values) -> None:
    """Move the /v1/key/<token>/ part of the URL out of the view arguments (url_value_preprocessor)."""
    if values and "token" in values:
        g.device_token = values.pop("token")


def login_required(view):
    """Let a device or a web user through."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        current_actor()
        return view(*args, **kwargs)

    return wrapped


def roles_required(*roles: str):
    """Let only web users with one of `roles` through; devices never read data back.

    :raise 403: a device, or a user without the role.
    """

    def decorator(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            actor = current_actor()
            if actor.user is None or (roles and actor.user.role not in roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


def audit_request(action: str, resource: str, **details) -> None:
    """Record an audit event for this request's caller and address (committed with the request's transaction)."""
    actor = g.get("actor")
    audit.record(get_session(), action, resource, user_id=actor.user.id if actor and actor.user else None,
                 device_id=actor.device.id if actor and actor.device else None, address=request.remote_addr,
                 **details)
