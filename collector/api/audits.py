"""The audit log over the JSON API, in ODK Central's shape (`GET /v1/audits`), for administrators only."""

from __future__ import annotations

from datetime import UTC

from flask import abort, jsonify, request

from collector.api.common import api_blueprint
from collector.api.openapi import Param, takes
from collector.auth import roles_required
from collector.db import get_session
from ingest.audit import MAX_LIMIT, parse_moment, read_events
from ingest.models import AuditEvent
from ingest.records.describe import iso

bp = api_blueprint("audits", __name__)

#: Events one request returns when it names no ?limit=.
DEFAULT_LIMIT = 500


def audit_json(event: AuditEvent) -> dict:
    """Describe an event as Central does (actorId, action, acteeId, details, loggedAt), with our additions.

    `acteeId` is the resource the action touched (`submission:12`, `form:case_intake`); `deviceId` names
    the tablet when a device acted; `address` is where the request came from ("cli" for the command line).
    """
    return {
        "actorId": event.user_id,
        "deviceId": event.device_id,
        "action": event.action,
        "acteeId": event.resource,
        "resource": event.resource,
        "address": event.address,
        "details": event.details or {},
        # SQLite gives stored moments back without their zone; they are UTC.
        "loggedAt": iso(event.at if event.at.tzinfo else event.at.replace(tzinfo=UTC)),
    }


def _number(name: str, default: int, maximum: int) -> int:
    """:raise 400: the query parameter is not a whole number between 0 and `maximum`."""
    text = request.args.get(name)
    if text is None:
        return default
    if not text.isdigit() or int(text) > maximum:
        abort(400, f"?{name}= must be a whole number from 0 to {maximum}.")
    return int(text)


def _moment(name: str, *, end: bool = False):
    """:raise 400: the query parameter is not an ISO 8601 date or moment."""
    text = request.args.get(name)
    if not text:
        return None
    try:
        return parse_moment(text, end=end)
    except ValueError:
        abort(400, f"?{name}= must be an ISO 8601 date or moment, such as 2026-12-01 or 2026-12-01T08:00Z.")


@bp.get("/audits")
@roles_required("admin")
@takes(
    Param("action", "An action (submission.read) or a category (submission)."),
    Param("start", "Events at or after this ISO 8601 date or moment."),
    Param("end", "Events before this moment; a bare date includes its day."),
    Param("limit", "Events per page.", "integer"),
    Param("offset", "Events to skip.", "integer"),
)
def audits():
    """List audit events, newest first, as Central does; filter by ?action= (an action or a category such as
    `session`), ?start= and ?end= (ISO 8601; a bare end date includes that day), ?limit= and ?offset=.
    Reading the audit is itself audited (`audit.read`).

    :raise 400: a malformed ?start=, ?end=, ?limit= or ?offset=.  :raise 403: not an administrator.
    """
    start, end = _moment("start"), _moment("end", end=True)
    limit, offset = _number("limit", DEFAULT_LIMIT, MAX_LIMIT), _number("offset", 0, 10**9)
    action = request.args.get("action") or None
    session = get_session()
    # The filters, not the events: what an administrator looked for is worth a trace, and holds no data.
    asked = {"actionFilter": action, "start": iso(start), "end": iso(end), "limit": limit, "offset": offset}
    rows = [
        audit_json(e)
        for e in read_events(session, asked, since=start, until=end, action=action, limit=limit, offset=offset)
    ]
    session.commit()
    return jsonify(rows)
