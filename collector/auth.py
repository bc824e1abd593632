"""Who is calling: a device by its token URL, or a web user by Basic auth or bearer token."""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
import ipaddress
import math
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import abort, current_app, g, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from collector.db import get_session
from collector.errors import refuse
from ingest import audit, scope
from ingest.access import Caller, device_caller, user_caller
from ingest.accounts.signin import SignInPolicy, account_key, reserve_sign_in, sign_in_failed, sign_in_succeeded
from ingest.accounts.users import authenticate, device_for_token, user_for_bearer
from ingest.errors import AUTHENTICATION_FAILED, HTTPS_ONLY
from ingest.models import Device, User

#: Prefix of the known-device cookies (one per account a browser or tool has signed in to).
DEVICE_COOKIE = "collector_device"


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

    The scheme is the one a trusted proxy saw (X-Forwarded-Proto from a TRUSTED_PROXIES peer), else the
    connection's own.

    :raise 403: plain HTTP from another address.
    """
    if request.scheme != "https" and not _loopback(request.remote_addr):
        refuse(
            HTTPS_ONLY,
            "Passwords are accepted over https only: use this server's https:// address "
            "(device links keep working over http).",
        )


def sign_in_policy() -> SignInPolicy:
    """Return the sign-in limits configured for this app."""
    config = current_app.config
    return SignInPolicy(
        limit=int(config["SIGNIN_MAX_FAILURES"]),
        window=timedelta(minutes=float(config["SIGNIN_WINDOW_MINUTES"])),
        first_delay=timedelta(seconds=float(config["SIGNIN_DELAY_SECONDS"])),
        max_delay=timedelta(minutes=float(config["SIGNIN_MAX_DELAY_MINUTES"])),
    )


def _device_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="collector.known-device")


def device_cookie_name(account: str) -> str:
    """Name the known-device cookie of an account (a hash prefix: several staff may share a browser)."""
    return f"{DEVICE_COOKIE}_{account[:16]}"


def known_device(account: str) -> str | None:
    """Return the nonce of this request's valid known-device cookie for `account`, or None."""
    value = request.cookies.get(device_cookie_name(account))
    if not value:
        return None
    max_age = int(float(current_app.config["SIGNIN_DEVICE_DAYS"]) * 86400)
    try:
        owner, nonce = _device_serializer().loads(value, max_age=max_age)
    except (BadSignature, ValueError, TypeError):
        return None
    return nonce if hmac.compare_digest(str(owner), account[:32]) else None


def sign_in(email: str, password: str):
    """Return the active user with this email and password, within the sign-in limits.

    An attempt is counted before any password is hashed, per account and per address; past
    SIGNIN_MAX_FAILURES failures in a row each key waits, longer after each further failure. A browser or
    tool holding the account's known-device cookie (given at its last successful sign-in, OWASP's "device
    cookie") is counted on its own key instead, so guessing from elsewhere never locks the owner out.
    A failure is audited and committed before the request is refused, so it counts even though it fails.

    :raise 429: the key must wait (`g.retry_after` holds the seconds, sent as Retry-After).
    :raise 401: wrong email or password, or a disabled user.
    """
    session = get_session()
    policy = sign_in_policy()
    account, address = account_key(email), request.remote_addr or ""
    nonce = known_device(account)
    keys = [f"device:{nonce}"] if nonce else [f"account:{account}", f"address:{address}"[:100]]
    wait = reserve_sign_in(session, keys, policy)
    if wait:
        g.retry_after = wait
        abort(429, f"Too many failed sign-ins. Try again in {max(1, round(wait / 60))} minute(s).")
    user = authenticate(session, email, password)
    if user is None:
        delay = sign_in_failed(session, keys, policy)
        # The account hash, never the email: the log must not become a list of who was tried.
        resource = f"account:{account[:16]}"
        audit.record(session, "session.failed", resource, address=address, knownDevice=bool(nonce))
        if delay and delay <= math.ceil(policy.first_delay.total_seconds()):
            # Logged when the limit is first reached; the 429s that follow are not (a flood would fill the log).
            audit.record(session, "session.limited", resource, address=address, retryAfter=delay)
        session.commit()
        refuse(AUTHENTICATION_FAILED, "The email or password is wrong.")
    sign_in_succeeded(session, keys, forget=[keys[0]])
    if nonce is None:
        g.new_device_cookie = (
            device_cookie_name(account),
            _device_serializer().dumps([account[:32], secrets.token_urlsafe(16)]),
        )
    return user


def remember_device(response):
    """Give a browser or tool that just signed in its known-device cookie for the account (after_request)."""
    cookie = g.pop("new_device_cookie", None)
    if cookie is not None and response.status_code < 400:
        response.set_cookie(
            cookie[0],
            cookie[1],
            max_age=int(float(current_app.config["SIGNIN_DEVICE_DAYS"]) * 86400),
            path=(request.script_root or "") + "/",
            secure=request.is_secure,
            httponly=True,
            samesite="Lax",
        )
    return response


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
