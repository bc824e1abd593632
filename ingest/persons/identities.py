"""Case identities for person matching (issue 10): who a case is about, read from its records by XLSForm tag
into `case_identities`, the matcher's record of each, and person records loaded as cases for evaluation.

No Flask: the CLI, workers and tests call it. The write path only refreshes a case's identity row
(`rebuild_identity`, from ingest.cases.register.rebuild_case), which reads answers by XLSForm tag, never by field name;
matching itself runs in batch (ingest.persons.decisions).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from ingest import scope
from ingest.access import SYSTEM
from ingest.case_provinces import case_records
from ingest.db import begin_write, utcnow
from ingest.models import Case
from ingest.normalise import Row
from ingest.person_models import CaseIdentity, PersonCandidate
from ingest.persons.matching.records import PersonRecord
from ingest.queries import fields_for
from ingest.tags import root_answer, tagged

#: Identity columns and the XLSForm tag each is read from (see forms/xlsforms/README.md).
IDENTITY_TAGS = {
    "given_lo": "person_given_lo",
    "family_lo": "person_family_lo",
    "given_latin": "person_given_latin",
    "family_latin": "person_family_latin",
    "birth_date": "birth_date",
    "birth_year": "birth_year",
    "home_province": "home_province",
    "home_district": "home_district",
    "home_village": "home_village",
    "phone": "phone",
}


def names_person(fields: list[dict]) -> bool:
    """Tell whether a form's field tree asks who the person is (a field carries an identity tag)."""
    return any(tagged(fields, tag) is not None for tag in IDENTITY_TAGS.values())


#: Answers of the tag `gender` that give the matcher's sex.
_SEX = {"Feminine": "F", "Female": "F", "F": "F", "Masculine": "M", "Male": "M", "M": "M"}
_INTAKE = "case_intake"


# ---------------------------------------------------------------------------------------------- identities


def _text(value, length: int) -> str | None:
    if value is None or isinstance(value, (list, dict)):
        return None
    text = str(value).strip()
    return text[:length] or None


def _year(value) -> int | None:
    text = str(value or "").strip()[:4]
    return int(text) if text.isdigit() and 1900 <= int(text) <= 2100 else None


def _day(value) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def identity_values(records) -> dict:
    """Fold a case's records (form id, field tree, root answers, arrival) into its identity columns.

    The intake interview's answers count over other forms' (it is where names are asked), then the latest.
    """
    values: dict = {column: None for column in (*IDENTITY_TAGS, "sex", "province_code", "district_code")}
    events = []
    ordered_records = sorted(records, key=lambda r: (r[0] == _INTAKE, r[3]))
    for _form_id, fields, data, created_at, *placed in ordered_records:
        rows = [Row(path="", position=1, parent=None, data=data or {})]
        fields = fields or []
        for column, tag in IDENTITY_TAGS.items():
            answer = root_answer(rows, fields, tag)
            if column == "birth_year":
                answer = _year(answer)
            elif column == "birth_date":
                answer = _day(answer)
            else:
                answer = _text(answer, 40 if column == "phone" else 200)
            if answer is not None:
                values[column] = answer
        sex = _SEX.get(str(root_answer(rows, fields, "gender") or "").strip())
        if sex:
            values["sex"] = sex
        for column, tag, length in (("province_code", "scope_province", 2), ("district_code", "scope_district", 4)):
            answer = _text(root_answer(rows, fields, tag), length)
            if column == "province_code" and placed:
                answer = placed[0]  # where the record was placed (ingest.tags.place_record), not what it claims
            if answer:
                values[column] = answer
        events.append(_day(root_answer(rows, fields, "event_date")) or created_at.date())
    if values["birth_year"] is None and values["birth_date"] is not None:
        values["birth_year"] = values["birth_date"].year
    # Codes only (2-digit province, 4-digit district): anything longer is not one and would not fit.
    for column, length in (("home_province", 2), ("home_district", 4)):
        if values[column] and len(values[column]) > length:
            values[column] = None
    values["first_seen"] = min(events) if events else None
    values["has_name"] = any(values[c] for c in ("given_lo", "family_lo", "given_latin", "family_latin"))
    return values


def rebuild_identity(session: Session, project_id: int, case_code: str, records) -> None:
    """Recompute the identity row of one case from its live records (remove it, and the case's pending
    candidate pairs, when none is left). Runs in the caller's transaction; `changed_at` moves only when a
    value changed, so a replay that changes nothing leaves the next incremental match nothing to do."""
    with scope.acting_as(session, SYSTEM):
        if not records:
            session.execute(
                delete(CaseIdentity).where(CaseIdentity.project_id == project_id, CaseIdentity.case_code == case_code)
            )
            session.execute(
                delete(PersonCandidate).where(
                    PersonCandidate.project_id == project_id,
                    or_(PersonCandidate.case_a == case_code, PersonCandidate.case_b == case_code),
                )
            )
            return
        case_id = session.scalar(select(Case.id).where(Case.project_id == project_id, Case.case_code == case_code))
        if case_id is None:
            return
        _store_identity(session, project_id, case_id, case_code, identity_values(records))


def _store_identity(session: Session, project_id: int, case_id: int, case_code: str, values: dict) -> None:
    now = utcnow()
    current = session.execute(select(CaseIdentity.__table__).where(CaseIdentity.case_id == case_id)).mappings().first()
    if current is None:
        session.execute(
            CaseIdentity.__table__.insert().values(
                case_id=case_id, project_id=project_id, case_code=case_code, changed_at=now, built_at=now, **values
            )
        )
        return
    changes: dict[str, object] = {"built_at": now}
    if any(current[k] != v for k, v in values.items()) or current["case_code"] != case_code:
        changes.update(case_code=case_code, changed_at=now, **values)
    session.execute(update(CaseIdentity).where(CaseIdentity.case_id == case_id).values(**changes))


def sync_identities(session: Session, project_id: int) -> int:
    """Refresh the identity rows of cases rebuilt without them (by `collector ingest replay`'s batch path,
    or before this table existed), and drop pending pairs of cases that are gone; return how many identities
    were refreshed. Idempotent; the caller commits."""
    with scope.acting_as(session, SYSTEM):
        begin_write(session)
        stale = (
            select(Case.id, Case.case_code)
            .outerjoin(CaseIdentity, CaseIdentity.case_id == Case.id)
            .where(
                Case.project_id == project_id,
                or_(CaseIdentity.case_id.is_(None), CaseIdentity.built_at < Case.updated_at),
            )
        )
        cases = session.execute(stale).all()
        fields_of: dict = {}
        for start in range(0, len(cases), 500):
            chunk = {code: case_id for case_id, code in cases[start : start + 500]}
            found: dict[str, list] = {code: [] for code in chunk}
            # The same records, read and split the same way, as the register's rebuild
            # (ingest.cases.register.rebuild_cases): a record kept outside its case changes no identity.
            roots, _outside = case_records(session, project_id, list(chunk), fields_of)
            for code, _submission_id, form_id, created_at, province, form_version_id, data in roots:
                found[code].append(
                    (form_id, fields_for(session, fields_of, form_version_id), data, created_at, province)
                )
            for code, records in found.items():
                if records:
                    _store_identity(session, project_id, chunk[code], code, identity_values(records))
        live = select(Case.case_code).where(Case.project_id == project_id)
        session.execute(
            delete(PersonCandidate).where(
                PersonCandidate.project_id == project_id,
                or_(PersonCandidate.case_a.not_in(live), PersonCandidate.case_b.not_in(live)),
            )
        )
        return len(cases)


def person_record(identity: CaseIdentity) -> PersonRecord:
    """Return the matcher's record of a case's identity (the case code as the record id)."""

    def s(value):
        return "" if value is None else str(value)

    return PersonRecord(
        record_id=identity.case_code,
        province_code=s(identity.province_code),
        district_code=s(identity.district_code),
        given_lo=s(identity.given_lo),
        family_lo=s(identity.family_lo),
        given_latin=s(identity.given_latin),
        family_latin=s(identity.family_latin),
        sex=s(identity.sex),
        birth_year=s(identity.birth_year),
        birth_date=s(identity.birth_date),
        home_village=s(identity.home_village),
        phone=s(identity.phone),
        screening_date=s(identity.first_seen),
    )


# ---------------------------------------------------------------------------------------------- evaluation

#: A field tree carrying the identity tags, for person records that come without a form (a partner's list,
#: the development set): their answers pass through the same tag reading as a case's records.
_RECORD_TAGS = {
    **{column: tag for column, tag in IDENTITY_TAGS.items()},
    "sex": "gender",
    "screening_date": "event_date",
    "province_code": "scope_province",
    "district_code": "scope_district",
}
RECORD_FIELDS = [
    {"path": f"/data/{column}", "name": column, "kind": "input", "tags": [tag]} for column, tag in _RECORD_TAGS.items()
]


def load_person_records(session: Session, project_id: int, records: list[PersonRecord]) -> int:
    """Write person records into the register as cases of their own (case code = record id) and their
    identities through the same tag reading as real records; commit; return how many were written.

    For evaluation and benchmarks (`benchmarks/matching.py`, the tests): the cases have no records behind them.
    """
    now = utcnow()
    with scope.acting_as(session, SYSTEM):
        begin_write(session)
        for start in range(0, len(records), 1000):
            chunk = records[start : start + 1000]
            session.execute(
                Case.__table__.insert(),
                [
                    {
                        "project_id": project_id,
                        "case_code": r.record_id,
                        "province_code": r.province_code or None,
                        "district_code": r.district_code or None,
                        "records": 1,
                        "forms": _INTAKE,
                        "updated_at": now,
                    }
                    for r in chunk
                ],
            )
            ids = dict(
                session.execute(
                    select(Case.case_code, Case.id).where(
                        Case.project_id == project_id, Case.case_code.in_([r.record_id for r in chunk])
                    )
                ).all()
            )
            rows = []
            for r in chunk:
                data = {column: getattr(r, column, None) for column in _RECORD_TAGS}
                values = identity_values([(_INTAKE, RECORD_FIELDS, data, now)])
                rows.append(
                    {
                        "case_id": ids[r.record_id],
                        "project_id": project_id,
                        "case_code": r.record_id,
                        "changed_at": now,
                        "built_at": now,
                        **values,
                    }
                )
            session.execute(CaseIdentity.__table__.insert(), rows)
        session.commit()
    return len(records)
