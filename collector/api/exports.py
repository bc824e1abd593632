"""Exports over the JSON API: a form's records as a streamed zip of CSVs, shaped like ODK Central's."""
from __future__ import annotations

from flask import Response, abort, request, stream_with_context

from collector.api.common import READERS, api_blueprint, get_form
from collector.auth import audit_request, current_actor, roles_required
from collector.db import get_session
from ingest import scope
from ingest.audit import parse_moment
from ingest.exports import REVIEW_STATES, Filters, count_records, csv_zip
from ingest.models import Form

bp = api_blueprint("exports", __name__)


def _filters() -> Filters:
    """Read ?province= and ?reviewState= (each repeatable), ?start= and ?end= (ISO 8601; a bare end date
    includes its day).

    :raise 400: an unknown review state, or a date that is not ISO 8601.
    """
    states = tuple(request.args.getlist("reviewState"))
    unknown = [s for s in states if s not in REVIEW_STATES]
    if unknown:
        abort(400, f"?reviewState= must be one of {', '.join(REVIEW_STATES)}; got {unknown[0]!r}.")
    moments = {}
    for name in ("start", "end"):
        text = request.args.get(name)
        try:
            moments[name] = parse_moment(text, end=name == "end") if text else None
        except ValueError:
            abort(400, f"?{name}= must be an ISO 8601 date or moment, such as 2026-12-01 or 2026-12-01T08:00Z.")
    return Filters(tuple(request.args.getlist("province")), states, moments["start"], moments["end"])


@bp.get("/projects/<int:project_id>/forms/<xml_form_id>/submissions.csv.zip")
@roles_required(*READERS)
def submissions_csv_zip(project_id: int, xml_form_id: str):
    """Stream a form's records as a zip of CSVs (root and one per repeat), scoped and redacted for the caller.

    Filters: see `_filters`. Audited once, before the first byte leaves: a download cut short has still been
    recorded.

    :raise 400: a malformed filter.  :raise 404: no such form.
    """
    form = get_form(project_id, xml_form_id)
    filters = _filters()
    session = get_session()
    audit_request("submission.export", f"form:{form.xml_form_id}", count=count_records(session, form, filters),
                  format="csv")
    session.commit()
    caller, form_id, name = current_actor().caller, form.id, form.xml_form_id

    def stream():
        # The view's session is closed when the view returns; the stream reads in its own, for the same
        # caller, closed by the app context's teardown when the stream ends or the client goes away.
        reader = get_session()
        scope.use(reader, caller)
        yield from csv_zip(reader, reader.get(Form, form_id), filters)

    return Response(stream_with_context(stream()), mimetype="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv.zip"'})
