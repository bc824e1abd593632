"""Candidate pairs and persons as a caller may see them (issue 10): pages of pairs and of persons, each case
described with its identity shown or redacted.

Scope: every read here runs as the server (`scope.acting_as(SYSTEM)`) and applies the caller's visibility
explicitly on both sides of a pair (`scope.cases_visible_on`), because a pair is shown when *one* side is in
the caller's scope while the other side is shown redacted.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session, aliased

from ingest import scope
from ingest.access import SYSTEM, Caller
from ingest.models import Case
from ingest.person_models import CaseIdentity, PersonCandidate, PersonLink, PersonMember
from ingest.persons.decisions import PersonError, consent_hides, sees

#: Identity columns that identify a person (their fields are tagged sensitive): redacted where not allowed.
IDENTIFYING = (
    "given_lo",
    "family_lo",
    "given_latin",
    "family_latin",
    "birth_date",
    "birth_year",
    "home_village",
    "phone",
)
_JSON_NAMES = {
    "given_lo": "givenLo",
    "family_lo": "familyLo",
    "given_latin": "givenLatin",
    "family_latin": "familyLatin",
    "birth_date": "birthDate",
    "birth_year": "birthYear",
    "home_province": "homeProvince",
    "home_district": "homeDistrict",
    "home_village": "homeVillage",
    "phone": "phone",
}
#: Most pairs or persons a page holds.
MAX_PAGE = 1000


def side_json(
    caller: Caller, case: Case | None, identity: CaseIdentity | None, person_key: str | None, code: str
) -> tuple[dict, bool]:
    """Describe one case of a pair or person for `caller`; return it and whether identities were shown.

    Identifying fields are shown only to roles with the identities right, and only for cases in their
    provinces; otherwise they are null and listed in `redacted`.
    """
    show = caller.may("identities") and case is not None and sees(caller, case)
    out: dict[str, object] = {
        "caseCode": code,
        "province": case.province_code if case else None,
        "district": case.district_code if case else None,
        "personKey": person_key or code,
        "inScope": bool(case is not None and sees(caller, case)),
        "sex": identity.sex if identity else None,
        "homeProvince": identity.home_province if identity else None,
        "homeDistrict": identity.home_district if identity else None,
    }
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
    cases = {
        c.case_code: c
        for c in session.scalars(select(Case).where(Case.project_id == project_id, Case.case_code.in_(sorted(codes))))
    }
    identities = {
        i.case_code: i
        for i in session.scalars(
            select(CaseIdentity).where(CaseIdentity.project_id == project_id, CaseIdentity.case_code.in_(sorted(codes)))
        )
    }
    members = dict(
        session.execute(
            select(PersonMember.case_code, PersonMember.person_key).where(
                PersonMember.project_id == project_id, PersonMember.case_code.in_(sorted(codes))
            )
        ).all()
    )
    return cases, identities, members


def _cursor(cursor: str | None) -> int:
    if cursor and not (cursor.isascii() and cursor.isdigit() and int(cursor) < 2**31):
        raise PersonError("The cursor is not one this server gave; start again without it.")
    return int(cursor) if cursor else 0


def _best_cursor(cursor: str | None) -> tuple[float, int] | None:
    """Read a cursor of the best-first order: `<score>_<pair id>` of the last pair of the previous page."""
    if not cursor:
        return None
    score, _sep, pair_id = cursor.partition("_")
    try:
        value = float(score)
    except ValueError:
        value = -1.0
    if not (0.0 <= value <= 1.0 and pair_id.isascii() and pair_id.isdigit() and int(pair_id) < 2**31):
        raise PersonError("The cursor is not one this server gave; start again without it.")
    return value, int(pair_id)


def candidate_page(
    session: Session,
    project_id: int,
    caller: Caller,
    province: str | None = None,
    min_score: float | None = None,
    limit: int = 100,
    cursor: str | None = None,
    *,
    best_first: bool = False,
    pair_id: int | None = None,
):
    """Return (pairs as JSON, next cursor, cases whose identities were shown) for `caller`, by pair id (with
    `best_first`: highest score first, then by pair id; `pair_id`: that pair only, if the caller may see it).

    A pair is listed when the caller sees at least one side (a provincial officer: one side in their
    provinces) and neither side refused sharing unless the caller sees such cases; `province` keeps pairs
    with a side in that province, `min_score` pairs scoring at least that.

    :raise PersonError: a bad limit or cursor.
    """
    if not 1 <= limit <= MAX_PAGE:
        raise PersonError(f"limit must be from 1 to {MAX_PAGE}.")
    best = _best_cursor(cursor) if best_first else None
    after = 0 if best_first else _cursor(cursor)
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
            .where(
                PersonCandidate.project_id == project_id,
                PersonCandidate.id > after,
                or_(
                    scope.cases_visible_on(caller, ca, consent=False), scope.cases_visible_on(caller, cb, consent=False)
                ),
                scope.consent_allows(caller, ca),
                scope.consent_allows(caller, cb),
                or_(ma.person_key.is_(None), mb.person_key.is_(None), ma.person_key != mb.person_key),
                ~exists(
                    select(1).where(
                        link.project_id == PersonCandidate.project_id,
                        link.case_a == PersonCandidate.case_a,
                        link.case_b == PersonCandidate.case_b,
                        link.superseded_at.is_(None),
                    )
                ),
            )
            .order_by(*((PersonCandidate.score.desc(),) if best_first else ()), PersonCandidate.id)
            .limit(limit + 1)
        )
        if best is not None:
            score, last = best
            query = query.where(
                or_(PersonCandidate.score < score, and_(PersonCandidate.score == score, PersonCandidate.id > last))
            )
        if pair_id is not None:
            query = query.where(PersonCandidate.id == pair_id)
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
        out.append(
            {
                "id": p.id,
                "score": round(p.score, 6),
                "evidence": p.evidence,
                "computedAt": p.computed_at.isoformat(),
                "a": sides[0],
                "b": sides[1],
            }
        )
    if not more:
        return out, None, shown
    return out, (f"{found[-1].score!r}_{found[-1].id}" if best_first else str(found[-1].id)), shown


def person_page(session: Session, project_id: int, caller: Caller, limit: int = 100, cursor: str | None = None):
    """Return (persons of more than one case as JSON, next cursor, cases whose identities were shown).

    A person is listed when the caller sees one of its cases; its other cases are listed redacted.
    Paged by person key (`cursor` is the last key of the previous page).
    """
    if not 1 <= limit <= MAX_PAGE:
        raise PersonError(f"limit must be from 1 to {MAX_PAGE}.")
    c = aliased(Case)
    with scope.acting_as(session, SYSTEM):
        keys_query = (
            select(PersonMember.person_key)
            .join(c, and_(c.project_id == PersonMember.project_id, c.case_code == PersonMember.case_code))
            .where(PersonMember.project_id == project_id, scope.cases_visible_on(caller, c))
            .group_by(PersonMember.person_key)
            .order_by(PersonMember.person_key)
            .limit(limit + 1)
        )
        if cursor:
            keys_query = keys_query.where(PersonMember.person_key > cursor)
        keys = list(session.scalars(keys_query))
        more = len(keys) > limit
        keys = keys[:limit]
        rows = session.execute(
            select(PersonMember.person_key, PersonMember.case_code)
            .where(PersonMember.project_id == project_id, PersonMember.person_key.in_(keys))
            .order_by(PersonMember.person_key, PersonMember.case_code)
        ).all()
        cases, identities, members = _sides(session, project_id, {code for _k, code in rows})
    persons: dict[str, list] = {key: [] for key in keys}
    shown: set[str] = set()
    for key, code in rows:
        case = cases.get(code)
        if case is not None and consent_hides(caller, case):
            continue
        side, identified = side_json(caller, case, identities.get(code), key, code)
        persons[key].append(side)
        if identified:
            shown.add(code)
    out = [{"personKey": key, "cases": sides} for key, sides in persons.items()]
    return out, (keys[-1] if more else None), shown
