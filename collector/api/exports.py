"""Exports over the JSON API: a form's records streamed as a zip of CSVs shaped like ODK Central's, an Excel
workbook, or GeoJSON, each scoped and redacted for the caller and audited once."""

from __future__ import annotations

import time

from flask import Response, abort, request, stream_with_context

from collector.api.common import READERS, api_blueprint, get_form, record_filters
from collector.api.openapi import RECORD_FILTERS, Param, takes
from collector.auth import current_actor, roles_required
from collector.db import get_session, get_store
from collector.ops import counters
from ingest import scope
from ingest.exports.formats import FORMATS
from ingest.exports.service import export_records
from ingest.publishing.choices import LANGUAGES

bp = api_blueprint("exports", __name__)


def _lang() -> str | None:
    """Read ?lang= (choice labels in that language instead of names).

    :raise 400: a language the forms do not carry.
    """
    lang = request.args.get("lang")
    if lang is not None and lang not in LANGUAGES:
        abort(400, f"?lang= must be one of {', '.join(LANGUAGES)}.")
    return lang


def _flag(name: str) -> bool:
    """Read a true/false query parameter, false when absent.

    :raise 400: anything else.
    """
    value = request.args.get(name, "false").lower()
    if value not in ("true", "false"):
        abort(400, f"?{name}= must be true or false.")
    return value == "true"


#: The query parameters of the exports beside the record filters (for the OpenAPI document).
LANG = Param("lang", "lo or en: choice labels in that language instead of choice names.")
ATTACHMENTS = Param("attachments", "true: add the records' files you may download as media/<name>.", "boolean")
RAW = Param(
    "raw",
    "true: write text answers exactly as received, without the quote put before a text cell that "
    "starts with =, +, -, @, a tab or a carriage return (a spreadsheet would run it as a formula).",
    "boolean",
)
GEOPOINT = Param("geopoint", "Keep this geopoint question (its path, grp/location, or CSV header, grp-location).")


def _stream(
    project_id: int,
    xml_form_id: str,
    fmt: str,
    *,
    lang: str | None = None,
    attachments: bool = False,
    raw: bool = False,
    geopoint: str | None = None,
) -> Response:
    """Check the filters, audit the export once, and stream it from a session of its own.

    :raise 400: a malformed parameter.  :raise 403: a `?q=` term on a sensitive field, for a redacted role.
    :raise 404: no such form.  :raise 422: a `?q=` term on a field the form never had.
    """
    form = get_form(project_id, xml_form_id)
    filters = record_filters(form)
    session = get_session()
    name = form.xml_form_id
    try:
        _count, chunks = export_records(
            session,
            fmt,
            form,
            filters,
            lang=lang,
            store=get_store(),
            attachments=attachments,
            raw=raw,
            geopoint=geopoint,
        )
    except LookupError:
        abort(400, "?geopoint= must name a geopoint question of the form, such as location or grp/location.")
    session.commit()
    caller = current_actor().caller

    def stream():
        # The view's session is closed when the view returns; the stream reads in its own, for the same
        # caller, closed by the app context's teardown when the stream ends or the client goes away.
        reader = get_session()
        scope.use(reader, caller)
        started = time.perf_counter()
        yield from chunks(reader)
        # Only an export streamed to its end is timed: a client that went away measured nothing.
        counters.export_finished(fmt, time.perf_counter() - started)

    spec = FORMATS[fmt]
    return Response(
        stream_with_context(stream()),
        mimetype=spec.mimetype,
        headers={"Content-Disposition": f'attachment; filename="{name}{spec.suffix}"'},
    )


@bp.get("/projects/<int:project_id>/forms/<xml_form_id>/submissions.csv.zip")
@roles_required(*READERS)
@takes(*RECORD_FILTERS, LANG, ATTACHMENTS, RAW)
def submissions_csv_zip(project_id: int, xml_form_id: str):
    """Stream a form's records as a zip of CSVs (root and one per repeat), scoped and redacted for the caller.

    The filters of every listing of records (collector.api.common.record_filters); `?lang=` writes choice
    labels; `?attachments=true` adds the records' files the caller may download as `media/<name>`; `?raw=true`
    leaves text that would start a spreadsheet formula as it was received (ingest.csv_safe).

    :raise 400: a malformed parameter.  :raise 403: a `?q=` term on a sensitive field, for a redacted role.
    :raise 404: no such form.  :raise 422: a `?q=` term on a field the form never had.
    """
    return _stream(project_id, xml_form_id, "csv", lang=_lang(), attachments=_flag("attachments"), raw=_flag("raw"))


@bp.get("/projects/<int:project_id>/forms/<xml_form_id>/submissions.xlsx")
@roles_required(*READERS)
@takes(*RECORD_FILTERS, LANG)
def submissions_xlsx(project_id: int, xml_form_id: str):
    """Stream a form's records as an Excel workbook, one sheet per table of the CSV zip, scoped and redacted.

    Filters and `?lang=` as for the CSV zip.

    :raise 400: a malformed parameter.  :raise 403: a `?q=` term on a sensitive field, for a redacted role.
    :raise 404: no such form.  :raise 422: a `?q=` term on a field the form never had.
    """
    return _stream(project_id, xml_form_id, "xlsx", lang=_lang())


@bp.get("/projects/<int:project_id>/forms/<xml_form_id>/submissions.geojson")
@roles_required(*READERS)
@takes(*RECORD_FILTERS, GEOPOINT)
def submissions_geojson(project_id: int, xml_form_id: str):
    """Stream a form's geopoint answers as a GeoJSON FeatureCollection, one Point per record and answer.

    Filters as for the CSV zip; `?geopoint=` keeps one question. Features carry keys, not answers.

    :raise 400: a malformed parameter, or a geopoint that is no question of the form.  :raise 403: a `?q=`
        term on a sensitive field, for a redacted role.  :raise 404: no such form.  :raise 422: a `?q=` term
        on a field the form never had.
    """
    return _stream(project_id, xml_form_id, "geojson", geopoint=request.args.get("geopoint"))
