"""Which provinces a case belongs to, and so which records may join it (issue 16: one province rule).

A case belongs to the province where it was opened (the province its code starts with, else that of its first
identifying record, as placed by ingest.tags.place_record) and to every home province one of its own identifying
records names (the province owed a hand-off, ingest.cases.tasks). A record joins the case its code names only when
it was placed in one of those provinces; any other record is kept, in its own province, but changes nothing of that
case: not its register row, not its hand-off task, not its identity for the matcher. Such a record is flagged
(`submissions.foreign_case`) for a supervisor of its province to check.

The register, the tasks and the identities all read a case's records through `case_records`, on receipt, in
`collector ingest replay` and in `collector tasks sync` alike, so the rule is the same everywhere. It depends
only on the stored records (in arrival order, by submission id), so rebuilding twice gives the same answer.
"""

from __future__ import annotations

import re

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from forms import province_names
from ingest.models import Form, Submission
from ingest.normalise import Row
from ingest.queries import fields_for, live_roots
from ingest.tags import root_answer

#: Form ID of the follow-up form: it never says where the person lives, so it names no home province.
FOLLOWUP_FORM = "followup"
_DISTRICT = re.compile(r"\A[0-9]{4}\Z")
#: The ministry's case code: the province of the screening, a dash, 8 hex digits (any case).
_CODE = re.compile(r"\A([0-9]{2})-[0-9a-fA-F]{8}\Z")


def province_codes() -> set[str]:
    """Return the codes of the Lao provinces (01 to 18)."""
    return set(province_names())


def home_of(data: dict, fields: list[dict], provinces: set[str]) -> tuple[str | None, str | None]:
    """Return (home province, home district) a record answers, by their tags; (None, None) if it says nothing."""
    rows = [Row(path="", position=1, parent=None, data=data)]
    province = root_answer(rows, fields, "home_province")
    district = root_answer(rows, fields, "home_district")
    province = province.strip() if isinstance(province, str) and province.strip() in provinces else None
    district = district.strip() if isinstance(district, str) and _DISTRICT.match(district.strip()) else None
    if province is None and district is not None and district[:2] in provinces:
        province = district[:2]
    if district is not None and district[:2] != province:
        district = None  # a district of another province than the one answered: keep the province only
    return province, district


def origin_of(code: str, records, provinces: set[str]) -> str | None:
    """Return the province where a case was opened: the one its code starts with when the code has the
    ministry's shape (`PP-xxxxxxxx`, PP the province of the screening: forms/xlsforms/README.md), else the
    province of its first identifying record (not a follow-up) placed in one, else of its first record."""
    match = _CODE.match(code)
    if match and match.group(1) in provinces:
        return match.group(1)
    placed = [r for r in records if r[4] is not None]
    first = next((r for r in placed if r[2] != FOLLOWUP_FORM), placed[0] if placed else None)
    return first[4] if first else None


def split_members(session: Session, roots, fields_of: dict) -> tuple[list, set[int]]:
    """Split some cases' records (rows of ingest.queries.live_roots) into those that join their case, in
    arrival order, and the ids of those that do not.

    A case's provinces start with its origin (`origin_of`). Its identifying records, in arrival order, join
    when placed in one of them, and a joined one that names a home province adds it; then its follow-ups
    join when placed in one of them, so the home province's follow-ups join whenever they arrived. The
    answer depends on the set of records, not on who sent first: a device that learns another province's
    case code can neither join that case nor claim the code before it. A record placed in no province joins:
    only a national sender's record is left unplaced (a scoped sender's is always placed in its province).
    """
    provinces = province_codes()
    by_code: dict[str, list] = {}
    for root in sorted(roots, key=lambda r: r[1]):
        by_code.setdefault(root[0], []).append(root)
    joined: list = []
    outside: set[int] = set()
    for code, records in by_code.items():
        origin = origin_of(code, records, provinces)
        mine = {origin} if origin else set()
        identifying = [r for r in records if r[2] != FOLLOWUP_FORM]
        for _code, submission_id, _form, _created, province, version_id, data in identifying:
            if province is not None and province not in mine:
                outside.add(submission_id)
                continue
            home, _district = home_of(data or {}, fields_for(session, fields_of, version_id), provinces)
            if home:
                mine.add(home)
        outside.update(r[1] for r in records if r[2] == FOLLOWUP_FORM and r[4] is not None and r[4] not in mine)
        joined.extend(r for r in records if r[1] not in outside)
    return joined, outside


def case_records(session: Session, project_id: int, codes: list[str], fields_of: dict) -> tuple[list, set[int]]:
    """Read the live records of some cases and split them by `split_members`: (joined rows, ids kept outside)."""
    return split_members(session, session.execute(live_roots(project_id, codes)).all(), fields_of)


def flag_outsiders(session: Session, project_id: int, codes: list[str], outside: set[int]) -> None:
    """Store which records of some cases are kept outside them (`submissions.foreign_case`), writing only
    what changed; a flagged record that no longer carries a case code (an edit removed it) is cleared too."""
    if outside:
        session.execute(
            update(Submission)
            .where(Submission.id.in_(sorted(outside)), Submission.foreign_case.is_(False))
            .values(foreign_case=True)
            .execution_options(synchronize_session=False)
        )
    in_project = select(Form.id).where(Form.project_id == project_id).scalar_subquery()
    session.execute(
        update(Submission)
        .where(
            Submission.foreign_case.is_(True),
            Submission.id.not_in(sorted(outside)),
            or_(Submission.case_code.is_(None), Submission.case_code.in_(codes) & Submission.form_id.in_(in_project)),
        )
        .values(foreign_case=False)
        .execution_options(synchronize_session=False)
    )
