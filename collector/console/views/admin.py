"""Users and the audit log, for administrators.

Users: create one with a role and provinces (the password rules of ingest.accounts apply, their refusal shown
in the page language), disable or enable, reset a password, end every session and API token. Every change
goes through ingest.accounts.admin, which audits it, exactly as the API's /v1/users does.

Audit: the log with filters (who, action, date range, record touched), key paging (newest first, each page
continuing before the last event shown), and the filtered log as CSV (spreadsheet-safe: ingest.csv_safe).
It reads through ingest.audit.read_events, as GET /v1/audits does, so each read is itself audited.
"""

from __future__ import annotations

import io
import json
from datetime import datetime

from flask import Response, flash, g, get_flashed_messages, redirect, render_template, request, url_for
from sqlalchemy import select

from collector.console.frame import bp, needs, refuse
from collector.console.views.moments import when
from collector.console.web import _
from collector.db import get_session
from forms import province_names
from ingest.access import ROLES
from ingest.accounts.admin import add_user, change_user, end_user_access, reset_password
from ingest.accounts.users import MIN_PASSWORD_LENGTH
from ingest.audit import ACTIONS, parse_moment, read_events
from ingest.csv_safe import Writer, neutralise
from ingest.errors import ALREADY_EXISTS, PASSWORD_TOO_SHORT, PASSWORD_TOO_WEAK, UNEXPECTED_VALUE, IngestError
from ingest.models import AuditEvent, User

#: Events one page of the audit log shows.
PAGE_SIZE = 100
#: Most events one CSV download holds (one audited read).
CSV_LIMIT = 50_000
#: Longest text a filter or a form field is read to (the columns' sizes).
MAX_RESOURCE, MAX_EMAIL, MAX_NAME, MAX_PASSWORD = 500, 320, 200, 1024


# --- users ------------------------------------------------------------------------------------------------


def _user(user_id: int) -> User:
    """:raise 404: no such user."""
    user = get_session().get(User, user_id)
    if user is None:
        refuse(404, _("error_404"))
    return user


def _refusal(exc: IngestError) -> str:
    """Return, in the page language, why the account service refused a user's details or password."""
    if exc.code == PASSWORD_TOO_SHORT:
        return _("user_password_short", min=MIN_PASSWORD_LENGTH)
    if exc.code == PASSWORD_TOO_WEAK:
        return _("user_password_weak")
    if exc.code == ALREADY_EXISTS:
        return _("user_email_taken")
    return _("user_refused")


def _users_page(status: int = 200, error: str = "", detail: str = "", form: dict | None = None):
    users = list(get_session().scalars(select(User).order_by(User.email)))
    page = render_template(
        "console/admin/users.html",
        users=users,
        roles=ROLES,
        error=error,
        detail=detail,
        form=form or {},
        notices=get_flashed_messages(),
        when=when,
        min_password=MIN_PASSWORD_LENGTH,
    )
    return page, status


@bp.get("/users")
@needs("admin")
def users():
    """List every web user, disabled ones included, with a form to create one."""
    return _users_page()


def _provinces_asked(text: str) -> list[str] | str:
    """Return the province codes of the form's field, or the first one that is not one of the 18."""
    codes = [c.strip() for c in text.replace(";", ",").split(",") if c.strip()]
    known = province_names()
    for code in codes:
        if code not in known:
            return code[:10]
    return codes


@bp.post("/users")
@needs("admin")
def users_create():
    """Create a web user; a refused field shows the form again with why, in the page language (400, 409)."""
    form = {k: request.form.get(k, "").strip() for k in ("email", "name", "role", "provinces")}
    password = request.form.get("password", "")
    if form["role"] not in ROLES:
        return _users_page(400, _("user_bad_role"), form=form)
    provinces = _provinces_asked(form["provinces"])
    if isinstance(provinces, str):
        return _users_page(400, _("user_bad_province", code=provinces), form=form)
    if "@" not in form["email"] or len(form["email"]) > MAX_EMAIL:
        return _users_page(400, _("user_not_email"), form=form)
    session = get_session()
    try:
        user = add_user(
            session,
            form["email"],
            password[:MAX_PASSWORD],
            form["role"],
            provinces=provinces,
            display_name=form["name"][:MAX_NAME],
        )
    except IngestError as exc:
        session.rollback()
        if exc.code == UNEXPECTED_VALUE:  # role and provinces are known, the email looks like one: they clash
            return _users_page(400, _("user_role_provinces"), detail=exc.message, form=form)
        return _users_page(exc.status, _refusal(exc), form=form)
    session.commit()
    flash(_("user_created_flash", email=user.email))
    return redirect(url_for("console.users_detail", user_id=user.id), 303)


@bp.get("/users/<int:user_id>")
@needs("admin")
def users_detail(user_id: int):
    """Show one user with what an administrator may do to their account.

    :raise 404: no such user.
    """
    return _user_page(_user(user_id))


def _user_page(user: User, status: int = 200, error: str = ""):
    page = render_template(
        "console/admin/user.html",
        account=user,
        is_me=user.id == g.actor.user.id,
        error=error,
        notices=get_flashed_messages(),
        when=when,
        min_password=MIN_PASSWORD_LENGTH,
    )
    return page, status


@bp.post("/users/<int:user_id>/access")
@needs("admin")
def users_access(user_id: int):
    """Disable (sessions end, tokens refused) or enable a user: never oneself.

    :raise 400: neither disable nor enable asked.  :raise 403: oneself.  :raise 404: no such user.
    """
    user = _user(user_id)
    asked = request.form.get("disabled")
    if asked not in ("yes", "no"):
        refuse(400, _("error_400"))
    if user.id == g.actor.user.id:
        refuse(403, _("user_not_yourself"))
    change_user(get_session(), g.actor.user, user, disabled=asked == "yes")
    get_session().commit()
    flash(_("user_disabled_flash" if asked == "yes" else "user_enabled_flash", email=user.email))
    return redirect(url_for("console.users_detail", user_id=user.id), 303)


@bp.post("/users/<int:user_id>/password")
@needs("admin")
def users_password(user_id: int):
    """Set a user's password for them (their sessions end); a refused password shows why (400).

    :raise 404: no such user.
    """
    user = _user(user_id)
    session = get_session()
    try:
        reset_password(session, user, request.form.get("password", "")[:MAX_PASSWORD])
    except IngestError as exc:
        session.rollback()
        return _user_page(user, exc.status, _refusal(exc))
    session.commit()
    flash(_("user_password_flash", email=user.email))
    if user.id == g.actor.user.id:
        return redirect(url_for("console.login"), 303)  # their own session ended with the others
    return redirect(url_for("console.users_detail", user_id=user.id), 303)


@bp.post("/users/<int:user_id>/sign-out")
@needs("admin")
def users_sign_out(user_id: int):
    """End every session and revoke every live API token of a user (not one's own: use Sign out).

    :raise 403: oneself.  :raise 404: no such user.
    """
    user = _user(user_id)
    if user.id == g.actor.user.id:
        refuse(403, _("user_not_yourself"))
    sessions, tokens = end_user_access(get_session(), user)
    get_session().commit()
    flash(_("user_access_ended_flash", sessions=sessions, tokens=tokens, email=user.email))
    return redirect(url_for("console.users_detail", user_id=user.id), 303)


# --- audit ------------------------------------------------------------------------------------------------


def _categories() -> list[str]:
    return sorted({action.partition(".")[0] for action in ACTIONS})


def _filters() -> dict:
    """Read the audit filters from the query string.

    :raise 400: a date that is not one, an unknown user id or action, a page key that is not one.
    """
    args = request.args
    filters: dict = {"asked": {}}
    user_text = args.get("user", "").strip()
    if user_text and not user_text.isdigit():
        refuse(400, _("audit_bad_filter"))
    filters["user_id"] = int(user_text) if user_text else None
    action = args.get("action", "").strip()
    if action and action not in ACTIONS and action not in _categories():
        refuse(400, _("audit_bad_filter"))
    filters["action"] = action or None
    filters["resource"] = args.get("resource", "").strip()[:MAX_RESOURCE] or None
    for name, end in (("start", False), ("end", True)):
        text = args.get(name, "").strip()
        try:
            filters[name] = parse_moment(text, end=end) if text else None
        except ValueError:
            refuse(400, _("audit_bad_date"))
    filters["before"] = _page_key(args.get("before", ""))
    filters["asked"] = {
        "userFilter": filters["user_id"],
        "actionFilter": filters["action"],
        "resourceFilter": filters["resource"],
        "start": args.get("start") or None,
        "end": args.get("end") or None,
        "via": "console",
    }
    return filters


def _page_key(text: str) -> tuple[datetime, int] | None:
    """Read a page key, "<moment>~<id>" of the last event of the previous page.  :raise 400: not one."""
    if not text:
        return None
    moment, sep, event_id = text.rpartition("~")
    try:
        if not sep or not event_id.isdigit():
            raise ValueError(text)
        return parse_moment(moment), int(event_id)
    except ValueError:
        refuse(400, _("audit_bad_page"))
    raise AssertionError("unreachable")  # refuse() always raises


def _key_of(event: AuditEvent) -> str:
    """Return the page key of an event (SQLite's moments come back without their zone: UTC, as parse_moment reads)."""
    return f"{event.at.isoformat()}~{event.id}"


def _read(filters: dict, limit: int) -> list[AuditEvent]:
    """Read the filtered events (audited `audit.read`), as GET /v1/audits does."""
    return read_events(
        get_session(),
        filters["asked"],
        since=filters["start"],
        until=filters["end"],
        user_id=filters["user_id"],
        action=filters["action"],
        resource=filters["resource"],
        before=filters["before"],
        limit=limit,
    )


def _who(events: list[AuditEvent]) -> dict[int, str]:
    ids = {e.user_id for e in events if e.user_id is not None}
    if not ids:
        return {}
    return dict(get_session().execute(select(User.id, User.email).where(User.id.in_(ids))).all())


@bp.get("/audit")
@needs("admin")
def audit():
    """Show the audit log, newest first, one page at a time, with its filters and CSV download."""
    filters = _filters()
    events = _read(filters, PAGE_SIZE + 1)
    get_session().commit()  # the read is audited
    more = len(events) > PAGE_SIZE
    events = events[:PAGE_SIZE]
    keep = {k: v for k, v in request.args.items() if k not in ("before", "lang") and v}
    older = url_for("console.audit", **keep, before=_key_of(events[-1])) if more else None
    first = url_for("console.audit", **keep) if filters["before"] else None
    return render_template(
        "console/admin/audit.html",
        events=events,
        who=_who(events),
        users=list(get_session().execute(select(User.id, User.email).order_by(User.email)).all()),
        actions=sorted(ACTIONS),
        categories=_categories(),
        args=request.args,
        older=older,
        first=first,
        csv_url=url_for("console.audit_csv", **keep),
        csv_limit=CSV_LIMIT,
        when=when,
        details=lambda e: json.dumps(e.details or {}, ensure_ascii=False, sort_keys=True),
    )


@bp.get("/audit.csv")
@needs("admin")
def audit_csv():
    """Download the filtered audit log as CSV, newest first (at most CSV_LIMIT events), spreadsheet-safe."""
    filters = _filters()
    events = _read(filters, CSV_LIMIT)
    get_session().commit()
    who = _who(events)
    out = io.StringIO()
    writer = Writer(out)
    writer.writerow(["loggedAt", "userEmail", "userId", "deviceId", "action", "resource", "address", "details"])
    for event in events:
        writer.writerow(
            [
                when(event.at, seconds=True),
                neutralise(who.get(event.user_id, "")) if event.user_id is not None else "",
                str(event.user_id or ""),
                str(event.device_id or ""),
                event.action,
                neutralise(event.resource),
                neutralise(event.address or ""),
                neutralise(json.dumps(event.details or {}, ensure_ascii=False, sort_keys=True)),
            ]
        )
    return Response(
        out.getvalue().encode("utf-8-sig"),  # the BOM makes Excel read the Lao as UTF-8
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit.csv"', "Cache-Control": "no-store"},
    )
