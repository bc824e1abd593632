"""Replay stored submissions from their raw XML: rebuild their normalised rows, the province, consent and case
code of each record, and the case register (`collector ingest replay`, and ingest.encryption.keys once a
record is opened).

Replaying changes nothing that is already right, so running it again gives the same rows and register.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from ingest import scope
from ingest.access import SYSTEM
from ingest.cases.register import case_code_of, rebuild_cases
from ingest.db import begin_write
from ingest.models import Device, Form, Submission, SubmissionRow, SubmissionVersion
from ingest.normalise import Row, normalise
from ingest.queries import fields_for
from ingest.tags import consent_withheld, place_record, scope_of
from ingest.xmlsafe import parse

#: Versions replayed per transaction by replay_all(): a page's rows, XML and register updates stay small.
REPLAY_BATCH = 500


def _replay_query():
    """Select what replaying a version needs, as plain columns (no ORM objects, so no identity map grows).

    Locks the records (PostgreSQL) so an edit arriving meanwhile waits for the page instead of being undone.
    """
    return (
        select(
            SubmissionVersion.id,
            SubmissionVersion.form_version_id,
            SubmissionVersion.current,
            SubmissionVersion.xml,
            SubmissionVersion.plain_xml,
            Submission.id,
            Submission.draft,
            Submission.case_code,
            Submission.device_id,
            Form.project_id,
            SubmissionVersion.sender_provinces,
            SubmissionVersion.encrypted,
        )
        .join(Submission, Submission.id == SubmissionVersion.submission_id)
        .join(Form, Form.id == Submission.form_id)
        .order_by(SubmissionVersion.id)
        .with_for_update(of=[SubmissionVersion.__table__, Submission.__table__])
    )


def _replay_page(session: Session, page, fields_of: dict[int | None, list]) -> int:
    """Rebuild the rows of a page of versions, the province, consent and case code of the current ones, and
    each case they left or joined, in the session's write transaction; return how many rows the page holds.

    Each case is rebuilt once per page, after all the page's rows are in, from whatever its records hold.
    """
    devices = {r[8] for r in page if r[2] and r[8] is not None}
    province_of = (
        dict(session.execute(select(Device.id, Device.province_code).where(Device.id.in_(devices))).all())
        if devices
        else {}
    )
    rebuilt: dict[int, list] = {}
    records: list[dict] = []
    cases: set[tuple[int, str]] = set()
    for (
        version_id,
        form_version_id,
        current,
        xml,
        plain_xml,
        submission_id,
        draft,
        old_code,
        device_id,
        project_id,
        sender_provinces,
        encrypted,
    ) in page:
        fields = fields_for(session, fields_of, form_version_id)
        sealed = encrypted and plain_xml is None
        rows = normalise(parse(plain_xml if plain_xml is not None else xml), fields)
        rebuilt[version_id] = rows
        if current:
            code = case_code_of(rows, fields)
            # Placed as the write path placed it: from the sender's provinces stored with the version.
            senders = scope_of(sender_provinces, province_of.get(device_id), device_id is not None)
            province, claimed = place_record(rows, fields, senders, sealed=sealed)
            records.append(
                {
                    "id": submission_id,
                    "case_code": code,
                    "consent_withheld": consent_withheld(rows, fields),
                    "province_code": province,
                    "claimed_province": claimed,
                }
            )
            if not draft:
                cases.update((project_id, c) for c in (old_code, code) if c)
    _sync_rows(session, rebuilt)
    if records:
        session.execute(update(Submission), records)  # by primary key, one executemany
    for project_id in sorted({p for p, _code in cases}):
        rebuild_cases(session, project_id, [c for p, c in cases if p == project_id], fields_of)
    return sum(len(rows) for rows in rebuilt.values())


def _sync_rows(session: Session, rebuilt: dict[int, list[Row]]) -> None:
    """Make the stored rows of some versions those given: a row found at the same place (path and position
    under the same parent) keeps its id and gets the new values if they differ; others are added or removed.

    Rows are updated in place rather than deleted and inserted again: a replay that changes nothing writes
    nothing, and no row's removal has to look for its children (parent_id has no index).
    """
    table = SubmissionRow.__table__
    stored = session.execute(
        select(
            table.c.id, table.c.submission_version_id, table.c.parent_id, table.c.path, table.c.position, table.c.data
        )
        .where(table.c.submission_version_id.in_(list(rebuilt)))
        .order_by(table.c.id)
    ).all()
    # A row's place: its version, then (path, position) of each row from the root down to it.
    place_of_id: dict[int, tuple] = {}
    existing: dict[tuple, tuple[int, dict]] = {}
    for row_id, version_id, parent_id, path, position, data in stored:
        parent = place_of_id.get(parent_id, (version_id,)) if parent_id is not None else (version_id,)
        place_of_id[row_id] = parent + ((path, position),)
        existing[place_of_id[row_id]] = (row_id, data)
    ids: dict[int, int] = {}  # id() of a new Row -> its stored id
    places: dict[int, tuple] = {}
    changed, level, kept = [], [], set()
    for version_id, rows in rebuilt.items():
        for row in rows:  # parents come before their children
            parent = places[id(row.parent)] if row.parent is not None else (version_id,)
            places[id(row)] = place = parent + ((row.path, row.position),)
            found = existing.get(place)
            if found is None:
                level.append((version_id, row))
                continue
            ids[id(row)] = found[0]
            kept.add(found[0])
            if found[1] != row.data:
                changed.append({"row_id": found[0], "data": row.data})
    gone = [row_id for row_id, *_ in stored if row_id not in kept]
    if gone:
        session.execute(delete(table).where(table.c.id.in_(gone)))
    if changed:
        session.execute(update(table).where(table.c.id == bindparam("row_id")).values(data=bindparam("data")), changed)
    # New rows a nesting level at a time (one statement a level), parents before children.
    while level:
        ready = [(v, r) for v, r in level if r.parent is None or id(r.parent) in ids]
        params = [
            {
                "submission_version_id": v,
                "path": r.path,
                "position": r.position,
                "parent_id": ids[id(r.parent)] if r.parent is not None else None,
                "data": r.data,
            }
            for v, r in ready
        ]
        result = session.execute(insert(table).returning(table.c.id, sort_by_parameter_order=True), params)
        for (_v, row), new_id in zip(ready, result.scalars()):
            ids[id(row)] = new_id
        level = [(v, r) for v, r in level if id(r) not in ids]


def replay(session: Session, version: SubmissionVersion) -> int:
    """Rebuild a version's normalised rows from its raw XML, and for the current version the record's
    province, consent and case code (and the cases it left or joined); return how many rows were written.

    Runs in the caller's transaction, which it makes a writing one; the caller commits.
    """
    with scope.acting_as(session, SYSTEM):
        begin_write(session)
        session.flush()
        page = session.execute(_replay_query().where(SubmissionVersion.id == version.id)).all()
        count = _replay_page(session, page, {})
    # The version and its record were rewritten behind the ORM's back: reload them when next read.
    for obj in (version, version.__dict__.get("submission")):
        if obj is not None:
            session.expire(obj)
    return count


def replay_all(
    session: Session,
    xml_form_id: str | None = None,
    *,
    batch: int = REPLAY_BATCH,
    on_page: Callable[[int], None] | None = None,
) -> tuple[int, int]:
    """Replay every stored version (or one form's, in any project) from its raw XML, `batch` versions a
    transaction, as the server; return (versions, rows) replayed. Running it again gives the same rows and
    register.

    Pages are keyed by version id and read as plain columns; the session's identity map is emptied after
    each page, so memory does not grow with the number of records. `on_page(n)` is called after each
    committed page of n versions (a progress bar).
    """
    fields_of: dict[int | None, list] = {}
    versions = rows = 0
    after = 0
    with scope.acting_as(session, SYSTEM):
        while True:
            begin_write(session)
            query = _replay_query().where(SubmissionVersion.id > after).limit(batch)
            if xml_form_id:
                query = query.where(Form.xml_form_id == xml_form_id)
            page = session.execute(query).all()
            if not page:
                session.rollback()
                break
            rows += _replay_page(session, page, fields_of)
            session.commit()
            session.expunge_all()
            after = page[-1][0]
            versions += len(page)
            if on_page is not None:
                on_page(len(page))
    return versions, rows


def count_replayable(session: Session, xml_form_id: str | None = None) -> int:
    """Count the versions replay_all() would replay."""
    query = select(func.count(SubmissionVersion.id))
    if xml_form_id:
        query = query.join(Form, Form.id == SubmissionVersion.form_id).where(Form.xml_form_id == xml_form_id)
    with scope.acting_as(session, SYSTEM):
        return session.execute(query).scalar_one()
