"""Who is calling: a device by its token URL, or a web user by Basic auth or bearer token."""
from __future__ import annotations

import base64
import binascii
import functools
import ipaddress
from dataclasses import dataclass
from datetime import timedelta

from flask import abort, current_app, g, request

from collector.db import get_session
from collector.errors import refuse
from ingest import audit, scope
from ingest.access import Caller, device_caller, user_caller
from ingest.errors import AUTHENTICATION_FAILED, HTTPS_ONLY
from ingest.accounts.users import (account_key, authenticate, device_for_token, note_sign_in_failure, sign_in_wait,
                             user_for_bearer)
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

    Bearer tokens (sessions and API tokens) are accepted over plain HTTP, as ODK Central does: they expire
    or can be revoked, whereas a password sent in the clear is lost for good.

    :raise 401: no credentials, a wrong password, or an unknown, expired or revoked bearer token.
    :raise 403: unknown or revoked device token; a password over plain HTTP from another machine.
    :raise 429: too many failed sign-ins for the account or from the address (see sign_in).
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
                refuse(AUTHENTICATION_FAILED, "The session or API token is unknown, expired or revoked. Sign in again.")
            if session.dirty:
                session.commit()  # an API token's last use; views that only read never commit
            actor = Actor(user=user)
        elif scheme == "basic":
            require_https_for_passwords()
            creds = _basic_credentials(header)
            if creds is None:
                refuse(AUTHENTICATION_FAILED, "The email or password is wrong.")
            # Successful Basic sign-ins are not audited: every request of a tool would be.
            actor = Actor(user=sign_in(*creds))
    if actor is None:
        abort(401)
    g.actor = actor
    scope.use(session, actor.caller)
    return actor


def _loopback(address: str | None) -> bool:
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or (mapped is not None and mapped.is_loopback)


def require_https_for_passwords() -> None:
    """Refuse a password sent over plain HTTP, unless it comes from this machine (as ODK Central does).

    The scheme is the one the trusted proxy saw (X-Forwarded-Proto, applied by ProxyFix).

    :raise 403: plain HTTP from another address.
    """
    if request.scheme != "https" and not _loopback(request.remote_addr):
        refuse(HTTPS_ONLY, "Passwords are accepted over https only: use this server's https:// address "
                           "(device links keep working over http).")


def sign_in(email: str, password: str):
    """Return the active user with this email and password, within the sign-in rate limit.

    The limit is checked before any password is hashed. A failure is recorded, audited and committed
    before the request is refused, so it counts even though the request then fails.

    :raise 429: SIGNIN_MAX_FAILURES failures for this account or from this address within
        SIGNIN_WINDOW_MINUTES (`g.retry_after` holds the seconds to wait, sent as Retry-After).
    :raise 401: wrong email or password, or a disabled user.
    """
    session = get_session()
    limit = int(current_app.config["SIGNIN_MAX_FAILURES"])
    window = timedelta(minutes=float(current_app.config["SIGNIN_WINDOW_MINUTES"]))
    account, address = account_key(email), request.remote_addr or ""
    wait = sign_in_wait(session, account, address, limit, window)
    if wait:
        g.retry_after = wait
        abort(429, f"Too many failed sign-ins. Try again in {max(1, round(wait / 60))} minute(s).")
    user = authenticate(session, email, password)
    if user is None:
        note_sign_in_failure(session, account, address, window)
        # The account hash, never the email: the log must not become a list of who was tried.
        resource = f"account:{account[:16]}"
        audit.record(session, "session.failed", resource, address=address)
        wait = sign_in_wait(session, account, address, limit, window)
        if wait:
            # Logged once, when the limit is reached; the 429s that follow are not (a flood would fill the log).
            audit.record(session, "session.limited", resource, address=address, retryAfter=wait)
        session.commit()
        refuse(AUTHENTICATION_FAILED, "The email or password is wrong.")
    return user


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

        wrapped.roles = roles  # named in the OpenAPI document
        return wrapped

    return decorator


def audit_request(action: str, resource: str, **details) -> None:
    """Record an audit event for this request's caller and address (committed with the request's transaction)."""
    actor = g.get("actor")
    audit.record(get_session(), action, resource, user_id=actor.user.id if actor and actor.user else None,
                 device_id=actor.device.id if actor and actor.device else None, address=request.remote_addr,
                 **details)
