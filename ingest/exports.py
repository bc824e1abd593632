"""Streamed exports of a form's records: a zip of CSVs shaped like ODK Central's, in constant memory.

The columns come from the union of the field trees of every published version of the form, so a removed
field keeps its column and a new field is empty for older rows: columns never shift from one export to the
next. Records are read in keyset pages of `BATCH` by submission id, each page's rows redacted for the
session's caller, so memory does not grow with the number of records.

A zip written to an unseekable stream holds one entry at a time: the root CSV is written as the pages
arrive, while each repeat's rows go to a `tempfile.SpooledTemporaryFile` (in memory up to `SPOOL_BYTES`,
then an unnamed temporary file that the system removes when it is closed) and are copied into the zip after
the root. One pass over the database, memory bounded by the page and the spool thresholds.
"""
from __future__ import annotations

import csv
import io
import logging
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ingest import scope
from ingest.models import (Device, Form, FormVersion, Submission, SubmissionAttachment, SubmissionRow,
                           SubmissionVersion, User)
from ingest.queries import submissions_of
from ingest.records import iso
from ingest.redaction import hides_identities, redact_rows
from ingest.tags import row_key

logger = logging.getLogger(__name__)

#: Records read per page.
BATCH = 500
#: Bytes of one repeat's CSV kept in memory before it spills to an unnamed temporary file.
SPOOL_BYTES = 1024 * 1024
#: Columns Central adds after the answers of the root table, in its order.
ROOT_SYSTEM = ("KEY", "SubmitterID", "SubmitterName", "AttachmentsPresent", "AttachmentsExpected", "Status",
               "ReviewState", "DeviceID", "Edits", "FormVersion")
_GEO_PARTS = ("Latitude", "Longitude", "Altitude", "Accuracy")


@dataclass
class Table:
    """One CSV of the export: the root (`rel` "") or one repeat (`rel` its path below the root)."""

    rel: str
    name: str
    #: (row key of the answer, header) pairs, in column order; a geopoint spans four headers.
    columns: list[tuple[str, str, bool]]

    def header(self) -> list[str]:
        """Return the CSV header row, system columns included."""
        answers = []
        for _key, head, geo in self.columns:
            answers.extend(f"{head}-{part}" for part in _GEO_PARTS) if geo else answers.append(head)
        if self.rel:
            return answers + ["PARENT_KEY", "KEY"]
        return ["SubmissionDate", *answers, *ROOT_SYSTEM]

    def answers(self, data: dict) -> list[str]:
        """Return a row's answers as CSV cells, in column order."""
        cells = []
        for key, _head, geo in self.columns:
            value = data.get(key)
            if geo:
                parts = value.split() if isinstance(value, str) else []
                cells.extend((parts + [""] * 4)[:4])
            else:
                cells.append(cell(value))
        return cells


def cell(value) -> str:
    """Write an answer as Central's CSV does: select-multiple as space-separated names, nothing for no answer."""
    if value is None:
        return ""
    if isinstance(value, list):
        return " ".join(cell(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


#: Review states a filter may name; `received` is stored as no state, as Central reports it.
REVIEW_STATES = ("received", "hasIssues", "edited", "approved", "rejected")


@dataclass(frozen=True)
class Filters:
    """Which records an export holds, beside the caller's scope: any of the provinces and review states
    named, submitted from `start` (inclusive) until `end` (exclusive)."""

    provinces: tuple[str, ...] = ()
    review_states: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None

    def apply(self, query):
        """Return `query` (on submissions) narrowed to the filters."""
        if self.provinces:
            query = query.where(Submission.province_code.in_(self.provinces))
        if self.review_states:
            named = [s for s in self.review_states if s != "received"]
            condition = Submission.review_state.in_(named)
            if "received" in self.review_states:
                condition = condition | Submission.review_state.is_(None)
            query = query.where(condition)
        if self.start is not None:
            query = query.where(Submission.created_at >= self.start)
        if self.end is not None:
            query = query.where(Submission.created_at < self.end)
        return query


def union_fields(session: Session, form: Form) -> list[dict]:
    """Return every field of every published version of a form, once each, a new field placed after the
    field that precedes it in the version that brought it (so groups stay together and meta stays last)."""
    versions = session.scalars(select(FormVersion.fields).where(FormVersion.form_id == form.id,
                                                                FormVersion.published_at.is_not(None))
                               .order_by(FormVersion.published_at, FormVersion.id))
    order: list[dict] = []
    seen: dict[str, int] = {}
    for fields in versions:
        previous = None
        for field in fields or ():
            if field["path"] not in seen:
                at = seen[previous] + 1 if previous is not None else len(order)
                order.insert(at, field)
                seen = {f["path"]: i for i, f in enumerate(order)}
            previous = field["path"]
    return order


def tables_of(form: Form, fields: list[dict]) -> list[Table]:
    """Return the export's tables, the root first, then each repeat in document order, named as Central
    names the files (`<formId>-<repeat name>.csv`, `~N` when two repeats share a name)."""
    root = Table("", f"{form.xml_form_id}.csv", [])
    tables = {"": root}
    for field in fields:
        rel = "/".join(field["path"].split("/")[2:])
        if field["kind"] == "repeat":
            tables[rel] = Table(rel, field["name"], [])
        elif field["kind"] == "question":
            table_rel, key = row_key(field)
            tables[table_rel].columns.append((key, key.replace("/", "-"), field.get("xml_type") == "geopoint"))
    repeats = [t for t in tables.values() if t.rel]
    for t in repeats:
        twins = [r for r in repeats if r.name == t.name]
        suffix = f"~{twins.index(t) + 1}" if len(twins) > 1 else ""
        t.name = f"{form.xml_form_id}-{t.name}{suffix}.csv"
    return [root, *repeats]


class _Sink:
    """An unseekable file that keeps what the zip writer writes until the generator hands it on."""

    def __init__(self):
        self._chunks: list[bytes] = []

    def write(self, data) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def drain(self) -> bytes:
        data, self._chunks = b"".join(self._chunks), []
        return data


def _page_query(form: Form, filters: Filters, after: int, batch: int):
    """Select one page of records with their current version and what the system columns need."""
    # Every version of a record in scope is in scope: counted on the plain table, correlated to the record.
    versions = SubmissionVersion.__table__.alias("edits")
    edits = (select(func.count(versions.c.id) - 1).where(versions.c.submission_id == Submission.id)
             .correlate(Submission).scalar_subquery())
    return (filters.apply(submissions_of(form)).where(Submission.id > after).limit(batch)
            .join(SubmissionVersion, (SubmissionVersion.submission_id == Submission.id)
                  & SubmissionVersion.current.is_(True))
            .with_only_columns(Submission.id, Submission.instance_id, Submission.created_at, Submission.review_state,
                               Submission.user_id, Submission.device_id, Submission.draft, SubmissionVersion.id,
                               SubmissionVersion.form_version_id, SubmissionVersion.device_ident,
                               SubmissionVersion.version_string, SubmissionVersion.encrypted,
                               SubmissionVersion.plain_xml.is_(None), edits))


def _rows_of(session: Session, version_ids: list[int]) -> dict[int, list[dict]]:
    """Return the stored rows of some versions, by version id, in id order (parents before children)."""
    out: dict[int, list[dict]] = {v: [] for v in version_ids}
    query = (select(SubmissionRow.submission_version_id, SubmissionRow.id, SubmissionRow.parent_id,
                    SubmissionRow.path, SubmissionRow.position, SubmissionRow.data)
             .where(SubmissionRow.submission_version_id.in_(version_ids)).order_by(SubmissionRow.id))
    for version_id, row_id, parent_id, path, position, data in session.execute(query):
        out[version_id].append({"id": row_id, "parent_id": parent_id, "path": path, "position": position,
                                "data": dict(data)})
    return out


def _attachments_of(session: Session, version_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Return (present, expected) file counts by version id."""
    query = (select(SubmissionAttachment.submission_version_id, func.count(SubmissionAttachment.blob_id),
                    func.count(SubmissionAttachment.id))
             .where(SubmissionAttachment.submission_version_id.in_(version_ids))
             .group_by(SubmissionAttachment.submission_version_id))
    return {v: (present, expected) for v, present, expected in session.execute(query)}


def _submitter_names(session: Session, page) -> dict[tuple[str, int], str]:
    users = {r.user_id for r in page if r.user_id is not None}
    devices = {r.device_id for r in page if r.device_id is not None}
    names = {}
    if users:
        names.update({("user", i): n for i, n in session.execute(
            select(User.id, User.display_name).where(User.id.in_(users)))})
    if devices:
        names.update({("device", i): n for i, n in session.execute(
            select(Device.id, Device.display_name).where(Device.id.in_(devices)))})
    return names


def count_records(session: Session, form: Form, filters: Filters = Filters()) -> int:
    """Count the records an export of `form` holds for the session's caller."""
    return session.scalar(filters.apply(submissions_of(form)).with_only_columns(func.count(Submission.id)).order_by(None))


def csv_zip(session: Session, form: Form, filters: Filters = Filters(), *, on_record: Callable[[], None] | None = None,
            batch: int | None = None) -> Iterator[bytes]:
    """Yield a zip of CSVs of a form's records as the session's caller may see them, page by page.

    Closing the generator early (a client that went away) stops the reading and frees the spooled files.
    """
    batch = batch or BATCH
    tables = tables_of(form, union_fields(session, form))
    root, repeats = tables[0], {t.rel: t for t in tables[1:]}
    caller = scope.caller_of(session)
    fields_of: dict[int | None, list] = {None: []}
    sink = _Sink()
    spools = {rel: tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) for rel in repeats}
    written, finished = 0, False
    try:
        writers = {}
        for rel, spool in spools.items():
            text = io.TextIOWrapper(spool, encoding="utf-8", newline="", write_through=True)
            writers[rel] = (text, csv.writer(text))
            writers[rel][1].writerow(repeats[rel].header())
        archive = zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED)
        with archive.open(root.name, "w", force_zip64=True) as entry:
            root_text = io.TextIOWrapper(entry, encoding="utf-8", newline="")
            root_csv = csv.writer(root_text)
            root_csv.writerow(root.header())
            after = 0
            while True:
                page = session.execute(_page_query(form, filters, after, batch)).all()
                if not page:
                    break
                after = page[-1][0]
                version_ids = [r[7] for r in page]
                rows_by_version = _rows_of(session, version_ids)
                files = _attachments_of(session, version_ids)
                names = _submitter_names(session, page)
                for record in page:
                    _write_record(session, record, rows_by_version[record[7]], files, names, root, root_csv,
                                  repeats, writers, fields_of, caller)
                    written += 1
                    if on_record is not None:
                        on_record()
                root_text.flush()
                yield sink.drain()
            root_text.flush()
            root_text.detach()
        for rel, table in repeats.items():
            writers[rel][0].flush()
            spool = spools[rel]
            spool.seek(0)
            with archive.open(table.name, "w", force_zip64=True) as entry:
                while chunk := spool.read(64 * 1024):
                    entry.write(chunk)
                    yield sink.drain()
        archive.close()
        finished = True
        yield sink.drain()
    finally:
        for spool in spools.values():
            spool.close()
        if not finished:
            logger.info("Export of form %s stopped after %d record(s): the client went away", form.xml_form_id,
                        written)


def _write_record(session, record, rows, files, names, root, root_csv, repeats, writers, fields_of, caller):
    """Write one record's root row, and spool its repeat rows."""
    (_sid, instance_id, created_at, review_state, user_id, device_id, draft, version_id, form_version_id,
     device_ident, version_string, encrypted, no_plain, edits) = record
    if form_version_id not in fields_of:
        fields_of[form_version_id] = session.scalar(select(FormVersion.fields)
                                                    .where(FormVersion.id == form_version_id)) or []
    if hides_identities(caller, draft):
        redact_rows(rows, fields_of[form_version_id])
    sealed = bool(encrypted) and no_plain
    top = next((r for r in rows if r["parent_id"] is None), None)
    keys = {}
    if top is not None:
        keys[top["id"]] = instance_id
    submitter = ("user", user_id) if user_id is not None else ("device", device_id)
    present, expected = files.get(version_id, (0, 0))
    root_csv.writerow([iso(created_at), *root.answers(top["data"] if top else {}), instance_id,
                       submitter[1] if submitter[1] is not None else "", names.get(submitter, ""), present, expected,
                       "not decrypted" if sealed else "", review_state or "", device_ident or "", edits,
                       version_string])
    root_path = top["path"] if top else ""
    paths = {r["id"]: r["path"] for r in rows}
    for row in rows:
        if row["parent_id"] is None or row["parent_id"] not in keys:
            continue
        parent_key = keys[row["parent_id"]]
        keys[row["id"]] = f"{parent_key}/{row['path'][len(paths[row['parent_id']]) + 1:]}[{row['position']}]"
        rel = row["path"][len(root_path) + 1:]
        if rel in repeats:
            writers[rel][1].writerow([*repeats[rel].answers(row["data"]), parent_key, keys[row["id"]]])
