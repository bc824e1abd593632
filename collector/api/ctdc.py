"""The case register as CTDC's global data set: a k-anonymised CSV of the cases the caller may count."""

from __future__ import annotations

from flask import Response, abort, current_app, request

from collector.api.common import api_blueprint, get_project
from collector.api.openapi import Param, takes
from collector.auth import roles_required
from collector.db import get_session
from ingest.access import RIGHTS, ROLES
from ingest.stats.ctdc import csv_bytes
from ingest.stats.service import export_ctdc

bp = api_blueprint("ctdc", __name__)

#: Roles who may read statistics, and so this export (the same right as `collector export-ctdc`).
COUNTERS = tuple(r for r in ROLES if "stats" in RIGHTS[r])


@bp.get("/projects/<int:project_id>/ctdc.csv")
@roles_required(*COUNTERS)
@takes(
    Param(
        "threshold",
        "k: each published combination is shared by at least this many cases (at least STATS_THRESHOLD, the default).",
        "integer",
    ),
    Param(
        "bom", "true: start the CSV with the UTF-8 byte order mark, for Excel on Windows (off by default).", "boolean"
    ),
)
def ctdc_csv(project_id: int):
    """Return the caller's cases in CTDC's variables, each combination shared by at least `?threshold=` cases.

    `?bom=true` starts the CSV with the UTF-8 byte order mark (for Excel on Windows).

    :raise 400: a threshold that is not a whole number, or below STATS_THRESHOLD, or a `?bom=` that is not
        true or false.  :raise 404: no such project.
    """
    get_project(project_id)
    floor = int(current_app.config["STATS_THRESHOLD"])
    given = request.args.get("threshold", "")
    if given and not (given.isascii() and given.isdigit() and len(given) < 7):
        abort(400, "threshold must be a whole number.")
    bom = request.args.get("bom", "false").lower()
    if bom not in ("true", "false"):
        abort(400, "?bom= must be true or false.")
    k = int(given) if given else floor
    if k < floor:
        abort(400, f"threshold may not be below STATS_THRESHOLD ({floor}).")
    result = export_ctdc(get_session(), project_id, k)
    get_session().commit()
    # The counts tell a client what was suppressed without a second request; they name no case.
    return Response(
        csv_bytes(result.rows, bom=bom == "true"),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="ctdc-project-{project_id}.csv"',
            "X-Suppressed-Cells": str(result.blanked),
            "X-Suppressed-Rows": str(result.dropped),
            "X-Threshold": str(k),
        },
    )
