"""Statistics for the API and the CLI: suppressed counts and the CTDC data set of the cases the caller may
count, each read audited once."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ingest import audit, scope
from ingest.stats.counts import Table, case_table
from ingest.stats.ctdc import Anonymised, export


def count_cases(
    session: Session, project_id: int, by: list[str], filters: dict[str, list[str]], threshold: int
) -> Table:
    """Count the caller's cases of a project by `by`, small cells suppressed; audited (`stats.read`).

    :raise UnknownDimension: a dimension that is not one, named (before anything is audited).
    """
    scope.require_caller(session)
    table = case_table(session, project_id, list(by), filters, threshold)
    audit.record(session, "stats.read", f"project:{project_id}", by=list(by), filters=sorted(filters))
    return table


def export_ctdc(session: Session, project_id: int, k: int) -> Anonymised:
    """Return the caller's cases as CTDC rows, k-anonymised; audited (`ctdc.export`) with what was suppressed."""
    scope.require_caller(session)
    result = export(session, project_id, k)
    audit.record(
        session,
        "ctdc.export",
        f"project:{project_id}",
        rows=len(result.rows),
        cells_blanked=result.blanked,
        rows_dropped=result.dropped,
        threshold=k,
    )
    return result
