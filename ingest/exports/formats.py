"""The export formats by name, for the API and the CLI: what writes each, its media type and file suffix."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy.orm import Session

from ingest.exports.csv_zip import csv_zip
from ingest.exports.geojson import geojson
from ingest.exports.walk import Filters
from ingest.exports.xlsx import xlsx
from ingest.models import Form
from ingest.redaction import Redaction


@dataclass(frozen=True)
class ExportFormat:
    """How one format is sent: its media type and the suffix of its file name."""

    mimetype: str
    suffix: str


FORMATS = {
    "csv": ExportFormat("application/zip", ".csv.zip"),
    "xlsx": ExportFormat("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx"),
    "geojson": ExportFormat("application/geo+json", ".geojson"),
}


def export(
    session: Session,
    fmt: str,
    form: Form,
    filters: Filters = Filters(),
    *,
    redaction: Redaction,
    lang: str | None = None,
    store=None,
    attachments: bool = False,
    geopoint: str | None = None,
    raw: bool = False,
    bom: bool = False,
    on_record: Callable[[], None] | None = None,
) -> Iterator[bytes]:
    """Return the stream of one export of a form in `fmt`, in the session's scope, redacted as `redaction`
    says (ingest.exports.service decides it for the caller and audits).

    `store` is the media store (choice lists from files, records' files); `attachments` adds the records'
    files to a CSV zip; `raw` writes a CSV's text cells without neutralising spreadsheet formulas
    (`ingest.csv_safe`); `bom` starts each CSV with the UTF-8 byte order mark (for Excel on Windows);
    `geopoint` picks a GeoJSON's question.

    :raise LookupError: `geopoint` names no geopoint question of the form.
    """
    if fmt == "csv":
        return csv_zip(
            session,
            form,
            filters,
            lang=lang,
            store=store,
            attachments=attachments,
            on_record=on_record,
            redaction=redaction,
            raw=raw,
            bom=bom,
        )
    if fmt == "xlsx":
        return xlsx(session, form, filters, lang=lang, store=store, on_record=on_record, redaction=redaction)
    return geojson(session, form, filters, geopoint=geopoint, on_record=on_record, redaction=redaction)
