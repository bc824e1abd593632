"""The case register over the JSON API: a filtered, paged list of cases (scoped like records)."""

from __future__ import annotations

from flask import abort, jsonify, request

from collector.api.common import READERS, api_blueprint, get_project
from collector.api.openapi import Param, takes
from collector.auth import roles_required
from collector.db import get_session
from ingest.cases.register import FILTERS, LIST_FILTERS, MAX_PAGE, BadCaseQuery, UnknownCaseFilter
from ingest.cases.service import list_cases

bp = api_blueprint("cases", __name__)


@bp.get("/projects/<int:project_id>/cases")
@roles_required(*READERS)
@takes(
    *(
        Param(name, f"Only cases with this {name} (any of those named).", repeatable=True)
        for name in (*FILTERS, *LIST_FILTERS)
    ),
    Param("year", "Only cases first recorded in this year.", "integer", repeatable=True),
    Param("limit", f"Cases per page, 1 to {MAX_PAGE} (default 100).", "integer"),
    Param("cursor", "The nextCursor of the previous page."),
)
def cases(project_id: int):
    """List the cases the caller may see, oldest first: `?limit=` (default 100), `?cursor=` from the last
    page's `nextCursor`, and filters such as `?province=05&gender=Female&year=2026` (audited).

    :raise 422: an unknown filter, named.  :raise 400: a bad limit, cursor or year.  :raise 404: no such project.
    """
    get_project(project_id)
    args = {name: request.args.getlist(name) for name in request.args if name not in ("limit", "cursor")}
    limit = request.args.get("limit", "100")
    if not limit.isascii() or not limit.isdigit():
        abort(400, "limit must be a whole number.")
    try:
        page, cursor = list_cases(get_session(), project_id, args, int(limit), request.args.get("cursor"))
    except UnknownCaseFilter as exc:
        abort(422, str(exc))
    except BadCaseQuery as exc:
        abort(400, str(exc))
    get_session().commit()
    return jsonify({"cases": page, "nextCursor": cursor})
