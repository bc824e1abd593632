"""Streamed zip of CSVs shaped like ODK Central's, from the shared record walk, with the records' files if asked.

A zip written to an unseekable stream holds one entry at a time: the root CSV is written as the pages
arrive, while each repeat's rows go to a `tempfile.SpooledTemporaryFile` (in memory up to `SPOOL_BYTES`,
then an unnamed temporary file that the system removes when it is closed) and are copied into the zip after
the root, followed by the records' files when they are asked for, each read from the media store a chunk at
a time. One pass over the database, memory bounded by the page and the spool thresholds.
"""

from __future__ import annotations

import io
import json
import logging
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterator

from sqlalchemy.orm import Session

from ingest.csv_safe import Writer, neutralise
from ingest.exports.walk import Filters, NumberText, RecordWalk, cell, logged_stop
from ingest.models import Form
from ingest.redaction import Redaction

logger = logging.getLogger(__name__)

#: Bytes of one repeat's CSV kept in memory before it spills to an unnamed temporary file.
SPOOL_BYTES = 1024 * 1024
#: Bytes of a media file copied into the zip at a time.
FILE_CHUNK = 1024 * 1024


class _Sink:
    """An unseekable file that keeps what the zip writer writes until the generator hands it on."""

    def __init__(self):
        self._chunks: list[bytes] = []

    def write(self, data) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass  # the zip writer never closes a file it was given; here for its protocol

    def drain(self) -> bytes:
        data, self._chunks = b"".join(self._chunks), []
        return data


def _is_number(value) -> bool:
    """Say whether a cell holds a number: an answer typed as one (int, decimal) or a geopoint part that parses."""
    if isinstance(value, NumberText):
        try:
            float(value)
        except ValueError:
            return False
        return True
    return isinstance(value, (int, float))


def csv_cell(value, raw: bool = False) -> str:
    """Write a cell as `cell` does, text that would start a spreadsheet formula neutralised unless `raw`."""
    text = cell(value)
    return text if raw or _is_number(value) else neutralise(text)


_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]")


def _media_name(name: str, key: str, taken: dict[str, str], sha256: str) -> str | None:
    """Return the zip entry of a file, `media/<name>` as Central writes it, or None when that entry holds
    the same bytes already. The name comes from a tablet, so it is reduced to one safe path part; another
    file of the same name goes below its record's key."""
    safe = _UNSAFE.sub("_", name.replace("\\", "/").rsplit("/", 1)[-1]).strip(". ") or "file"
    entry = f"media/{safe}"
    if taken.get(entry, sha256) != sha256:
        entry = f"media/{_UNSAFE.sub('_', key)}/{safe}"
    if entry in taken:
        return None
    taken[entry] = sha256
    return entry


def csv_zip(
    session: Session,
    form: Form,
    filters: Filters = Filters(),
    *,
    on_record: Callable[[], None] | None = None,
    batch: int | None = None,
    lang: str | None = None,
    store=None,
    attachments: bool = False,
    redaction: Redaction,
    raw: bool = False,
    bom: bool = False,
) -> Iterator[bytes]:
    """Yield a zip of CSVs of a form's records in the session's scope, redacted as `redaction` says, page by page.

    With `attachments`, the received files of the records that the caller may download follow the CSVs as
    `media/<name>`, read from the media `store` a chunk at a time (the store also gives the labels of choice
    lists from files). Closing the generator early (a client that went away) stops the reading and frees the
    spooled files. Text cells that would start a spreadsheet formula get a quote in front
    (`ingest.csv_safe`), unless `raw`. With `bom`, every CSV starts with the UTF-8 byte order mark, so that
    Excel on Windows reads it as UTF-8 (Ona's `win_excel_utf8`).
    """
    walk = RecordWalk(
        session,
        form,
        filters,
        redaction=redaction,
        lang=lang,
        files=attachments,
        store=store,
        batch=batch,
        on_record=on_record,
    )
    root, repeats = walk.root, walk.repeats
    sink = _Sink()
    spools = {rel: tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) for rel in repeats}  # noqa: SIM115 (closed below)
    # The files to add after the CSVs, one JSON line each, spooled like the repeats.
    media = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (closed below)
    taken: dict[str, str] = {}
    # "utf-8-sig" writes the byte order mark (ingest.csv_safe.BOM) once, before the first text of each CSV.
    encoding = "utf-8-sig" if bom else "utf-8"
    try:
        with logged_stop(walk, "csv"):
            writers = {}
            for rel, spool in spools.items():
                text = io.TextIOWrapper(spool, encoding=encoding, newline="", write_through=True)
                writers[rel] = (text, Writer(text))
                writers[rel][1].writerow(repeats[rel].header())
            archive = zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED)
            with archive.open(root.name, "w", force_zip64=True) as entry:
                root_text = io.TextIOWrapper(entry, encoding=encoding, newline="")
                root_csv = Writer(root_text)
                root_csv.writerow(root.header())
                for page in walk.pages():
                    for record in page:
                        root_csv.writerow([csv_cell(v, raw) for v in record.root])
                        for table, cells in record.repeats:
                            writers[table.rel][1].writerow([csv_cell(v, raw) for v in cells])
                        for name, sha256 in record.files:
                            entry_name = _media_name(name, record.key, taken, sha256)
                            if entry_name is not None:
                                media.write(json.dumps([entry_name, sha256]).encode() + b"\n")
                    root_text.flush()
                    yield sink.drain()
                root_text.flush()
                root_text.detach()
            taken.clear()
            for rel, table in repeats.items():
                writers[rel][0].flush()
                spool = spools[rel]
                spool.seek(0)
                with archive.open(table.name, "w", force_zip64=True) as entry:
                    while chunk := spool.read(64 * 1024):
                        entry.write(chunk)
                        yield sink.drain()
            media.seek(0)
            for line in media:
                entry_name, sha256 = json.loads(line)
                try:
                    source = store.open(sha256)
                except FileNotFoundError:
                    logger.warning(
                        "Export of form %s: blob %s is missing from the media store; left out",
                        form.xml_form_id,
                        sha256[:12],
                    )
                    continue
                with source, archive.open(entry_name, "w", force_zip64=True) as entry:
                    while chunk := source.read(FILE_CHUNK):
                        entry.write(chunk)
                        yield sink.drain()
            archive.close()
            yield sink.drain()
    finally:
        media.close()
        for spool in spools.values():
            spool.close()
