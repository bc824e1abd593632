"""Case hand-off (issue 10): follow-up tasks owed by the home province of a person identified in another.

A case owes its home province a follow-up when the person's home province (the answer tagged
`home_province`, else the first two digits of the answer tagged `home_district`) differs from the province
where they were identified (the province of the case's screening, intake and referral records). The task
opens when the first record saying so arrives, and closes when a follow-up record *of the home province*
for that case arrives after that: a follow-up sent by the identifying province (a phone call from the
transit centre) does not discharge the home province's duty.

Tasks are derived from the case's records exactly as the register is, and rebuilt with it
(ingest.cases.register.rebuild_case calls `sync_tasks`): every date is an arrival time of a record, never the time of
the rebuild, so rebuilding twice, or replaying, gives the same rows. One follow-up task per case: a later
screening of the same case does not open a second one. Tasks never hold names: the case code and a summary
of non-identifying register fields (gender, age band, types of exploitation, dates, provinces).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from forms import province_names
from ingest import scope
from ingest.access import RIGHTS, ROLES, SYSTEM
from ingest.case_provinces import FOLLOWUP_FORM, case_records, home_of, province_codes
from ingest.db import begin_write
from ingest.entities.system import sync_handoff_entities
from ingest.models import Case, Submission
from ingest.normalise import Row
from ingest.queries import fields_for
from ingest.tags import root_answer
from ingest.task_models import Task

#: The only kind of task so far.
FOLLOWUP_TASK = "followup"
#: Form ID of the follow-up form: its records close tasks and never say where the person was identified.
INTAKE_FORM = "case_intake"
#: Roles who read tasks: those who act on records with identities (analysts and statisticians have
#: statistics; a task is an operational, per-case item, of no use in counts).
TASK_READERS = tuple(r for r in ROLES if {"records", "identities", "submit"} <= RIGHTS[r])
#: The media file name a form references to receive the tablet's pending follow-ups (see `pending_csv`).
PENDING_MEDIA = "pending_followups.csv"
#: Columns of that file: `name` (the case code, the value chosen) and `label` (what Collect shows).
PENDING_COLUMNS = ("name", "label", "home_district", "opened")
STATUSES = ("open", "closed")
#: Most tasks a page holds.
MAX_PAGE = 1000


class BadTaskQuery(ValueError):
    """A malformed status, province, limit or cursor (the message says which)."""


@dataclass(frozen=True)
class _Record:
    submission_id: int
    form: str
    created_at: datetime
    province: str | None
    home: str | None
    district: str | None
    event: date | None


def _event(data: dict, fields: list[dict]) -> date | None:
    value = root_answer([Row(path="", position=1, parent=None, data=data)], fields, "event_date")
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _records(
    session: Session, project_id: int, codes: list[str], fields_of: dict, roots: list | None = None
) -> dict[str, list[_Record]]:
    """Read the live, non-draft records that join some cases (ingest.case_provinces.case_records), unless
    the caller has them already (`roots`: the register's rebuild read and split the same rows)."""
    provinces = province_codes()
    found: dict[str, list[_Record]] = {code: [] for code in codes}
    if roots is None:
        roots, _outside = case_records(session, project_id, codes, fields_of)
    for code, submission_id, form, created_at, province, version_id, data in roots:
        if code not in found:
            continue
        fields = fields_for(session, fields_of, version_id)
        home, district = home_of(data, fields, provinces) if form != FOLLOWUP_FORM else (None, None)
        found[code].append(_Record(submission_id, form, created_at, province, home, district, _event(data, fields)))
    return found


def _summary(case, origin: str) -> str:
    """Say what is known of a case without naming anyone: gender, age band, exploitation, dates, provinces."""
    first = case.first_screening_date or case.intake_date
    parts = [
        case.gender or "gender unknown",
        case.age_band or "age unknown",
        ", ".join((case.exploitation_types or "").split()) or "exploitation unknown",
        f"identified {first.isoformat() if first else 'on an unknown date'} in "
        f"{province_names().get(origin, origin)} ({origin})",
    ]
    if case.intake_date:
        parts.append(f"interviewed {case.intake_date.isoformat()}")
    return "; ".join(parts)[:500]


def _wanted(case, records: list[_Record]) -> dict | None:
    """Return the columns of the task a case owes (None: it owes none)."""
    identifying = [r for r in records if r.form != FOLLOWUP_FORM]
    # As the register reads the profile: the intake interview's word counts over the screening's, else the latest.
    ordered = sorted(
        identifying,
        key=lambda r: (r.form == INTAKE_FORM, r.event or r.created_at.date(), r.created_at, r.submission_id),
    )
    origin = home = district = None
    for record in ordered:
        origin = record.province or origin
        if record.home:
            home, district = record.home, record.district
    if not (origin and home) or origin == home:
        return None
    opened = min(r.created_at for r in identifying if r.home == home)
    closing = sorted(
        (r for r in records if r.form == FOLLOWUP_FORM and r.province == home and r.created_at >= opened),
        key=lambda r: (r.created_at, r.submission_id),
    )
    return {
        "case_id": case.id,
        "status": "closed" if closing else "open",
        "home_province": home,
        "home_district": district,
        "origin_province": origin,
        "consent_sharing": case.consent_sharing,
        "summary": _summary(case, origin),
        "opened_at": opened,
        "closed_at": closing[0].created_at if closing else None,
        "closed_by_id": closing[0].submission_id if closing else None,
    }


def sync_tasks(
    session: Session, project_id: int, codes, fields_of: dict | None = None, roots: list | None = None
) -> None:
    """Make the tasks of some cases what their records say (add, change or remove), in the caller's transaction.
    `roots`: the cases' records as ingest.queries.live_roots selects them, when the caller read them already.

    Call it after the cases' register rows are rebuilt. Idempotent: a second call writes nothing.
    """
    codes = sorted({c for c in codes if c})
    if not codes:
        return
    fields_of = {} if fields_of is None else fields_of
    with scope.acting_as(session, SYSTEM):
        # Plain columns, not objects: the register rows were just rewritten by UPDATE statements.
        cases = {
            c.case_code: c
            for c in session.execute(
                select(
                    Case.id,
                    Case.case_code,
                    Case.gender,
                    Case.age_band,
                    Case.exploitation_types,
                    Case.first_screening_date,
                    Case.intake_date,
                    Case.consent_sharing,
                ).where(Case.project_id == project_id, Case.case_code.in_(codes))
            )
        }
        records = _records(session, project_id, list(cases), fields_of, roots) if cases else {}
        existing = {
            t.case_code: t
            for t in session.execute(
                select(Task.__table__).where(
                    Task.project_id == project_id, Task.case_code.in_(codes), Task.kind == FOLLOWUP_TASK
                )
            )
        }
        gone = []
        listed: dict[str, dict | None] = {}
        for code in codes:
            wanted = listed[code] = _wanted(cases[code], records[code]) if code in cases else None
            old = existing.get(code)
            if wanted is None:
                if old is not None:
                    gone.append(old.id)
            elif old is None:
                session.execute(
                    insert(Task).values(project_id=project_id, case_code=code, kind=FOLLOWUP_TASK, **wanted)
                )
            elif any(_differs(getattr(old, k), v) for k, v in wanted.items()):
                session.execute(update(Task).where(Task.id == old.id).values(**wanted))
        if gone:
            session.execute(delete(Task).where(Task.id.in_(gone)))
        # The open tasks as the server's entity list `handoff_cases` (ingest.entities.system).
        sync_handoff_entities(session, project_id, listed)


def _differs(stored, wanted) -> bool:
    # SQLite hands back naive datetimes for timezone-aware columns: compare the moments, not the tzinfo.
    if isinstance(stored, datetime) and isinstance(wanted, datetime):
        return stored.replace(tzinfo=None) != wanted.replace(tzinfo=None)
    return stored != wanted


def sync_all(session: Session, project_id: int | None = None, batch: int = 500) -> int:
    """Rebuild every case's tasks from its records (after the migration, or to check); return how many cases
    were looked at. Commits every `batch` cases."""
    fields_of: dict = {}
    seen = after = 0
    with scope.acting_as(session, SYSTEM):
        while True:
            begin_write(session)
            query = select(Case.id, Case.project_id, Case.case_code).where(Case.id > after).order_by(Case.id)
            if project_id is not None:
                query = query.where(Case.project_id == project_id)
            page = session.execute(query.limit(batch)).all()
            if not page:
                break
            by_project: dict[int, list[str]] = {}
            for _id, project, code in page:
                by_project.setdefault(project, []).append(code)
            for project, codes in by_project.items():
                sync_tasks(session, project, codes, fields_of)
            session.commit()
            after, seen = page[-1].id, seen + len(page)
    return seen


def task_page(
    session: Session,
    project_id: int,
    *,
    status: str | None = None,
    provinces=(),
    limit: int = 100,
    cursor: str | None = None,
) -> tuple[list[tuple[Task, str | None]], str | None]:
    """Return a page of the project's tasks the session's caller may see, oldest first, each with the
    instanceID of the record that closed it, and the next cursor (the last task id, or None).

    :raise BadTaskQuery: an unknown status or province, a bad limit or cursor.
    """
    if status is not None and status not in STATUSES:
        raise BadTaskQuery(f"status must be one of {', '.join(STATUSES)}.")
    unknown = sorted(set(provinces) - province_codes())
    if unknown:
        raise BadTaskQuery(f"{unknown[0]!r} is not a province code (two digits, 01 to 18).")
    if not 1 <= limit <= MAX_PAGE:
        raise BadTaskQuery(f"limit must be from 1 to {MAX_PAGE}.")
    if cursor and not (cursor.isascii() and cursor.isdigit() and int(cursor) < 2**31):
        raise BadTaskQuery("The cursor is not one this server gave; start again without it.")
    query = (
        select(Task, Submission.instance_id)
        .outerjoin(Submission, Submission.id == Task.closed_by_id)
        .where(Task.project_id == project_id, Task.id > int(cursor or 0))
        .order_by(Task.id)
        .limit(limit + 1)
    )
    if status is not None:
        query = query.where(Task.status == status)
    if provinces:
        query = query.where(Task.home_province.in_(sorted(set(provinces))))
    # The outer join gives no instance ID to a task not closed by a record.
    rows: list[tuple[Task, str | None]] = [(task, instance_id) for task, instance_id in session.execute(query)]
    more = len(rows) > limit
    return rows[:limit], str(rows[limit - 1][0].id) if more else None


def task_json(task: Task, closed_by: str | None = None) -> dict:
    """Describe a task (no names: the task holds none)."""

    def moment(value):
        return value.isoformat() if value else None

    return {
        "id": task.id,
        "kind": task.kind,
        "status": task.status,
        "caseCode": task.case_code,
        "homeProvince": task.home_province,
        "homeDistrict": task.home_district,
        "originProvince": task.origin_province,
        "summary": task.summary,
        "consentToShare": task.consent_sharing,
        "openedAt": moment(task.opened_at),
        "closedAt": moment(task.closed_at),
        "closedBy": closed_by,
    }


def pending_csv(session: Session, project_id: int) -> bytes:
    """Return the open follow-ups the session's caller may see as the CSV a form's `pending_followups.csv`
    is replaced with (a device sees its province's only).

    `name` is the case code (what the officer's choice stores), `label` the code and what is known. An empty
    list is the header alone: Collect reads it as a list without choices, where an empty file fails to load.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(PENDING_COLUMNS)
    for task in session.scalars(
        select(Task)
        .where(Task.project_id == project_id, Task.status == "open", Task.kind == FOLLOWUP_TASK)
        .order_by(Task.opened_at, Task.case_code)
    ):
        writer.writerow(
            [
                task.case_code,
                f"{task.case_code}: {task.summary}",
                task.home_district or "",
                task.opened_at.date().isoformat(),
            ]
        )
    return out.getvalue().encode("utf-8")
