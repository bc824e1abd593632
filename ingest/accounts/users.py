"""Web users, their sessions and API tokens, and devices (app users) with their tokens."""

from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.util import identity_key
from zxcvbn import zxcvbn
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from forms import province_names
from ingest.access import MAY_HAVE_PROVINCES, PROVINCIAL_ROLES, ROLES
from ingest.db import aware, begin_write, utcnow
from ingest.errors import ALREADY_EXISTS, PASSWORD_TOO_SHORT, PASSWORD_TOO_WEAK, BadSubmission, Conflict
from ingest.generations import GenerationCache
from ingest.models import ApiToken, Device, Form, User, UserProvince, UserSession

#: Shortest password accepted for a web user.
MIN_PASSWORD_LENGTH = 12
#: Weakest zxcvbn score accepted (0-4): 3 is "safely unguessable" against an online attack and a slow hash.
MIN_PASSWORD_SCORE = 3
#: How often an API token's last use is written down (a read request then costs no write).
TOKEN_USE_PRECISION = timedelta(minutes=1)
_hasher = PasswordHasher()
# Verifying against this when the email is unknown keeps the timing the same as a wrong password. Made on
# first use: at import it cost every process (each CLI command, each gunicorn worker) a second of argon2id.
_DUMMY_HASH: str | None = None


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _hasher.hash("not a real password")
    return _DUMMY_HASH


def check_province(code: str | None) -> str | None:
    """Return a province code unchanged if it is one of the 18 provinces (or None).

    :raise BadSubmission: any other value, named in the message.
    """
    if code is not None and code not in province_names():
        raise BadSubmission(f"There is no province with the code {code!r}; use a two-digit code from 01 to 18.")
    return code


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_role(role: str, provinces: list[str] | tuple[str, ...] = ()) -> list[str]:
    """Check a role and its provinces; return the provinces sorted, without repeats.

    :raise BadSubmission: an unknown role or province (named), a provincial role without a province, or
        provinces given to a national role.
    """
    if role not in ROLES:
        raise BadSubmission(f"There is no role {role!r}; use one of {', '.join(ROLES)}.")
    for code in provinces:
        check_province(code)
    if role in PROVINCIAL_ROLES and not provinces:
        raise BadSubmission(f"A {role} needs at least one province.")
    if provinces and role not in MAY_HAVE_PROVINCES:
        raise BadSubmission(f"A {role} works nationally and takes no province.")
    return sorted(set(provinces))


def create_user(
    session: Session,
    email: str,
    password: str,
    role: str = "analyst",
    *,
    provinces: list[str] | tuple[str, ...] = (),
    display_name: str = "",
) -> User:
    """Create a web user with an argon2id password hash.

    :raise BadSubmission: bad role, province, email or short password.  :raise Conflict: email taken.
    """
    begin_write(session)
    email = email.strip().lower()
    provinces = check_role(role, provinces)
    if "@" not in email or len(email) > 320:
        raise BadSubmission("That is not an email address.")
    check_password(password, email)
    if session.scalar(select(User).where(User.email == email)):
        raise Conflict(f"A user with the email {email} already exists.", ALREADY_EXISTS)
    user = User(email=email, password_hash=_hasher.hash(password), role=role, display_name=display_name or email)
    user.province_rows = [UserProvince(province_code=code) for code in provinces]
    session.add(user)
    session.flush()
    return user


def check_password(password: str, email: str = "") -> None:
    """Refuse a password that is short, common or easily guessed, as NIST SP 800-63B asks.

    Common and breached passwords come from the lists zxcvbn bundles (30,000 of the most common passwords,
    with English words and names); its score also catches sequences, repeats, keyboard walks, dates and
    the email itself. Nothing is fetched at run time.

    :raise BadSubmission: the reason, without repeating the password.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise BadSubmission(f"The password must be at least {MIN_PASSWORD_LENGTH} characters long.", PASSWORD_TOO_SHORT)
    if password.strip().lower() in _common_passwords():
        raise BadSubmission("This password is on a list of common passwords: choose another.", PASSWORD_TOO_WEAK)
    hints = [part for part in (email, email.partition("@")[0]) if part]
    if zxcvbn(password[:100], user_inputs=hints)["score"] < MIN_PASSWORD_SCORE:
        raise BadSubmission(
            "This password is too easy to guess (a common word, name, sequence, date or the "
            "email): use a few unrelated words, or a longer phrase.",
            PASSWORD_TOO_WEAK,
        )


@functools.cache
def _common_passwords() -> frozenset[str]:
    return frozenset(FREQUENCY_LISTS["passwords"])


def set_role(session: Session, user: User, role: str, provinces: list[str] | tuple[str, ...] = ()) -> None:
    """Give a user a role and provinces (replacing the old ones).

    :raise BadSubmission: as check_role.
    """
    begin_write(session)
    provinces = check_role(role, provinces)
    user.role = role
    user.province_rows = [UserProvince(province_code=code) for code in provinces]
    session.flush()


def authenticate(session: Session, email: str, password: str) -> User | None:
    """Return the active user with this email and password, or None."""
    user = session.scalar(select(User).where(User.email == (email or "").strip().lower()))
    try:
        _hasher.verify(user.password_hash if user else _dummy_hash(), password or "")
    except (VerificationError, InvalidHashError):
        return None
    if user is None or user.disabled_at is not None:
        return None
    return user


def open_session(
    session: Session, user: User, lifetime: timedelta = timedelta(hours=24), kind: str = "api"
) -> tuple[str, UserSession]:
    """Issue a bearer token ("api") or a console session id ("console") for `user`; only its hash is stored."""
    begin_write(session)
    token = secrets.token_urlsafe(48)
    row = UserSession(token_hash=_token_hash(token), user_id=user.id, expires_at=utcnow() + lifetime, kind=kind)
    session.add(row)
    session.flush()
    return token, row


def user_for_bearer(session: Session, token: str) -> User | None:
    """Return the active user of a live session token or API token, or None.

    An API token's `last_used_at` is updated at most once a minute; the caller commits it.
    """
    digest = _token_hash(token)
    row = session.scalar(select(UserSession).where(UserSession.token_hash == digest))
    if row is not None:
        # A console session id (from a cookie) is no bearer token: a stolen cookie must not open the API.
        return _session_user(row) if row.kind == "api" else None
    api = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    if api is None or not token_live(api) or api.user.disabled_at is not None:
        return None
    if api.last_used_at is None or utcnow() - aware(api.last_used_at) >= TOKEN_USE_PRECISION:
        begin_write(session)
        api.last_used_at = utcnow()
    return api.user


def user_for_console(session: Session, session_id: str) -> User | None:
    """Return the active user of a live console session id, or None (bearer tokens are not accepted)."""
    row = session.scalar(
        select(UserSession).where(UserSession.token_hash == _token_hash(session_id), UserSession.kind == "console")
    )
    return _session_user(row) if row is not None else None


def _session_user(row: UserSession) -> User | None:
    user = row.user if aware(row.expires_at) > utcnow() else None
    return user if user is not None and user.disabled_at is None else None


def close_session(session: Session, token: str) -> bool:
    """Revoke a bearer token; say whether it existed."""
    begin_write(session)
    row = session.scalar(select(UserSession).where(UserSession.token_hash == _token_hash(token)))
    if row is not None:
        session.delete(row)
    return row is not None


def set_disabled(session: Session, user: User, disabled: bool) -> None:
    """Disable a user (their sessions end at once, their API tokens are refused) or enable them again."""
    begin_write(session)
    if disabled and user.disabled_at is None:
        user.disabled_at = utcnow()
        session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    elif not disabled:
        user.disabled_at = None
    session.flush()


def set_password(session: Session, user: User, password: str) -> None:
    """Give a user a new password (checked as `check_password`) and end their sessions, which the old one opened.

    :raise BadSubmission: the password is refused, with the reason.
    """
    check_password(password, user.email)
    begin_write(session)
    user.password_hash = _hasher.hash(password)
    end_sessions(session, user)


def end_sessions(session: Session, user: User) -> int:
    """End every API session and console session of a user at once; return how many there were."""
    begin_write(session)
    ended = session.scalar(select(func.count()).select_from(UserSession).where(UserSession.user_id == user.id)) or 0
    session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    session.flush()
    return ended


def live_api_tokens(session: Session, user: User) -> list[ApiToken]:
    """Return a user's API tokens that are neither revoked nor expired."""
    rows = session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id))
    return [row for row in rows if token_live(row)]


def create_api_token(session: Session, user: User, name: str, expires_days: int | None = None) -> tuple[str, ApiToken]:
    """Make a named API token acting as `user`; return the token (shown once) and its row (which keeps its hash).

    :raise BadSubmission: no name, or a lifetime that is not a whole number of days from 1 to 3650.
    """
    begin_write(session)
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise BadSubmission("An API token needs a name of 1 to 200 characters (say which tool uses it).")
    if expires_days is not None and not (isinstance(expires_days, int) and 1 <= expires_days <= 3650):
        raise BadSubmission("An API token expires after 1 to 3650 days; leave the lifetime out for no expiry.")
    token = secrets.token_urlsafe(48)
    row = ApiToken(
        name=name,
        token_hash=_token_hash(token),
        user_id=user.id,
        expires_at=utcnow() + timedelta(days=expires_days) if expires_days else None,
    )
    session.add(row)
    session.flush()
    return token, row


def token_live(row: ApiToken) -> bool:
    """Say whether an API token is neither revoked nor expired (its user may still be disabled)."""
    return row.revoked_at is None and (row.expires_at is None or aware(row.expires_at) > utcnow())


def revoke_api_token(session: Session, row: ApiToken) -> None:
    """Revoke an API token; its next request is refused (401)."""
    begin_write(session)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    session.flush()


def create_device(
    session: Session,
    project_id: int,
    display_name: str,
    province_code: str | None = None,
    form_ids: list[str] | None = None,
) -> Device:
    """Create an app user with a fresh unguessable token, assigned to `form_ids` (None: every form).

    :raise BadSubmission: no name, or an unknown form ID.
    """
    begin_write(session)
    display_name = display_name.strip()
    if not display_name:
        raise BadSubmission("A device needs a display name.")
    check_province(province_code)
    device = Device(
        project_id=project_id,
        display_name=display_name[:200],
        province_code=province_code,
        token=secrets.token_urlsafe(48),
    )
    device.forms = project_forms(session, project_id, form_ids)
    session.add(device)
    session.flush()
    return device


def project_forms(session: Session, project_id: int, form_ids: list[str] | None) -> list[Form]:
    """Return the named forms of a project, or all of them when `form_ids` is None.

    :raise BadSubmission: a form ID the project does not have.
    """
    query = select(Form).where(Form.project_id == project_id).order_by(Form.xml_form_id)
    if form_ids is None:
        return list(session.scalars(query))
    found = list(session.scalars(query.where(Form.xml_form_id.in_(form_ids))))
    unknown = sorted(set(form_ids) - {f.xml_form_id for f in found})
    if unknown:
        raise BadSubmission(f"No such form in project {project_id}: {', '.join(unknown)}.")
    return found


def assign_forms(session: Session, device: Device, form_ids: list[str] | None) -> None:
    """Replace the forms a device may fill (None: every form of its project)."""
    begin_write(session)
    device.forms = project_forms(session, device.project_id, form_ids)
    session.flush()


#: Devices' columns by token, at the generation they were read (ingest.generations): a revocation anywhere
#: bumps it, so every worker refuses the token from the moment it commits. Unknown tokens are never cached.
_DEVICES: GenerationCache[str, dict] = GenerationCache()


class _Unknown(Exception):
    """No device has this token (not cached: a flood of made-up tokens must not fill the cache)."""


def device_for_token(session: Session, token: str) -> Device | None:
    """Return the live device with this token, or None (unknown or revoked).

    The row comes from the per-process cache when nothing watched changed since it was read, and joins this
    session as if just loaded (no query); its forms load on first use, as before.
    """

    def load() -> dict:
        row = session.execute(select(Device.__table__).where(Device.token == token)).mappings().first()
        if row is None:
            raise _Unknown
        return dict(row)

    try:
        columns = _DEVICES.get(session, token, load)
    except _Unknown:
        return None
    if columns["revoked_at"] is not None:
        return None
    existing = session.identity_map.get(identity_key(Device, columns["id"]))
    if existing is not None:
        return existing if isinstance(existing, Device) and existing.revoked_at is None else None
    device = Device(**columns)
    make_transient_to_detached(device)
    session.add(device)
    return device


def revoke_device(session: Session, device: Device) -> None:
    """Revoke a device's token; its next request is refused."""
    begin_write(session)
    device.revoked_at = utcnow()
