"""Case hand-off over the JSON API: follow-up tasks owed by a person's home province (issue 10)."""

from __future__ import annotations

from flask import abort, jsonify, request

from collector.api.common import api_blueprint, get_project
from collector.api.openapi import Param, takes
from collector.auth import roles_required
from collector.db import get_session
from ingest.cases.service import list_tasks
from ingest.cases.tasks import MAX_PAGE, STATUSES, TASK_READERS, BadTaskQuery

bp = api_blueprint("tasks", __name__)


@bp.get("/projects/<int:project_id>/tasks")
@roles_required(*TASK_READERS)
@takes(
    Param("status", f"Only tasks in this state: {' or '.join(STATUSES)}."),
    Param("province", "Only tasks owed by this home province (two digits; any of those named).", repeatable=True),
    Param("limit", f"Tasks per page, 1 to {MAX_PAGE} (default 100).", "integer"),
    Param("cursor", "The nextCursor of the previous page."),
)
def tasks(project_id: int):
    """List the follow-up tasks the caller may see, oldest first: `?status=open`, `?province=05`, `?limit=`
    (default 100) and `?cursor=` from the last page's `nextCursor` (audited).

    A task holds the case code and what is known of the case without names; a provincial officer sees the
    tasks their provinces owe.

    :raise 400: a bad status, province, limit or cursor.  :raise 403: a role without access to tasks.
    :raise 404: no such project.
    """
    get_project(project_id)
    limit = request.args.get("limit", "100")
    if not limit.isascii() or not limit.isdigit():
        abort(400, "limit must be a whole number.")
    provinces = request.args.getlist("province")
    try:
        page, cursor = list_tasks(
            get_session(),
            project_id,
            status=request.args.get("status"),
            provinces=provinces,
            limit=int(limit),
            cursor=request.args.get("cursor"),
        )
    except BadTaskQuery as exc:
        abort(400, str(exc))
    get_session().commit()
    return jsonify({"tasks": page, "nextCursor": cursor})
