"""Record every read of identifiable data and every administrative change, and read the record back.

The audit is append-only. On PostgreSQL a trigger (see the protection migration) refuses UPDATE and DELETE
on `audit_events`; on every database the ORM refuses them too (`_refuse_*` below), so no code path of the
application, on SQLite included, can rewrite or erase what was recorded.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import Select, event, or_, select
from sqlalchemy.orm import ORMExecuteState, Session

from ingest.db import begin_write
from ingest.models import AuditEvent

#: Most events one read may return (`collector audit --limit`, `GET /v1/audits?limit=`).
MAX_LIMIT = 5000


class AppendOnly(RuntimeError):
    """Code tried to change or remove an audit event (a programming error, never a user's)."""


def record(session: Session, action: str, resource: str, *, user_id: int | None = None,
           device_id: int | None = None, address: str | None = None, **details) -> None:
    """Add an audit event to the session; it commits with the caller's transaction.

    `details` name what was touched (ids, counts, roles), never the data itself.
    """
    begin_write(session)
    session.add(AuditEvent(action=action, resource=resource[:500], user_id=user_id, device_id=device_id,
                           address=(address or None) and address[:64], details=details))


def parse_moment(text: str, *, end: bool = False) -> datetime:
    """Read an ISO 8601 date or moment as Central's `?start=`/`?end=` do (`2026-12-01`, `2026-12-01T08:00Z`).

    A moment without a zone is UTC. A bare date means its first instant, or with `end` the first instant
    of the next day, so that `end=2026-12-01` includes the whole of that day.

    :raise ValueError: the text is neither a date nor a moment.
    """
    text = text.strip()
    if text[-1:] in ("z", "Z"):
        text = text[:-1] + "+00:00"
    try:
        day = date.fromisoformat(text)
    except ValueError:
        moment = datetime.fromisoformat(text)
        return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    start = datetime.combine(day, time(0), tzinfo=timezone.utc)
    return start + timedelta(days=1) if end else start


def events_query(*, since: datetime | None = None, until: datetime | None = None, user_id: int | None = None,
                 action: str | None = None) -> Select:
    """Select audit events, newest first, filtered by time (`since` inclusive, `until` exclusive), user, action.

    An `action` without a dot names a category, as Central's `?action=user` does: every `user.*` event.
    """
    query = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    if until is not None:
        query = query.where(AuditEvent.at < until)
    if user_id is not None:
        query = query.where(AuditEvent.user_id == user_id)
    if action:
        query = query.where(AuditEvent.action == action if "." in action
                            else or_(AuditEvent.action == action, AuditEvent.action.startswith(f"{action}.")))
    return query


# --- append-only, enforced by the ORM on every database --------------------------------------------------

@event.listens_for(AuditEvent, "before_update")
def _refuse_update(_mapper, _connection, target: AuditEvent) -> None:
    raise AppendOnly(f"audit event {target.id} cannot be changed: the audit is append-only")


@event.listens_for(AuditEvent, "before_delete")
def _refuse_delete(_mapper, _connection, target: AuditEvent) -> None:
    raise AppendOnly(f"audit event {target.id} cannot be removed: the audit is append-only")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk(state: ORMExecuteState) -> None:
    if (state.is_update or state.is_delete) and state.bind_mapper is not None \
            and state.bind_mapper.class_ is AuditEvent:
        raise AppendOnly("audit events cannot be changed or removed: the audit is append-only")
