"""Exports of a form's records for the API and the CLI: scoped, redacted for the caller and audited once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy.orm import Session

from ingest import audit, scope
from ingest.exports.formats import export
from ingest.exports.geojson import pick_geopoint
from ingest.exports.walk import Filters, count_records, tables_of, union_fields
from ingest.models import Form
from ingest.redaction import redaction_for


def export_records(
    session: Session,
    fmt: str,
    form: Form,
    filters: Filters = Filters(),
    *,
    lang: str | None = None,
    store=None,
    attachments: bool = False,
    raw: bool = False,
    bom: bool = False,
    geopoint: str | None = None,
    on_record: Callable[[], None] | None = None,
) -> tuple[int, Callable[[Session | None], Iterator[bytes]]]:
    """Return how many records an export of `form` in `fmt` holds for the caller, and a function that returns
    its stream, redacted for the caller; audited (`submission.export`) once, before the first byte, so that a
    download cut short has still been recorded. Commit the session before reading the stream.

    The stream reads in `session`, or in the session handed to the function (a streamed response reads in a
    session of its own), which must read for the same caller.

    :raise LookupError: `geopoint` names no geopoint question of the form (before anything is audited).
    """
    caller = scope.require_caller(session)
    redaction = redaction_for(caller)
    if geopoint is not None:
        pick_geopoint(tables_of(form, union_fields(session, form)), geopoint)
    count = count_records(session, form, filters)
    options: dict[str, Any] = {
        k: v
        for k, v in (
            ("lang", lang),
            ("attachments", attachments or None),
            ("raw", raw or None),
            ("bom", bom or None),
            ("geopoint", geopoint),
        )
        if v is not None
    }
    audit.record(session, "submission.export", f"form:{form.xml_form_id}", count=count, format=fmt, **options)
    form_id = form.id

    def stream(reader: Session | None = None) -> Iterator[bytes]:
        reader = session if reader is None else reader
        if scope.require_caller(reader) != caller:
            raise scope.ScopeMissing("the export is read for another caller than the one audited")
        return export(
            reader,
            fmt,
            reader.get_one(Form, form_id),
            filters,
            redaction=redaction,
            lang=lang,
            store=store,
            attachments=attachments,
            raw=raw,
            bom=bom,
            geopoint=geopoint,
            on_record=on_record,
        )

    return count, stream
