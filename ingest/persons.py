"""Persons across cases (issue 10): identities from the register's records, the matcher over them, officers'
decisions on candidate pairs, and persons as connected components of confirmed links.

No Flask: the CLI, workers and tests call it. Matching runs in batch (`collector persons match`), never on
the write path; the write path only refreshes a case's identity row (`rebuild_identity`, from
ingest.cases.rebuild_case), which reads answers by XLSForm tag, never by field name.

Scope: every read here runs as the server (`scope.acting_as(SYSTEM)`) and applies the caller's visibility
explicitly on both sides of a pair (`scope.cases_visible_on`), because a pair is shown when *one* side is in
the caller's scope while the other side is shown redacted.
"""
from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, delete, exists, insert, or_, select, update
from sqlalchemy.orm import Session, aliased

from ingest import audit, scope
from ingest.access import SYSTEM, Caller
from ingest.db import begin_write, utcnow
from ingest.matching.linkage import DEFAULT_THRESHOLD, score_records
from ingest.matching.records import PersonRecord
from ingest.models import Case, Form, FormVersion, Project, Submission, SubmissionRow, SubmissionVersion
from ingest.normalise import Row
from ingest.person_models import CaseIdentity, PersonCandidate, PersonLink, PersonMatchRun, PersonMember
from ingest.tags import root_answer

logger = logging.getLogger(__name__)

#: Identity columns and the XLSForm tag each is read from (see forms/xlsforms/README.md).
IDENTITY_TAGS = {
    "given_lo": "person_given_lo", "family_lo": "person_family_lo",
    "given_latin": "person_given_latin", "family_latin": "person_family_latin",
    "birth_date": "birth_date", "birth_year": "birth_year", "home_province": "home_province",
    "home_district": "home_district", "home_village": "home_village", "phone": "phone",
}
#: Identity columns that identify a person (their fields are tagged sensitive): redacted where not allowed.
IDENTIFYING = ("given_lo", "family_lo", "given_latin", "family_latin", "birth_date", "birth_year",
               "home_village", "phone")
_JSON_NAMES = {"given_lo": "givenLo", "family_lo": "familyLo", "given_latin": "givenLatin",
               "family_latin": "familyLatin", "birth_date": "birthDate", "birth_year": "birthYear",
               "home_province": "homeProvince", "home_district": "homeDistrict", "home_village": "homeVillage",
               "phone": "phone"}
#: Answers of the tag `gender` that give the matcher's sex.
_SEX = {"Feminine": "F", "Female": "F", "F": "F", "Masculine": "M", "Male": "M", "M": "M"}
CONFIRMED, REJECTED = "confirmed", "rejected"
DECISIONS = {"confirm": CONFIRMED, "reject": REJECTED}
#: Most pairs or persons a page holds.
MAX_PAGE = 1000
_INTAKE = "case_intake"


class PersonError(ValueError):
    """A request about persons that cannot be honoured (the message says why)."""


class CaseNotFound(PersonError):
    """A case code that does not exist, or that the caller may not see."""


class LinkConflict(PersonError):
    """A decision that contradicts another one (a rejected pair would end up in one person, or another
    officer decided the same pair at the same moment)."""


def ordered(a: str, b: str) -> tuple[str, str]:
    """Return a pair of case codes in the order the tables keep them.

    :raise PersonError: the two codes are the same case.
    """
    a, b = a.strip(), b.strip()
    if a.lower() == b.lower():
        raise PersonError("A case cannot be linked with itself.")
    return (a, b) if a < b else (b, a)


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
    for form_id, fields, data, created_at in ordered_records:
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
            session.execute(delete(CaseIdentity).where(CaseIdentity.project_id == project_id,
                                                       CaseIdentity.case_code == case_code))
            session.execute(delete(PersonCandidate).where(
                PersonCandidate.project_id == project_id,
                or_(PersonCandidate.case_a == case_code, PersonCandidate.case_b == case_code)))
            return
        case_id = session.scalar(select(Case.id).where(Case.project_id == project_id, Case.case_code == case_code))
        if case_id is None:
            return
        _store_identity(session, project_id, case_id, case_code, identity_values(records))


def _store_identity(session: Session, project_id: int, case_id: int, case_code: str, values: dict) -> None:
    now = utcnow()
    current = session.execute(select(CaseIdentity.__table__).where(CaseIdentity.case_id == case_id)).mappings().first()
    if current is None:
        session.execute(CaseIdentity.__table__.insert().values(
            case_id=case_id, project_id=project_id, case_code=case_code, changed_at=now, built_at=now, **values))
        return
    changes = {"built_at": now}
    if any(current[k] != v for k, v in values.items()) or current["case_code"] != case_code:
        changes.update(case_code=case_code, changed_at=now, **values)
    session.execute(update(CaseIdentity).where(CaseIdentity.case_id == case_id).values(**changes))


def sync_identities(session: Session, project_id: int) -> int:
    """Refresh the identity rows of cases rebuilt without them (by `collector ingest replay`'s batch path,
    or before this table existed), and drop pending pairs of cases that are gone; return how many identities
    were refreshed. Idempotent; the caller commits."""
    with scope.acting_as(session, SYSTEM):
        begin_write(session)
        stale = select(Case.id, Case.case_code).outerjoin(CaseIdentity, CaseIdentity.case_id == Case.id).where(
            Case.project_id == project_id,
            or_(CaseIdentity.case_id.is_(None), CaseIdentity.built_at < Case.updated_at))
        cases = session.execute(stale).all()
        for start in range(0, len(cases), 500):
            chunk = {code: case_id for case_id, code in cases[start:start + 500]}
            found: dict[str, list] = {code: [] for code in chunk}
            for code, *record in session.execute(
                    select(Submission.case_code, Form.xml_form_id, FormVersion.fields, SubmissionRow.data,
                           Submission.created_at)
                    .join(Submission, Submission.form_id == Form.id)
                    .join(SubmissionVersion, (SubmissionVersion.submission_id == Submission.id)
                          & SubmissionVersion.current.is_(True))
                    .join(FormVersion, FormVersion.id == SubmissionVersion.form_version_id)
                    .join(SubmissionRow, (SubmissionRow.submission_version_id == SubmissionVersion.id)
                          & SubmissionRow.parent_id.is_(None))
                    .where(Form.project_id == project_id, Submission.case_code.in_(list(chunk)),
                           Submission.deleted_at.is_(None), Submission.draft.is_(False))):
                found[code].append(tuple(record))
            for code, records in found.items():
                if records:
                    _store_identity(session, project_id, chunk[code], code, identity_values(records))
        live = select(Case.case_code).where(Case.project_id == project_id)
        session.execute(delete(PersonCandidate).where(
            PersonCandidate.project_id == project_id,
            or_(PersonCandidate.case_a.not_in(live), PersonCandidate.case_b.not_in(live))))
        return len(cases)


def person_record(identity: CaseIdentity) -> PersonRecord:
    """Return the matcher's record of a case's identity (the case code as the record id)."""
    def s(value):
        return "" if value is None else str(value)

    return PersonRecord(
        record_id=identity.case_code, province_code=s(identity.province_code),
        district_code=s(identity.district_code), given_lo=s(identity.given_lo), family_lo=s(identity.family_lo),
        given_latin=s(identity.given_latin), family_latin=s(identity.family_latin), sex=s(identity.sex),
        birth_year=s(identity.birth_year), birth_date=s(identity.birth_date), home_village=s(identity.home_village),
        phone=s(identity.phone), screening_date=s(identity.first_seen))


# ---------------------------------------------------------------------------------------------- matching

@dataclass(frozen=True)
class MatchSummary:
    """What one run of the matcher read and stored."""

    cases: int
    skipped_without_name: int
    changed: int
    pairs: int
    full: bool


def _current_links(session: Session, project_id: int) -> dict[tuple[str, str], str]:
    return {(a, b): state for a, b, state in session.execute(
        select(PersonLink.case_a, PersonLink.case_b, PersonLink.state)
        .where(PersonLink.project_id == project_id, PersonLink.superseded_at.is_(None)))}


def _members(session: Session, project_id: int) -> dict[str, str]:
    return dict(session.execute(select(PersonMember.case_code, PersonMember.person_key)
                                .where(PersonMember.project_id == project_id)).all())


def match(session: Session, project_id: int, incremental: bool = True,
          threshold: float = DEFAULT_THRESHOLD) -> MatchSummary:
    """Run the matcher over the project's case identities and store the candidate pairs; commit.

    Incremental (the default once a run exists): pairs are stored or dropped only where a side changed since
    the previous run, so unchanged pairs keep their place; a new case is compared with every case, those of
    confirmed persons included. Full: every pending pair is recomputed. Pairs already decided (confirmed or
    rejected) and pairs of cases already in one person are never proposed. Cases without any name are
    skipped and counted. The model is estimated from all named cases each run (see ingest.matching.linkage).
    """
    with scope.acting_as(session, SYSTEM):
        sync_identities(session, project_id)
        session.commit()
        last = session.scalars(select(PersonMatchRun).where(PersonMatchRun.project_id == project_id,
                                                            PersonMatchRun.finished_at.is_not(None))
                               .order_by(PersonMatchRun.id.desc()).limit(1)).first()
        full = not incremental or last is None
        started = utcnow()
        identities = list(session.scalars(select(CaseIdentity).where(CaseIdentity.project_id == project_id)))
        named = [i for i in identities if i.has_name]
        skipped = len(identities) - len(named)
        if full:
            changed = {i.case_code for i in named}
        else:
            changed = set(session.scalars(select(CaseIdentity.case_code).where(
                CaseIdentity.project_id == project_id, CaseIdentity.has_name.is_(True),
                CaseIdentity.changed_at >= last.started_at)))
        pairs = []
        if changed:
            records = [person_record(i) for i in named]
            pairs = [p for p in score_records(records, threshold)
                     if full or p.record_id_a in changed or p.record_id_b in changed]
        begin_write(session)
        decided = _current_links(session, project_id)
        members = _members(session, project_id)
        wanted = {}
        for p in pairs:
            key = (p.record_id_a, p.record_id_b)
            same = members.get(key[0]) is not None and members.get(key[0]) == members.get(key[1])
            if key not in decided and not same:
                wanted[key] = p
        pending = {(a, b): pid for pid, a, b in session.execute(
            select(PersonCandidate.id, PersonCandidate.case_a, PersonCandidate.case_b)
            .where(PersonCandidate.project_id == project_id))}
        gone = [pid for key, pid in pending.items()
                if key not in wanted and (full or key[0] in changed or key[1] in changed)]
        for start in range(0, len(gone), 500):
            session.execute(delete(PersonCandidate).where(PersonCandidate.id.in_(gone[start:start + 500])))
        now = utcnow()
        # In bulk (executemany, updates by primary key): a large run stores hundreds of thousands of pairs.
        updates, inserts = [], []
        for key, p in wanted.items():
            values = {"score": float(p.match_probability), "evidence": p.evidence or {}, "computed_at": now}
            if key in pending:
                updates.append({"id": pending[key], **values})
            else:
                inserts.append({"project_id": project_id, "case_a": key[0], "case_b": key[1], **values})
        for start in range(0, len(updates), 5000):
            session.execute(update(PersonCandidate), updates[start:start + 5000])
        for start in range(0, len(inserts), 5000):
            session.execute(insert(PersonCandidate), inserts[start:start + 5000])
        session.add(PersonMatchRun(project_id=project_id, started_at=started, finished_at=utcnow(), full=full,
                                   cases=len(identities), skipped=skipped, changed=len(changed), pairs=len(wanted)))
        session.commit()
    logger.info("person match of project %s: %d cases, %d without a name, %d changed, %d pairs stored",
                project_id, len(identities), skipped, len(changed), len(wanted))
    return MatchSummary(cases=len(identities), skipped_without_name=skipped, changed=len(changed),
                        pairs=len(wanted), full=full)


def export_pairs(session: Session, project_id: int, path, min_score: float = 0.0) -> int:
    """Write the pending candidate pairs and confirmed links as ``record_id_a,record_id_b`` rows (case codes)
    for the development set's scorer; return how many were written."""
    with scope.acting_as(session, SYSTEM):
        pairs = set(session.execute(select(PersonCandidate.case_a, PersonCandidate.case_b).where(
            PersonCandidate.project_id == project_id, PersonCandidate.score >= min_score)).all())
        pairs |= {key for key, state in _current_links(session, project_id).items() if state == CONFIRMED}
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["record_id_a", "record_id_b"])
        writer.writerows(sorted(pairs))
    return len(pairs)


# ---------------------------------------------------------------------------------------------- decisions

def _components(links) -> dict[str, str]:
    """Return {case code: person key} for the connected components of `links` (pairs of case codes)."""
    parent: dict[str, str] = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in links:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {x: find(x) for x in parent}


def recompute_persons(session: Session, project_id: int) -> dict[str, str]:
    """Rewrite the project's person members from its current confirmed links; return {case code: person key}.

    A person's key is its smallest case code, so it stays while that case stays in it."""
    links = [key for key, state in _current_links(session, project_id).items() if state == CONFIRMED]
    wanted = _components(links)
    have = _members(session, project_id)
    gone = [code for code in have if code not in wanted]
    if gone:
        session.execute(delete(PersonMember).where(PersonMember.project_id == project_id,
                                                   PersonMember.case_code.in_(gone)))
    for code, key in wanted.items():
        if code not in have:
            session.add(PersonMember(project_id=project_id, case_code=code, person_key=key))
        elif have[code] != key:
            session.execute(update(PersonMember).where(PersonMember.project_id == project_id,
                                                       PersonMember.case_code == code).values(person_key=key))
    session.flush()
    return wanted


def decide(session: Session, project_id: int, a: str, b: str, decision: str, caller: Caller,
           address: str | None = None) -> PersonLink:
    """Confirm or reject that two cases are one person, as `caller`; audited; the caller commits.

    Confirming joins the two persons; rejecting splits the person where the pair was its only bridge, and the
    pair is never proposed again. Deciding a pair as it already stands changes nothing. Decisions of one
    project are serialised (the project row is locked), so two officers deciding at once cannot leave a
    rejected pair inside one person: the second sees the first's decision.

    :raise PersonError: an unknown decision or a case linked with itself.  :raise CaseNotFound: a case that
        does not exist or that `caller` sees neither side of.  :raise LinkConflict: the decision contradicts
        a current one (named in the message).
    """
    if decision not in DECISIONS:
        raise PersonError("decision must be confirm or reject.")
    state = DECISIONS[decision]
    a, b = ordered(a, b)
    begin_write(session)
    with scope.acting_as(session, SYSTEM):
        session.execute(select(Project.id).where(Project.id == project_id).with_for_update())
        cases = {c.case_code: c for c in session.scalars(select(Case).where(
            Case.project_id == project_id, Case.case_code.in_((a, b))))}
        missing = [code for code in (a, b) if code not in cases]
        if missing:
            raise CaseNotFound(f"There is no case {missing[0]!r} in this project.")
        if not any(_sees(caller, c) for c in cases.values()) or any(_consent_hides(caller, c) for c in cases.values()):
            raise CaseNotFound("There is no such pair of cases that you may see.")
        current = session.scalars(select(PersonLink).where(
            PersonLink.project_id == project_id, PersonLink.case_a == a, PersonLink.case_b == b,
            PersonLink.superseded_at.is_(None))).first()
        if current is not None and current.state == state:
            return current
        score = session.scalar(select(PersonCandidate.score).where(
            PersonCandidate.project_id == project_id, PersonCandidate.case_a == a, PersonCandidate.case_b == b))
        now = utcnow()
        if current is not None:
            current.superseded_at = now
            session.flush()
        link = PersonLink(project_id=project_id, case_a=a, case_b=b, state=state, user_id=caller.user_id,
                          decided_at=now, score=score)
        session.add(link)
        session.flush()
        persons = recompute_persons(session, project_id)
        _check(session, project_id, persons, a, b, state)
        session.execute(delete(PersonCandidate).where(PersonCandidate.project_id == project_id,
                                                      PersonCandidate.case_a == a, PersonCandidate.case_b == b))
        audit.record(session, f"person.{decision}", f"project:{project_id}/persons/{a}/{b}",
                     user_id=caller.user_id, address=address, reversal=current is not None,
                     person=persons.get(a))
    return link


def person_key_of(session: Session, project_id: int, case_code: str) -> str:
    """Return the key of the person a case belongs to (its own code when it is a person of its own)."""
    with scope.acting_as(session, SYSTEM):
        key = session.scalar(select(PersonMember.person_key).where(PersonMember.project_id == project_id,
                                                                  PersonMember.case_code == case_code))
    return key or case_code


def _check(session: Session, project_id: int, persons: dict[str, str], a: str, b: str, state: str) -> None:
    """:raise LinkConflict: a current rejection lies inside one person after the decision."""
    for (x, y), other in _current_links(session, project_id).items():
        if other == REJECTED and persons.get(x) is not None and persons.get(x) == persons.get(y):
            if (x, y) == (a, b):
                raise LinkConflict(f"{a} and {b} are still one person through other confirmed links; "
                                   "reject the link that joins them wrongly.")
            raise LinkConflict(f"Confirming would make {x} and {y} one person, and that pair was rejected.")


# ---------------------------------------------------------------------------------------------- reading

def _sees(caller: Caller, case: Case) -> bool:
    """Say whether a case is in the caller's reach (records right, provinces)."""
    if scope.sees_everything(caller):
        return True
    return caller.may("records") and (caller.provinces is None or case.province_code in caller.provinces)


def _consent_hides(caller: Caller, case: Case) -> bool:
    """Say whether a case refused sharing and the caller may not see such cases (then the pair is not shown)."""
    return case.consent_sharing is False and not caller.may("withheld")


def side_json(caller: Caller, case: Case | None, identity: CaseIdentity | None, person_key: str | None,
              code: str) -> tuple[dict, bool]:
    """Describe one case of a pair or person for `caller`; return it and whether identities were shown.

    Identifying fields are shown only to roles with the identities right, and only for cases in their
    provinces; otherwise they are null and listed in `redacted`.
    """
    show = caller.may("identities") and case is not None and _sees(caller, case)
    out = {"caseCode": code, "province": case.province_code if case else None,
           "district": case.district_code if case else None, "personKey": person_key or code,
           "inScope": bool(case is not None and _sees(caller, case)),
           "sex": identity.sex if identity else None,
           "homeProvince": identity.home_province if identity else None,
           "homeDistrict": identity.home_district if identity else None}
    redacted = []
    for column in IDENTIFYING:
        value = getattr(identity, column) if identity is not None else None
        if show:
            out[_JSON_NAMES[column]] = value.isoformat() if isinstance(value, date) else value
        else:
            out[_JSON_NAMES[column]] = None
            if value is not None:
                redacted.append(_JSON_NAMES[column])
    out["redacted"] = redacted
    return out, bool(show and identity is not None)


def _sides(session: Session, project_id: int, codes: set[str]):
    cases = {c.case_code: c for c in session.scalars(select(Case).where(
        Case.project_id == project_id, Case.case_code.in_(sorted(codes))))}
    identities = {i.case_code: i for i in session.scalars(select(CaseIdentity).where(
        CaseIdentity.project_id == project_id, CaseIdentity.case_code.in_(sorted(codes))))}
    members = dict(session.execute(select(PersonMember.case_code, PersonMember.person_key).where(
        PersonMember.project_id == project_id, PersonMember.case_code.in_(sorted(codes)))).all())
    return cases, identities, members


def _cursor(cursor: str | None) -> int:
    if cursor and not (cursor.isascii() and cursor.isdigit() and int(cursor) < 2**31):
        raise PersonError("The cursor is not one this server gave; start again without it.")
    return int(cursor) if cursor else 0


def candidate_page(session: Session, project_id: int, caller: Caller, province: str | None = None,
                   min_score: float | None = None, limit: int = 100, cursor: str | None = None):
    """Return (pairs as JSON, next cursor, cases whose identities were shown) for `caller`, by pair id.

    A pair is listed when the caller sees at least one side (a provincial officer: one side in their
    provinces) and neither side refused sharing unless the caller sees such cases; `province` keeps pairs
    with a side in that province, `min_score` pairs scoring at least that.

    :raise PersonError: a bad limit or cursor.
    """
    if not 1 <= limit <= MAX_PAGE:
        raise PersonError(f"limit must be from 1 to {MAX_PAGE}.")
    after = _cursor(cursor)
    ca, cb = aliased(Case), aliased(Case)
    link = aliased(PersonLink)
    ma, mb = aliased(PersonMember), aliased(PersonMember)
    with scope.acting_as(session, SYSTEM):
        query = (
            select(PersonCandidate)
            .join(ca, and_(ca.project_id == PersonCandidate.project_id, ca.case_code == PersonCandidate.case_a))
            .join(cb, and_(cb.project_id == PersonCandidate.project_id, cb.case_code == PersonCandidate.case_b))
            .outerjoin(ma, and_(ma.project_id == PersonCandidate.project_id, ma.case_code == PersonCandidate.case_a))
            .outerjoin(mb, and_(mb.project_id == PersonCandidate.project_id, mb.case_code == PersonCandidate.case_b))
            .where(PersonCandidate.project_id == project_id, PersonCandidate.id > after,
                   or_(scope.cases_visible_on(caller, ca, consent=False),
                       scope.cases_visible_on(caller, cb, consent=False)),
                   scope.consent_allows(caller, ca), scope.consent_allows(caller, cb),
                   or_(ma.person_key.is_(None), mb.person_key.is_(None), ma.person_key != mb.person_key),
                   ~exists(select(1).where(link.project_id == PersonCandidate.project_id,
                                           link.case_a == PersonCandidate.case_a,
                                           link.case_b == PersonCandidate.case_b, link.superseded_at.is_(None))))
            .order_by(PersonCandidate.id).limit(limit + 1))
        if province:
            query = query.where(or_(ca.province_code == province, cb.province_code == province))
        if min_score is not None:
            query = query.where(PersonCandidate.score >= min_score)
        found = list(session.scalars(query))
        more = len(found) > limit
        found = found[:limit]
        cases, identities, members = _sides(session, project_id, {c for p in found for c in (p.case_a, p.case_b)})
    shown: set[str] = set()
    out = []
    for p in found:
        sides = []
        for code in (p.case_a, p.case_b):
            side, identified = side_json(caller, cases.get(code), identities.get(code), members.get(code), code)
            sides.append(side)
            if identified:
                shown.add(code)
        out.append({"id": p.id, "score": round(p.score, 6), "evidence": p.evidence,
                    "computedAt": p.computed_at.isoformat(), "a": sides[0], "b": sides[1]})
    return out, (str(found[-1].id) if more else None), shown


def person_page(session: Session, project_id: int, caller: Caller, limit: int = 100, cursor: str | None = None):
    """Return (persons of more than one case as JSON, next cursor, cases whose identities were shown).

    A person is listed when the caller sees one of its cases; its other cases are listed redacted.
    Paged by person key (`cursor` is the last key of the previous page).
    """
    if not 1 <= limit <= MAX_PAGE:
        raise PersonError(f"limit must be from 1 to {MAX_PAGE}.")
    c = aliased(Case)
    with scope.acting_as(session, SYSTEM):
        keys_query = (select(PersonMember.person_key).join(c, and_(c.project_id == PersonMember.project_id,
                                                                   c.case_code == PersonMember.case_code))
                      .where(PersonMember.project_id == project_id, scope.cases_visible_on(caller, c))
                      .group_by(PersonMember.person_key).order_by(PersonMember.person_key).limit(limit + 1))
        if cursor:
            keys_query = keys_query.where(PersonMember.person_key > cursor)
        keys = list(session.scalars(keys_query))
        more = len(keys) > limit
        keys = keys[:limit]
        rows = session.execute(select(PersonMember.person_key, PersonMember.case_code).where(
            PersonMember.project_id == project_id, PersonMember.person_key.in_(keys))
            .order_by(PersonMember.person_key, PersonMember.case_code)).all()
        cases, identities, members = _sides(session, project_id, {code for _k, code in rows})
    persons: dict[str, list] = {key: [] for key in keys}
    shown: set[str] = set()
    for key, code in rows:
        case = cases.get(code)
        if case is not None and _consent_hides(caller, case):
            continue
        side, identified = side_json(caller, case, identities.get(code), key, code)
        persons[key].append(side)
        if identified:
            shown.add(code)
    out = [{"personKey": key, "cases": sides} for key, sides in persons.items()]
    return out, (keys[-1] if more else None), shown


# ---------------------------------------------------------------------------------------------- evaluation

#: A field tree carrying the identity tags, for person records that come without a form (a partner's list,
#: the development set): their answers pass through the same tag reading as a case's records.
_RECORD_TAGS = {**{column: tag for column, tag in IDENTITY_TAGS.items()}, "sex": "gender",
                "screening_date": "event_date", "province_code": "scope_province", "district_code": "scope_district"}
RECORD_FIELDS = [{"path": f"/data/{column}", "name": column, "kind": "input", "tags": [tag]}
                 for column, tag in _RECORD_TAGS.items()]


def load_person_records(session: Session, project_id: int, records: list[PersonRecord]) -> int:
    """Write person records into the register as cases of their own (case code = record id) and their
    identities through the same tag reading as real records; commit; return how many were written.

    For evaluation and benchmarks (`benchmarks/matching.py`, the tests): the cases have no records behind them.
    """
    now = utcnow()
    with scope.acting_as(session, SYSTEM):
        begin_write(session)
        for start in range(0, len(records), 1000):
            chunk = records[start:start + 1000]
            session.execute(Case.__table__.insert(), [
                {"project_id": project_id, "case_code": r.record_id, "province_code": r.province_code or None,
                 "district_code": r.district_code or None, "records": 1, "forms": _INTAKE, "updated_at": now}
                for r in chunk])
            ids = dict(session.execute(select(Case.case_code, Case.id).where(
                Case.project_id == project_id, Case.case_code.in_([r.record_id for r in chunk]))).all())
            rows = []
            for r in chunk:
                data = {column: getattr(r, column, None) for column in _RECORD_TAGS}
                values = identity_values([(_INTAKE, RECORD_FIELDS, data, now)])
                rows.append({"case_id": ids[r.record_id], "project_id": project_id, "case_code": r.record_id,
                             "changed_at": now, "built_at": now, **values})
            session.execute(CaseIdentity.__table__.insert(), rows)
        session.commit()
    return len(records)
