"""Persons across cases for the API and the CLI: candidate pairs and persons as the caller may see them, and
the pairs written out for the matcher's scorer, each read audited once."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ingest import audit, scope
from ingest.persons.decisions import export_pairs
from ingest.persons.reads import candidate_page, person_page


def list_candidates(
    session: Session,
    project_id: int,
    province: str | None = None,
    min_score: float | None = None,
    limit: int = 100,
    cursor: str | None = None,
    filters=None,
) -> tuple[list[dict], str | None]:
    """Return a page of candidate pairs for the caller (a side it may not see redacted) and the next cursor;
    audited (`person.candidates`) with the cases whose identities were shown and the filters named.

    :raise PersonError: a bad limit, cursor or score.
    """
    caller = scope.require_caller(session)
    page, after, shown = candidate_page(session, project_id, caller, province, min_score, limit, cursor)
    details: dict[str, Any] = {"filters": sorted(filters)} if filters is not None else {}
    audit.record(
        session, "person.candidates", f"project:{project_id}", count=len(page), identities=sorted(shown), **details
    )
    return page, after


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
