"""Exports of a form's records for the API and the CLI: scoped, redacted for the caller and audited once."""
from __future__ import annotations

from collections.abc import Callable, Iterator

from sqlalchemy.orm import Session

from ingest import audit, scope
from ingest.exports.formats import export
from ingest.exports.walk import Filters, count_records
from ingest.models import Form
from ingest.redaction import redaction_for


def export_records(session: Session, fmt: str, form: Form, filters: Filters = Filters(), *,
                   lang: str | None = None, store=None, attachments: bool = False, geopoint: str | None = None,
                   on_record: Callable[[], None] | None = None) -> tuple[int, Iterator[bytes]]:
    """Return how many records an export of `form` in `fmt` holds for the caller, and its stream, redacted
    for the caller; audited (`submission.export`) once, before the first byte, so that a download cut short
    has still been recorded. Commit the session before consuming the stream.

    :raise LookupError: `geopoint` names no geopoint question of the form (before anything is audited).
    """
    redaction = redaction_for(scope.require_caller(session))
    chunks = export(session, fmt, form, filters, redaction=redaction, lang=lang, store=store,
                    attachments=attachments, geopoint=geopoint, on_record=on_record)
    count = count_records(session, form, filters)
    options = {k: v for k, v in (("lang", lang), ("attachments", attachments or None), ("geopoint", geopoint))
               if v is not None}
    audit.record(session, "submission.export", f"form:{form.xml_form_id}", count=count, format=fmt, **options)
    return count, chunks
