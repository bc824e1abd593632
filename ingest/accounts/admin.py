"""Administrative changes to accounts, each audited here once, so that the API and the CLI write the same event.

Who acted and from where are the session's (ingest.audit.record); `details` add what only one door knows
(`via="cli"`, the forms of an assignment). The caller commits.
"""

from __future__ import annotations

from datetime import UTC

from sqlalchemy.orm import Session

from ingest import audit
from ingest.access import MAY_HAVE_PROVINCES
from ingest.accounts.users import (
    assign_forms,
    create_api_token,
    create_device,
    create_user,
    end_sessions,
    live_api_tokens,
    revoke_api_token,
    revoke_device,
    set_disabled,
    set_password,
    set_role,
)
from ingest.db import begin_write
from ingest.errors import BadSubmission, Forbidden
from ingest.models import ApiToken, Device, User


def add_user(
    session: Session,
    email: str,
    password: str,
    role: str = "analyst",
    *,
    provinces: list[str] | tuple[str, ...] = (),
    display_name: str = "",
) -> User:
    """Create a web user (see `create_user`); audited (`user.create`) with the role and provinces."""
    user = create_user(session, email, password, role, provinces=provinces, display_name=display_name)
    audit.record(session, "user.create", f"user:{user.id}", role=user.role, provinces=user.provinces)
    return user


def user_updated(session: Session, user: User, **changes) -> None:
    """Audit (`user.update`) the changes made to a user: the role, provinces, access, that the name changed."""
    audit.record(session, "user.update", f"user:{user.id}", **changes)


def reset_password(session: Session, user: User, password: str) -> None:
    """Set a user's password for them (see `set_password`: their sessions end); audited (`user.update`), never
    the password."""
    set_password(session, user, password)
    audit.record(session, "user.update", f"user:{user.id}", password=True)


def end_user_access(session: Session, user: User) -> tuple[int, int]:
    """End every session of a user and revoke each of their live API tokens (each audited `token.revoke`);
    audited (`user.update`) with how many sessions ended. Return (sessions ended, tokens revoked)."""
    tokens = live_api_tokens(session, user)
    for row in tokens:
        end_api_token(session, row)
    ended = end_sessions(session, user)
    audit.record(session, "user.update", f"user:{user.id}", sessionsEnded=ended, tokensRevoked=len(tokens))
    return ended, len(tokens)


def change_user(
    session: Session,
    by: User,
    user: User,
    *,
    role: str | None = None,
    provinces: list[str] | None = None,
    disabled: bool | None = None,
    display_name: str | None = None,
) -> dict:
    """Change a user's role, provinces, display name or access (None: unchanged); audited (`user.update`) with
    what changed. Return the changes (empty: nothing changed).

    Provinces left out are kept when the new role may have provinces, and dropped when it may not.

    :raise BadSubmission: unknown role or province (named), or provinces that do not fit the role.
    :raise Forbidden: `by` changing their own role, provinces or access (another administrator must).
    """
    begin_write(session)
    role = role if role is not None else user.role
    if provinces is None:
        provinces = user.provinces if role in MAY_HAVE_PROVINCES else []
    changes: dict = {}
    if role != user.role:
        changes["role"] = role
    if sorted(set(provinces)) != user.provinces:
        changes["provinces"] = sorted(set(provinces))
    if disabled is not None and disabled != (user.disabled_at is not None):
        changes["disabled"] = disabled
    if changes and user.id == by.id:
        # An administrator cannot widen, narrow or lock their own access: another administrator must.
        raise Forbidden("You cannot change your own role, provinces or access; ask another administrator.")
    if "role" in changes or "provinces" in changes:
        set_role(session, user, role, provinces)
    if "disabled" in changes:
        set_disabled(session, user, changes["disabled"])
    if display_name is not None and display_name != user.display_name:
        user.display_name = display_name or user.email
        changes["displayName"] = True  # that it changed, not the name
    if changes:
        user_updated(session, user, **changes)
    return changes


def signed_in(session: Session, user: User, **details) -> None:
    """Audit (`session.create`) that `user` signed in: before a caller exists, so the user is named here;
    the address is the session's."""
    audit.record(session, "session.create", f"user:{user.id}", user_id=user.id, **details)


def signed_out(session: Session, user: User, **details) -> None:
    """Audit (`session.delete`) that `user` signed out."""
    audit.record(session, "session.delete", f"user:{user.id}", **details)


def add_api_token(
    session: Session, user: User, name: str, expires_days: int | None = None, **details
) -> tuple[str, ApiToken]:
    """Make an API token for `user` (see `create_api_token`); audited (`token.create`), never the token."""
    token, row = create_api_token(session, user, name, expires_days)
    expires = row.expires_at
    if expires is not None and expires.tzinfo is None:  # SQLite gives moments back naive; they are UTC
        expires = expires.replace(tzinfo=UTC)
    audit.record(
        session,
        "token.create",
        f"token:{row.id}",
        forUser=user.id,
        expiresAt=expires.isoformat().replace("+00:00", "Z") if expires else None,
        **details,
    )
    return token, row


def end_api_token(session: Session, row: ApiToken) -> None:
    """Revoke an API token; audited (`token.revoke`)."""
    revoke_api_token(session, row)
    audit.record(session, "token.revoke", f"token:{row.id}", forUser=row.user_id)


def add_device(
    session: Session,
    project_id: int,
    display_name: str,
    province_code: str | None = None,
    form_ids: list[str] | None = None,
    **details,
) -> Device:
    """Create a device (see `create_device`); audited (`device.create`)."""
    device = create_device(session, project_id, display_name, province_code, form_ids)
    audit.record(session, "device.create", f"device:{device.id}", **details)
    return device


def set_device_forms(session: Session, device: Device, form_ids: list[str] | None, **details) -> None:
    """Replace the forms a device may fill (see `assign_forms`); audited (`device.assign`)."""
    assign_forms(session, device, form_ids)
    audit.record(session, "device.assign", f"device:{device.id}", **details)


def end_device(session: Session, device: Device, **details) -> None:
    """Revoke a device's token; audited (`device.revoke`)."""
    revoke_device(session, device)
    audit.record(session, "device.revoke", f"device:{device.id}", **details)


#: The kind of a device row that is a desk link (ingest.models.Device.kind).
DESK = "desk"


def add_desk(session: Session, project_id: int, display_name: str, province_code: str, **details) -> Device:
    """Create a desk link: a device of kind "desk" for one province and every form of the project, whose
    token a shelter's or office's browser uses to fill forms with ODK Web Forms; audited (`desk.create`).

    :raise BadSubmission: no name, or no province or an unknown one (a desk always works for one province).
    """
    if not province_code:
        raise BadSubmission("A desk link needs a province.")
    device = create_device(session, project_id, display_name, province_code, None)
    device.kind = DESK
    session.flush()
    audit.record(session, "desk.create", f"device:{device.id}", **details)
    return device


def end_desk(session: Session, device: Device, **details) -> None:
    """Revoke a desk link; its next page or submission is refused; audited (`desk.revoke`)."""
    revoke_device(session, device)
    audit.record(session, "desk.revoke", f"device:{device.id}", **details)
