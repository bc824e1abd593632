"""Record every read of identifiable data and every administrative change, and read the record back.

The audit is append-only. On PostgreSQL a trigger (see the protection migration) refuses UPDATE and DELETE
on `audit_events`; on every database the ORM refuses them too (`_refuse_*` below), so no code path of the
application, on SQLite included, can rewrite or erase what was recorded.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select, event, or_, select
from sqlalchemy.orm import ORMExecuteState, Session

from ingest import scope
from ingest.db import begin_write
from ingest.models import AuditEvent

#: Most events one read may return (`collector audit --limit`, `GET /v1/audits?limit=`).
MAX_LIMIT = 5000
#: session.info key: where the session's requests come from (the peer's address, or "cli"), set once by
#: whoever opens the session (collector.db), so that no route or command passes it by hand.
ADDRESS = "audit.address"

#: Every action the audit records, with what it means: the one list, shared by the API, the CLI and the
#: console. `record` refuses any other name; docs/operators/audit.md lists the same
#: (tests/ingest/test_audit_actions.py).
ACTIONS: dict[str, str] = {
    # sign-in
    "session.create": "a user signed in (API session or console)",
    "session.delete": "a user signed out",
    "session.failed": "a sign-in failed (wrong email or password, disabled user)",
    "session.limited": "an account or address reached the sign-in limit",
    # records
    "submission.list": "records of a form listed (API, OData, CLI)",
    "submission.read": "one record (or one version of it) read",
    "submission.read_xml": "a record's instance XML read",
    "submission.read_versions": "every version of a record read",
    "submission.export": "a form's records exported (CSV zip, Excel, GeoJSON)",
    "submission.review": "a record's review state set",
    "submission.delete": "a record deleted",
    "submission.edit": "a new version of a record sent by a staff user over the API (Central's PUT)",
    "submission.province_claim": "a record named a province outside its sender's and was kept in the sender's own",
    "attachment.read": "a file of a record downloaded",
    "attachment.upload": "a file of a record uploaded",
    "comment.read": "a record's comments read",
    "comment.create": "a comment added to a record",
    # entities (issue 19)
    "entity.list": "entities of an entity list listed (API, CSV, OData)",
    "entity.read": "one entity read with its data",
    "entity.read_versions": "every version of an entity read",
    # cases, tasks, persons, statistics
    "case.list": "cases of the register listed",
    "task.list": "hand-off tasks listed",
    "task.media": "a device fetched its hand-off task list (Collect's entity list)",
    "person.candidates": "candidate pairs of cases listed",
    "person.list": "persons of more than one case listed",
    "person.export": "candidate and confirmed pairs written to a file",
    "backup.create": "the whole database and media store written to a backup archive (collector backup)",
    "backup.restore": "a backup archive restored into an empty database (collector restore)",
    "person.confirm": "two cases confirmed as one person",
    "person.reject": "two cases rejected as one person",
    "person.unsure": "an officer could not decide a candidate pair (it stays in the queue)",
    "stats.read": "suppressed counts read",
    "ctdc.export": "the CTDC data set exported",
    "audit.read": "the audit log read",
    # entities
    "dataset.create": "an entity list created (a form declaring it was uploaded or published, or the API)",
    "dataset.update": "properties added to an entity list, or published with their form",
    "entity.create": "an entity created (from a submission or the API)",
    "entity.update.version": "a new version of an entity (from a submission or the API)",
    "entity.update.resolve": "an entity's conflict marked as resolved",
    "entity.delete": "an entity deleted",
    "entity.error": "a submission's entity could not be created or updated (the submission is kept)",
    "entity.media": "a device or user downloaded an entity list as a form's media (counts only)",
    # administration
    "user.create": "a web user created",
    "user.update": "a web user's role, provinces, state or password changed, or their sessions ended",
    "token.create": "an API token created",
    "token.revoke": "an API token revoked",
    "device.create": "a device (app user) created",
    "device.assign": "the forms of a device replaced",
    "device.revoke": "a device's token revoked",
    "desk.create": "a desk link (forms filled in a browser for one province) created",
    "desk.revoke": "a desk link revoked",
    "form.draft": "a form draft uploaded",
    "form.draft_discard": "a form draft discarded",
    "form.media": "a media file of a form draft uploaded",
    "form.publish": "a form version published",
    "form.state": "a form opened, closed or closing",
    "key.create": "an encryption key made for a form",
    "key.unlock": "sealed records of a form decrypted (or a wrong passphrase refused)",
    "retention.set": "a form's retention period set",
    "retention.apply": "records past their retention period deleted",
    "media.purge": "the bytes of deleted records' files removed from the media store (`files`, a count); with "
    "`orphans`, files no row named (put in place for a record whose commit never happened)",
}


class AppendOnly(RuntimeError):
    """Code tried to change or remove an audit event (a programming error, never a user's)."""


def use_address(session: Session, address: str | None) -> None:
    """Say where the session's requests come from (the peer's address, or "cli"); every event records it."""
    session.info[ADDRESS] = address


def record(
    session: Session,
    action: str,
    resource: str,
    *,
    user_id: int | None = None,
    device_id: int | None = None,
    address: str | None = None,
    **details,
) -> None:
    """Add an audit event to the session; it commits with the caller's transaction.

    Who acted is the session's caller (ingest.scope) and where from its address (`use_address`), unless
    given (a sign-in is audited before a caller exists). `details` name what was touched (ids, counts,
    roles), never the data itself.

    :raise ValueError: `action` is not one of ACTIONS.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}: declare it in ingest.audit.ACTIONS")
    caller = scope.caller_of(session)
    if caller is not None and user_id is None and device_id is None:
        user_id, device_id = caller.user_id, caller.device_id
    address = address or session.info.get(ADDRESS)
    begin_write(session)
    session.add(
        AuditEvent(
            action=action,
            resource=resource[:500],
            user_id=user_id,
            device_id=device_id,
            address=(address or None) and address[:64],
            details=details,
        )
    )


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
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    start = datetime.combine(day, time(0), tzinfo=UTC)
    return start + timedelta(days=1) if end else start


def events_query(
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    user_id: int | None = None,
    action: str | None = None,
    resource: str | None = None,
    before: tuple[datetime, int] | None = None,
) -> Select:
    """Select audit events, newest first, filtered by time (`since` inclusive, `until` exclusive), user, action,
    resource, and for key paging `before`: the (at, id) of the last event of the previous page.

    An `action` without a dot names a category, as Central's `?action=user` does: every `user.*` event. A
    `resource` is the exact one an event names (`user:12`, `submission:uuid:...`), or every one below a kind
    when it ends with a colon (`device:`).
    """
    query = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if before is not None:
        at, event_id = before
        query = query.where(or_(AuditEvent.at < at, (AuditEvent.at == at) & (AuditEvent.id < event_id)))
    if resource:
        query = query.where(
            AuditEvent.resource.startswith(resource, autoescape=True)
            if resource.endswith(":")
            else AuditEvent.resource == resource
        )
    if since is not None:
        query = query.where(AuditEvent.at >= since)
    if until is not None:
        query = query.where(AuditEvent.at < until)
    if user_id is not None:
        query = query.where(AuditEvent.user_id == user_id)
    if action:
        query = query.where(
            AuditEvent.action == action
            if "." in action
            else or_(AuditEvent.action == action, AuditEvent.action.startswith(f"{action}."))
        )
    return query


def read_events(
    session: Session,
    asked: dict,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    user_id: int | None = None,
    action: str | None = None,
    resource: str | None = None,
    before: tuple[datetime, int] | None = None,
    limit: int = MAX_LIMIT,
    offset: int = 0,
) -> list[AuditEvent]:
    """Return audit events, newest first (see `events_query`), for the session's caller; the read is itself
    audited (`audit.read`) with what was asked for (`asked`: the filters as the caller named them, never
    the events) and how many events were returned.

    :raise ScopeMissing: no caller.
    """
    scope.require_caller(session)
    events = list(
        session.scalars(
            events_query(since=since, until=until, user_id=user_id, action=action, resource=resource, before=before)
            .limit(limit)
            .offset(offset)
        )
    )
    record(session, "audit.read", "audit", **asked, count=len(events))
    return events


# --- append-only, enforced by the ORM on every database --------------------------------------------------


@event.listens_for(AuditEvent, "before_update")
def _refuse_update(_mapper, _connection, target: AuditEvent) -> None:
    raise AppendOnly(f"audit event {target.id} cannot be changed: the audit is append-only")


@event.listens_for(AuditEvent, "before_delete")
def _refuse_delete(_mapper, _connection, target: AuditEvent) -> None:
    raise AppendOnly(f"audit event {target.id} cannot be removed: the audit is append-only")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk(state: ORMExecuteState) -> None:
    if (
        (state.is_update or state.is_delete)
        and state.bind_mapper is not None
        and state.bind_mapper.class_ is AuditEvent
    ):
        raise AppendOnly("audit events cannot be changed or removed: the audit is append-only")
