"""Export downloads streamed over HTTP, shared by the JSON API (collector.api.exports) and the web console."""

from __future__ import annotations

import time

from flask import Response, stream_with_context

from collector.db import get_session, get_store
from collector.ops import counters
from ingest import scope
from ingest.exports.formats import FORMATS
from ingest.exports.service import export_records
from ingest.exports.walk import Filters
from ingest.models import Form


def export_response(form: Form, fmt: str, filters: Filters, **options) -> Response:
    """Audit an export of `form` in `fmt` once (ingest.exports.service), then stream it from a session of its
    own, read for the request's caller; `options` are export_records' (lang, attachments, raw, bom, geopoint).

    :raise LookupError: `geopoint` names no geopoint question of the form (nothing audited).
    """
    session = get_session()
    _count, chunks = export_records(session, fmt, form, filters, store=get_store(), **options)
    session.commit()
    caller = scope.require_caller(session)

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
        headers={"Content-Disposition": f'attachment; filename="{form.xml_form_id}{spec.suffix}"'},
    )
