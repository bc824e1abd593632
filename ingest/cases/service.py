"""The case register and hand-off tasks for the API, the CLI and Collect: pages the caller may see, audited."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ingest import audit, scope
from ingest.cases.register import case_json, case_page
from ingest.cases.tasks import task_json, task_page


def list_cases(
    session: Session, project_id: int, args: dict[str, list[str]], limit: int = 100, cursor: str | None = None
) -> tuple[list[dict], str | None]:
    """Return a page of the caller's cases, oldest first, and the next cursor; audited (`case.list`).

    :raise UnknownCaseFilter: an unknown filter.  :raise BadCaseQuery: a bad limit, cursor or year.
    """
    scope.require_caller(session)
    page, after = case_page(session, project_id, args, limit, cursor)
    audit.record(session, "case.list", f"project:{project_id}", count=len(page), filters=sorted(args))
    return [case_json(c) for c in page], after


def list_tasks(
    session: Session,
    project_id: int,
    *,
    status: str | None = None,
    provinces=(),
    limit: int = 100,
    cursor: str | None = None,
    pages: bool = False,
) -> tuple[list[dict], str | None]:
    """Return a page of the caller's hand-off tasks, oldest first, and the next cursor (with `pages`: every
    task, page after page, and None); audited once (`task.list`).

    :raise BadTaskQuery: a bad status, province, limit or cursor.
    """
    scope.require_caller(session)
    tasks: list[dict] = []
    while True:
        page, cursor = task_page(session, project_id, status=status, provinces=provinces, limit=limit, cursor=cursor)
        tasks.extend(task_json(task, closed_by) for task, closed_by in page)
        if not pages or cursor is None:
            break
    audit.record(
        session, "task.list", f"project:{project_id}", count=len(tasks), status=status, provinces=sorted(set(provinces))
    )
    return tasks, cursor


def note_task_media(session: Session, project_id: int, name: str, count: int) -> None:
    """Audit (`task.media`) that the caller (a device) fetched its list of tasks as a media file."""
    scope.require_caller(session)
    audit.record(session, "task.media", f"project:{project_id}", file=name, count=count)
