"""Persons across cases for the API and the CLI: candidate pairs and persons as the caller may see them, and
the pairs written out for the matcher's scorer, each read audited once."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ingest import audit, scope
from ingest.persons.decisions import CaseNotFound, export_pairs
from ingest.persons.reads import candidate_page, person_page


def list_candidates(
    session: Session,
    project_id: int,
    province: str | None = None,
    min_score: float | None = None,
    limit: int = 100,
    cursor: str | None = None,
    filters=None,
    *,
    best_first: bool = False,
) -> tuple[list[dict], str | None]:
    """Return a page of candidate pairs for the caller (a side it may not see redacted) and the next cursor,
    by pair id or (`best_first`) highest score first; audited (`person.candidates`) with the cases whose
    identities were shown and the filters named.

    :raise PersonError: a bad limit, cursor or score.
    """
    caller = scope.require_caller(session)
    page, after, shown = candidate_page(
        session, project_id, caller, province, min_score, limit, cursor, best_first=best_first
    )
    details: dict[str, Any] = {"filters": sorted(filters)} if filters is not None else {}
    audit.record(
        session, "person.candidates", f"project:{project_id}", count=len(page), identities=sorted(shown), **details
    )
    return page, after


def show_candidate(session: Session, project_id: int, pair_id: int, *, shown_to_caller: bool = True) -> dict | None:
    """Return one pending candidate pair as `list_candidates` describes it, or None when there is no such
    pair or the caller may not see it (decided pairs leave the queue); audited (`person.candidates`) when
    it is shown to the caller (not when only its case codes are read to act on it).
    """
    caller = scope.require_caller(session)
    page, _after, shown = candidate_page(session, project_id, caller, limit=1, pair_id=pair_id)
    if shown_to_caller:
        audit.record(
            session,
            "person.candidates",
            f"project:{project_id}",
            count=len(page),
            identities=sorted(shown),
            pair=pair_id,
        )
    return page[0] if page else None


def note_unsure(session: Session, project_id: int, pair_id: int) -> dict:
    """Record (`person.unsure`) that the caller looked at a pending pair and could not decide; the pair stays
    in the queue for another officer. Return the pair. Only a caller who may decide it may say so.

    :raise CaseNotFound: no such pending pair that the caller sees.
    """
    caller = scope.require_caller(session)
    page, _after, _shown = candidate_page(session, project_id, caller, limit=1, pair_id=pair_id)
    if not page or not (caller.may("records") and caller.may("identities")):
        raise CaseNotFound("There is no such pair of cases that you may see.")
    pair = page[0]
    audit.record(
        session,
        "person.unsure",
        f"project:{project_id}/persons/{pair['a']['caseCode']}/{pair['b']['caseCode']}",
        score=pair["score"],
    )
    return pair


def list_persons(
    session: Session, project_id: int, limit: int = 100, cursor: str | None = None
) -> tuple[list[dict], str | None]:
    """Return a page of the persons of more than one case that the caller sees, redacted as the pairs are, and
    the next cursor; audited (`person.list`).

    :raise PersonError: a bad limit or cursor.
    """
    caller = scope.require_caller(session)
    page, after, shown = person_page(session, project_id, caller, limit, cursor)
    audit.record(session, "person.list", f"project:{project_id}", count=len(page), identities=sorted(shown))
    return page, after


def write_pairs(session: Session, project_id: int, path, min_score: float = 0.0) -> int:
    """Write the pending and confirmed pairs (case codes only) to `path` for the scorer; audited
    (`person.export`) with the count. The caller must see every case (the server, an administrator).

    :raise PermissionError: a caller who does not see every case.
    """
    caller = scope.require_caller(session)
    if not scope.sees_everything(caller):
        raise PermissionError("only the server or an administrator writes every pair")
    count = export_pairs(session, project_id, path, min_score)
    audit.record(session, "person.export", f"project:{project_id}", count=count)
    return count
