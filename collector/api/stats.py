"""Statistics over the case register: counts by dimension, with small cells suppressed."""

from __future__ import annotations

from flask import abort, current_app, jsonify, request

from collector.api.common import api_blueprint, get_project
from collector.api.openapi import Param, takes
from collector.auth import roles_required
from collector.db import get_session
from ingest.access import RIGHTS, ROLES
from ingest.stats.counts import DIMENSIONS, UnknownDimension, as_json
from ingest.stats.service import count_cases

bp = api_blueprint("stats", __name__)

#: Roles who may read statistics (the statistician reads nothing else).
COUNTERS = tuple(r for r in ROLES if "stats" in RIGHTS[r])


@bp.get("/projects/<int:project_id>/stats")
@roles_required(*COUNTERS)
@takes(
    Param("by", f"Comma-separated dimensions to count by: {', '.join(DIMENSIONS)}."),
    *(Param(name, f"Only cases with this {name}.", repeatable=True) for name in DIMENSIONS),
)
def stats(project_id: int):
    """Count the cases the caller may see by `?by=province,year`, filtered by `?<dimension>=value`; each cell
    also counts persons (a person's confirmed cases count once), and `retrafficked` the persons screened
    again after a follow-up (null when below the threshold).

    :raise 422: an unknown dimension, named.  :raise 400: no `by`.  :raise 404: no such project.
    """
    get_project(project_id)
    by = [name for name in request.args.get("by", "").split(",") if name]
    if not by:
        abort(400, f"Say what to count by: ?by= one or more of {', '.join(DIMENSIONS)}.")
    filters = {name: request.args.getlist(name) for name in request.args if name != "by"}
    threshold = int(current_app.config["STATS_THRESHOLD"])
    try:
        table = count_cases(get_session(), project_id, by, filters, threshold)
    except UnknownDimension as exc:
        abort(422, str(exc))
    get_session().commit()
    return jsonify({**as_json(table), "threshold": threshold})
