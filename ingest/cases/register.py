"""The case register: one typed row per case code, rebuilt from the records that carry that code.

Records of the ministry's forms (screening -> intake -> referrals -> follow-ups) are joined by the answer
tagged `case_code`; every value is found by its XLSForm tag (ingest.tags), never by field name, so a
trainer's renamed question with the same tag keeps working. A case is rebuilt from its live records, in
full, whenever one of them is stored, edited, deleted or replayed: the register never drifts from them.
"""

from __future__ import annotations

from datetime import date
from typing import cast

from sqlalchemy import String, delete, func, or_, select, update
from sqlalchemy.orm import Session

from ingest import case_provinces as provinces
from ingest import scope
from ingest.access import SYSTEM
from ingest.cases import tasks
from ingest.db import insert_ignore, utcnow
from ingest.models import Case
from ingest.normalise import Row
from ingest.persons import identities
from ingest.queries import fields_for
from ingest.tags import root_answer

#: Longest case code kept; a longer answer is not a case code.
MAX_CASE_CODE = 64
#: Form IDs whose event date gives the case's screening, intake and follow-up dates.
SCREENING, INTAKE, FOLLOWUP = "screening", "case_intake", "followup"
#: Profile answers: (case column, tag, tag of the "other country" follow-up that replaces `XX`).
PROFILE = (
    ("province_code", "scope_province", None),
    ("district_code", "scope_district", None),
    ("gender", "gender", None),
    ("age_band", "age_band", None),
    ("citizenship", "citizenship", "citizenship_other"),
    ("exploitation_types", "exploitation_type", None),
    ("country_of_exploitation", "country_of_exploitation", "country_of_exploitation_other"),
    ("trafficking_status", "trafficking_status", None),
)
# Every profile column is a String (a length to cut answers to).
_LENGTHS = {name: cast(String, Case.__table__.c[name].type).length for name, _tag, _other in PROFILE}


def case_code_of(rows: list[Row], fields: list[dict]) -> str | None:
    """Return the record's case code (the answer tagged case_code), or None."""
    answer = root_answer(rows, fields, "case_code")
    if not isinstance(answer, str) or not answer.strip() or len(answer.strip()) > MAX_CASE_CODE:
        return None
    return answer.strip()


def _text(value) -> str | None:
    if value is None or value == "" or value == []:
        return None
    return " ".join(str(v) for v in value) if isinstance(value, list) else str(value).strip() or None


def _answer(data: dict, fields: list[dict], tag: str, other_tag: str | None) -> str | None:
    """Return a tagged answer as text (lists space-joined), with `XX` replaced by the other-country answer."""
    rows = [Row(path="", position=1, parent=None, data=data)]
    value = _text(root_answer(rows, fields, tag))
    if value is not None and other_tag is not None and "XX" in value.split():
        other = _text(root_answer(rows, fields, other_tag))
        if other:
            value = " ".join(other if code == "XX" else code for code in value.split())
    return value


def _day(value) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def rebuild_case(session: Session, project_id: int, case_code: str | None) -> None:
    """Recompute one case of the register from its live records (delete it when none is left), with its
    hand-off tasks and the matcher's identity row. Runs in the caller's transaction."""
    if case_code:
        rebuild_cases(session, project_id, [case_code])


def rebuild_cases(session: Session, project_id: int, codes, fields_of: dict[int | None, list] | None = None) -> None:
    """Recompute some cases of a project from their live records (live, not draft, current versions' root
    rows): the register's row (removed when no record is left), the case's hand-off tasks and its identity
    for the matcher. Four statements for the register whatever the number of cases.

    Runs in the caller's transaction. The case rows are locked first, in code order, so two records of one
    case stored at once rebuild one after the other and the second sees the first. Field trees come from
    `fields_of` (by form version id), read once each.
    """
    codes = sorted({c for c in codes if c})
    if not codes:
        return
    fields_of = {} if fields_of is None else fields_of
    now = utcnow()
    with scope.acting_as(session, SYSTEM):
        session.execute(
            insert_ignore(session, Case.__table__),
            [
                {"project_id": project_id, "case_code": code, "records": 0, "forms": "", "updated_at": now}
                for code in codes
            ],
        )
        case_ids = dict(
            session.execute(
                select(Case.case_code, Case.id)
                .where(Case.project_id == project_id, Case.case_code.in_(codes))
                .order_by(Case.case_code)
                .with_for_update()
            ).all()
        )
        found: dict[str, list] = {code: [] for code in codes}
        # Only the records placed in one of a case's provinces join it (ingest.case_provinces); the others
        # are kept, flagged, and change nothing of it: not this row, not its task, not its identity.
        roots, outside = provinces.case_records(session, project_id, codes, fields_of)
        provinces.flag_outsiders(session, project_id, codes, outside)
        for code, _submission_id, form_id, created_at, province, form_version_id, data in roots:
            # The record's province as placed (ingest.tags.place_record), never its raw answer: a record
            # that claims a province outside its sender's must not move the case there.
            found[code].append((form_id, fields_for(session, fields_of, form_version_id), data, created_at, province))
        empty = [case_ids[code] for code, records in found.items() if not records]
        if empty:
            session.execute(delete(Case).where(Case.id.in_(empty)))
        summaries = [
            {"id": case_ids[code], **_summary(records), "updated_at": now} for code, records in found.items() if records
        ]
        if summaries:
            session.execute(update(Case), summaries)  # by primary key, one executemany
        tasks.sync_tasks(session, project_id, codes, fields_of, roots)  # hand-off follow-ups (a deleted case's too)
        for code, records in found.items():
            identities.rebuild_identity(session, project_id, code, records)  # the matcher's input


def _summary(records) -> dict:
    """Fold a case's records into the register's columns."""
    dated = []
    for form_id, fields, data, created_at, province in records:
        event = _day(_answer(data, fields or [], "event_date", None)) or created_at.date()
        dated.append((event, form_id, fields or [], data, province))
    dated.sort(key=lambda r: (r[0], r[1]))
    values: dict = {column: None for column, _tag, _other in PROFILE}
    values.update(records=len(dated), forms=" ".join(r[1] for r in dated)[:500], case_status=None, consent_sharing=None)
    # Profile answers: the intake interview's word counts over the screening's; otherwise the latest.
    for _event, _form_id, fields, data, province in sorted(dated, key=lambda r: (r[1] == INTAKE, r[0])):
        for column, tag, other in PROFILE:
            answer = province if column == "province_code" else _answer(data, fields, tag, other)
            if answer is not None:
                values[column] = answer[: _LENGTHS[column]]
    for _event, _form_id, fields, data, _province in dated:
        status = _answer(data, fields, "case_status", None)
        if status is not None:
            values["case_status"] = status[:40]
        consent = _answer(data, fields, "consent_sharing", None)
        if consent in ("yes", "no"):
            values["consent_sharing"] = consent == "yes"
    days = {form: sorted(r[0] for r in dated if r[1] == form) for form in (SCREENING, INTAKE, FOLLOWUP)}
    values["first_screening_date"] = days[SCREENING][0] if days[SCREENING] else None
    values["intake_date"] = days[INTAKE][0] if days[INTAKE] else None
    values["last_followup_date"] = days[FOLLOWUP][-1] if days[FOLLOWUP] else None
    return values


#: Filters of the case list: query parameter -> register column (single-valued columns compare equal).
FILTERS = {
    "province": "province_code",
    "district": "district_code",
    "gender": "gender",
    "ageBand": "age_band",
    "countryOfExploitation": "country_of_exploitation",
    "traffickingStatus": "trafficking_status",
    "caseStatus": "case_status",
}
#: Space-separated columns: a filter keeps cases holding the value among theirs.
LIST_FILTERS = {"citizenship": "citizenship", "exploitationType": "exploitation_types"}
#: Most cases a page holds.
MAX_PAGE = 1000


class BadCaseQuery(ValueError):
    """A malformed cursor, limit or year (the message says which)."""


class UnknownCaseFilter(BadCaseQuery):
    """A filter the case list does not have (the message names it)."""


def case_page(
    session: Session, project_id: int, args: dict[str, list[str]], limit: int = 100, cursor: str | None = None
) -> tuple[list[Case], str | None]:
    """Return a page of the project's cases the session's caller may see, oldest first, and the next cursor.

    `args` maps filter names (FILTERS, LIST_FILTERS, `year`) to the values wanted (any of them). Paging is
    by key: the cursor is the last case id of the page, so pages stay stable while cases are added.

    :raise UnknownCaseFilter: an unknown filter.  :raise BadCaseQuery: a bad cursor, limit or year.
    """
    unknown = sorted(set(args) - set(FILTERS) - set(LIST_FILTERS) - {"year"})
    if unknown:
        raise UnknownCaseFilter(
            f"There is no case filter {unknown[0]!r}; use {', '.join([*FILTERS, *LIST_FILTERS, 'year'])}."
        )
    if not 1 <= limit <= MAX_PAGE:
        raise BadCaseQuery(f"limit must be from 1 to {MAX_PAGE}.")
    if cursor and not (cursor.isascii() and cursor.isdigit() and int(cursor) < 2**31):
        raise BadCaseQuery("The cursor is not one this server gave; start again without it.")
    after = int(cursor) if cursor else 0
    if not all(y.isascii() and y.isdigit() and 1900 <= int(y) <= 2100 for y in args.get("year", [])):
        raise BadCaseQuery("year must be a year from 1900 to 2100.")
    years = [int(y) for y in args.get("year", [])]
    query = select(Case).where(Case.project_id == project_id, Case.id > after).order_by(Case.id).limit(limit + 1)
    for name, values in args.items():
        if name in FILTERS:
            query = query.where(getattr(Case, FILTERS[name]).in_(values))
        elif name in LIST_FILTERS:
            column = getattr(Case, LIST_FILTERS[name])
            query = query.where(or_(*((" " + column + " ").contains(f" {v} ", autoescape=True) for v in values)))
    if years:
        first = func.coalesce(Case.first_screening_date, Case.intake_date)
        query = query.where(or_(*(first.between(date(y, 1, 1), date(y, 12, 31)) for y in years)))
    cases = list(session.scalars(query))
    more = len(cases) > limit
    return cases[:limit], str(cases[limit - 1].id) if more else None


def case_json(case: Case) -> dict:
    """Describe a case of the register (no names: the register holds none)."""

    def day(value):
        return value.isoformat() if value else None

    def words(value):
        return value.split() if value else []

    return {
        "caseCode": case.case_code,
        "province": case.province_code,
        "district": case.district_code,
        "firstScreeningDate": day(case.first_screening_date),
        "intakeDate": day(case.intake_date),
        "lastFollowupDate": day(case.last_followup_date),
        "gender": case.gender,
        "ageBand": case.age_band,
        "citizenship": words(case.citizenship),
        "exploitationTypes": words(case.exploitation_types),
        "countryOfExploitation": case.country_of_exploitation,
        "traffickingStatus": case.trafficking_status,
        "caseStatus": case.case_status,
        "consentToShare": case.consent_sharing,
        "records": case.records,
        "forms": words(case.forms),
    }
