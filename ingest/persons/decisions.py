"""Persons across cases (issue 10): the matcher over the register's case identities, officers' decisions on
candidate pairs, and persons as connected components of confirmed links.

No Flask: the CLI, workers and tests call it. Matching runs in batch (`collector persons match`), never on
the write path. Case identities are built in ingest.persons.identities; pages of pairs and persons are read for a
caller in ingest.persons.reads, which shares this module's errors and its reach checks (`sees`, `consent_hides`).
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from ingest import audit, scope
from ingest.access import SYSTEM, Caller
from ingest.db import begin_write, utcnow
from ingest.models import Case, Project
from ingest.person_models import CaseIdentity, PersonCandidate, PersonLink, PersonMatchRun, PersonMember
from ingest.persons.identities import person_record, sync_identities
from ingest.persons.matching.linkage import DEFAULT_THRESHOLD, score_records

logger = logging.getLogger(__name__)

CONFIRMED, REJECTED = "confirmed", "rejected"
DECISIONS = {"confirm": CONFIRMED, "reject": REJECTED}
#: The audit action of each decision (ingest.audit.ACTIONS).
_AUDITED = {"confirm": "person.confirm", "reject": "person.reject"}


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
    return {
        (a, b): state
        for a, b, state in session.execute(
            select(PersonLink.case_a, PersonLink.case_b, PersonLink.state).where(
                PersonLink.project_id == project_id, PersonLink.superseded_at.is_(None)
            )
        )
    }


def _members(session: Session, project_id: int) -> dict[str, str]:
    return dict(
        session.execute(
            select(PersonMember.case_code, PersonMember.person_key).where(PersonMember.project_id == project_id)
        ).all()
    )


def match(
    session: Session, project_id: int, incremental: bool = True, threshold: float = DEFAULT_THRESHOLD
) -> MatchSummary:
    """Run the matcher over the project's case identities and store the candidate pairs; commit.

    Incremental (the default once a run exists): pairs are stored or dropped only where a side changed since
    the previous run, so unchanged pairs keep their place; a new case is compared with every case, those of
    confirmed persons included. Full: every pending pair is recomputed. Pairs already decided (confirmed or
    rejected) and pairs of cases already in one person are never proposed. Cases without any name are
    skipped and counted. The model is estimated from all named cases each run (see ingest.persons.matching.linkage).
    """
    with scope.acting_as(session, SYSTEM):
        sync_identities(session, project_id)
        session.commit()
        last = session.scalars(
            select(PersonMatchRun)
            .where(PersonMatchRun.project_id == project_id, PersonMatchRun.finished_at.is_not(None))
            .order_by(PersonMatchRun.id.desc())
            .limit(1)
        ).first()
        full = not incremental or last is None
        started = utcnow()
        identities = list(session.scalars(select(CaseIdentity).where(CaseIdentity.project_id == project_id)))
        named = [i for i in identities if i.has_name]
        skipped = len(identities) - len(named)
        if full or last is None:  # `full` already holds when there is no last run; said again for the checker
            changed = {i.case_code for i in named}
        else:
            changed = set(
                session.scalars(
                    select(CaseIdentity.case_code).where(
                        CaseIdentity.project_id == project_id,
                        CaseIdentity.has_name.is_(True),
                        CaseIdentity.changed_at >= last.started_at,
                    )
                )
            )
        pairs = []
        if changed:
            records = [person_record(i) for i in named]
            pairs = [
                p
                for p in score_records(records, threshold)
                if full or p.record_id_a in changed or p.record_id_b in changed
            ]
        begin_write(session)
        # One run's write at a time per project (runs of several processes may overlap), and never in the
        # middle of an officer's decision.
        session.execute(select(Project.id).where(Project.id == project_id).with_for_update())
        decided = _current_links(session, project_id)
        members = _members(session, project_id)
        wanted = {}
        for p in pairs:
            key = (p.record_id_a, p.record_id_b)
            same = members.get(key[0]) is not None and members.get(key[0]) == members.get(key[1])
            if key not in decided and not same:
                wanted[key] = p
        pending = {
            (a, b): pid
            for pid, a, b in session.execute(
                select(PersonCandidate.id, PersonCandidate.case_a, PersonCandidate.case_b).where(
                    PersonCandidate.project_id == project_id
                )
            )
        }
        gone = [
            pid
            for key, pid in pending.items()
            if key not in wanted and (full or key[0] in changed or key[1] in changed)
        ]
        for start in range(0, len(gone), 500):
            session.execute(delete(PersonCandidate).where(PersonCandidate.id.in_(gone[start : start + 500])))
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
            session.execute(update(PersonCandidate), updates[start : start + 5000])
        for start in range(0, len(inserts), 5000):
            session.execute(insert(PersonCandidate), inserts[start : start + 5000])
        session.add(
            PersonMatchRun(
                project_id=project_id,
                started_at=started,
                finished_at=utcnow(),
                full=full,
                cases=len(identities),
                skipped=skipped,
                changed=len(changed),
                pairs=len(wanted),
            )
        )
        session.commit()
    logger.info(
        "person match of project %s: %d cases, %d without a name, %d changed, %d pairs stored",
        project_id,
        len(identities),
        skipped,
        len(changed),
        len(wanted),
    )
    return MatchSummary(
        cases=len(identities), skipped_without_name=skipped, changed=len(changed), pairs=len(wanted), full=full
    )


def export_pairs(session: Session, project_id: int, path, min_score: float = 0.0) -> int:
    """Write the pending candidate pairs and confirmed links as ``record_id_a,record_id_b`` rows (case codes)
    for the development set's scorer; return how many were written."""
    with scope.acting_as(session, SYSTEM):
        pairs: set[tuple[str, str]] = {
            (a, b)
            for a, b in session.execute(
                select(PersonCandidate.case_a, PersonCandidate.case_b).where(
                    PersonCandidate.project_id == project_id, PersonCandidate.score >= min_score
                )
            )
        }
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
        session.execute(
            delete(PersonMember).where(PersonMember.project_id == project_id, PersonMember.case_code.in_(gone))
        )
    for code, key in wanted.items():
        if code not in have:
            session.add(PersonMember(project_id=project_id, case_code=code, person_key=key))
        elif have[code] != key:
            session.execute(
                update(PersonMember)
                .where(PersonMember.project_id == project_id, PersonMember.case_code == code)
                .values(person_key=key)
            )
    session.flush()
    return wanted


def sees(caller: Caller, case: Case) -> bool:
    """Say whether a case is in the caller's reach (records right, provinces)."""
    if scope.sees_everything(caller):
        return True
    return caller.may("records") and (caller.provinces is None or case.province_code in caller.provinces)


def consent_hides(caller: Caller, case: Case) -> bool:
    """Say whether a case refused sharing and the caller may not see such cases (then the pair is not shown)."""
    return case.consent_sharing is False and not caller.may("withheld")


def decide(
    session: Session, project_id: int, a: str, b: str, decision: str, caller: Caller, address: str | None = None
) -> PersonLink:
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
        cases = {
            c.case_code: c
            for c in session.scalars(select(Case).where(Case.project_id == project_id, Case.case_code.in_((a, b))))
        }
        missing = [code for code in (a, b) if code not in cases]
        if missing:
            raise CaseNotFound(f"There is no case {missing[0]!r} in this project.")
        if not any(sees(caller, c) for c in cases.values()) or any(consent_hides(caller, c) for c in cases.values()):
            raise CaseNotFound("There is no such pair of cases that you may see.")
        current = session.scalars(
            select(PersonLink).where(
                PersonLink.project_id == project_id,
                PersonLink.case_a == a,
                PersonLink.case_b == b,
                PersonLink.superseded_at.is_(None),
            )
        ).first()
        if current is not None and current.state == state:
            return current
        score = session.scalar(
            select(PersonCandidate.score).where(
                PersonCandidate.project_id == project_id, PersonCandidate.case_a == a, PersonCandidate.case_b == b
            )
        )
        now = utcnow()
        if current is not None:
            current.superseded_at = now
            session.flush()
        link = PersonLink(
            project_id=project_id, case_a=a, case_b=b, state=state, user_id=caller.user_id, decided_at=now, score=score
        )
        session.add(link)
        session.flush()
        persons = recompute_persons(session, project_id)
        _check(session, project_id, persons, a, b, state)
        session.execute(
            delete(PersonCandidate).where(
                PersonCandidate.project_id == project_id, PersonCandidate.case_a == a, PersonCandidate.case_b == b
            )
        )
        audit.record(
            session,
            _AUDITED[decision],
            f"project:{project_id}/persons/{a}/{b}",
            user_id=caller.user_id,
            address=address,
            reversal=current is not None,
            person=persons.get(a),
        )
    return link


def person_key_of(session: Session, project_id: int, case_code: str) -> str:
    """Return the key of the person a case belongs to (its own code when it is a person of its own)."""
    with scope.acting_as(session, SYSTEM):
        key = session.scalar(
            select(PersonMember.person_key).where(
                PersonMember.project_id == project_id, PersonMember.case_code == case_code
            )
        )
    return key or case_code


def _check(session: Session, project_id: int, persons: dict[str, str], a: str, b: str, state: str) -> None:
    """:raise LinkConflict: a current rejection lies inside one person after the decision."""
    for (x, y), other in _current_links(session, project_id).items():
        if other == REJECTED and persons.get(x) is not None and persons.get(x) == persons.get(y):
            if (x, y) == (a, b):
                raise LinkConflict(
                    f"{a} and {b} are still one person through other confirmed links; "
                    "reject the link that joins them wrongly."
                )
            raise LinkConflict(f"Confirming would make {x} and {y} one person, and that pair was rejected.")
