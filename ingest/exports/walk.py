"""Streamed exports of a form's records, in constant memory: the tables and the record walk every format shares.

The columns come from the union of the field trees of every published version of the form, so a removed
field keeps its column and a new field is empty for older rows: columns never shift from one export to the
next. `RecordWalk` reads records in keyset pages of `BATCH` by submission id, each page's rows redacted as
the read service decided for the caller, and hands each writer (`ingest.exports.csv_zip`, `ingest.exports.xlsx`,
`ingest.exports.geojson`) the same cells, keys and system columns, so memory does not grow with the number
of records.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ingest.exports.pages import attachments_of, files_of, rows_of, submitter_names
from ingest.models import (
    Form,
    FormVersion,
    Submission,
    SubmissionVersion,
)
from ingest.publishing.choices import version_choice_labels

# Filters and REVIEW_STATES are the read layer's, named here too for the exports' callers.
from ingest.queries import REVIEW_STATES, Filters, submissions_of  # noqa: F401
from ingest.records.describe import iso
from ingest.redaction import Redaction, redact_rows, sensitive_files
from ingest.tags import row_key

logger = logging.getLogger(__name__)

#: Records read per page.
BATCH = 500
#: Columns Central adds after the answers of the root table, in its order.
ROOT_SYSTEM = (
    "KEY",
    "SubmitterID",
    "SubmitterName",
    "AttachmentsPresent",
    "AttachmentsExpected",
    "Status",
    "ReviewState",
    "DeviceID",
    "Edits",
    "FormVersion",
)
_GEO_PARTS = ("Latitude", "Longitude", "Altitude", "Accuracy")


class NumberText(str):
    """A part of a geopoint: kept as the tablet wrote it in CSV, written as a number where cells are typed."""


#: The XForm types whose answers typed writers (Excel) write as dates and times.
DATE_TYPES = ("date", "dateTime", "time")


class DateText(str):
    """A date, date-time or time answer (`kind`, one of DATE_TYPES): kept as written in CSV, written as a date
    where cells are typed."""

    kind: str

    def __new__(cls, text: str, kind: str) -> DateText:
        made = super().__new__(cls, text)
        made.kind = kind
        return made


@dataclass
class Table:
    """One CSV of the export: the root (`rel` "") or one repeat (`rel` its path below the root)."""

    rel: str
    name: str
    #: (row key of the answer, header, XForm type) in column order; a geopoint spans four headers.
    columns: list[tuple[str, str, str | None]]

    def header(self) -> list[str]:
        """Return the CSV header row, system columns included."""
        answers: list[str] = []
        for _key, head, xml_type in self.columns:
            if xml_type == "geopoint":
                answers.extend(f"{head}-{part}" for part in _GEO_PARTS)
            else:
                answers.append(head)
        if self.rel:
            return answers + ["PARENT_KEY", "KEY"]
        return ["SubmissionDate", *answers, *ROOT_SYSTEM]

    def answers(self, data: dict, labels: dict[tuple[str, str], dict[str, str]] | None = None) -> list:
        """Return a row's answers as typed cells in column order: numbers, text, or None for no answer.

        With `labels` ({(table, key): {name: label}}) the names of choices become their labels.
        """
        cells: list[object] = []
        for key, _head, xml_type in self.columns:
            value = data.get(key)
            if xml_type == "geopoint":
                parts = [NumberText(p) for p in value.split()] if isinstance(value, str) else []
                cells.extend((parts + [None] * 4)[:4])
                continue
            if xml_type in DATE_TYPES and isinstance(value, str) and value:
                cells.append(DateText(value, xml_type))
                continue
            names = labels.get((self.rel, key)) if labels else None
            if names and value is not None:
                value = [names.get(v, v) for v in value] if isinstance(value, list) else names.get(value, value)
            cells.append(" ".join(cell(v) for v in value) if isinstance(value, list) else value)
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


def union_fields(session: Session, form: Form) -> list[dict]:
    """Return every field of every published version of a form, once each, a new field placed after the
    field that precedes it in the version that brought it (so groups stay together and meta stays last)."""
    versions = session.scalars(
        select(FormVersion.fields)
        .where(FormVersion.form_id == form.id, FormVersion.published_at.is_not(None))
        .order_by(FormVersion.published_at, FormVersion.id)
    )
    order: list[dict] = []
    seen: dict[str, int] = {}
    for fields in versions:
        previous = None
        for item in fields or ():
            if item["path"] not in seen:
                at = seen[previous] + 1 if previous is not None else len(order)
                order.insert(at, item)
                seen = {f["path"]: i for i, f in enumerate(order)}
            previous = item["path"]
    return order


def tables_of(form: Form, fields: list[dict]) -> list[Table]:
    """Return the export's tables, the root first, then each repeat in document order, named as Central
    names the files (`<formId>-<repeat name>.csv`, `~N` when two repeats share a name)."""
    root = Table("", f"{form.xml_form_id}.csv", [])
    tables = {"": root}
    for item in fields:
        rel = "/".join(item["path"].split("/")[2:])
        if item["kind"] == "repeat":
            tables[rel] = Table(rel, item["name"], [])
        elif item["kind"] == "question":
            table_rel, key = row_key(item)
            tables[table_rel].columns.append((key, key.replace("/", "-"), item.get("xml_type")))
    repeats = [t for t in tables.values() if t.rel]
    for t in repeats:
        twins = [r for r in repeats if r.name == t.name]
        suffix = f"~{twins.index(t) + 1}" if len(twins) > 1 else ""
        t.name = f"{form.xml_form_id}-{t.name}{suffix}.csv"
    return [root, *repeats]


def count_records(session: Session, form: Form, filters: Filters = Filters()) -> int:
    """Count the records an export of `form` holds for the session's caller."""
    return session.execute(
        filters.apply(submissions_of(form)).with_only_columns(func.count(Submission.id)).order_by(None)
    ).scalar_one()


@dataclass
class Record:
    """One record as the caller may see it, ready for any writer."""

    #: the record's KEY (its first instanceID) and submission date (ISO 8601).
    key: str
    submitted: str
    review_state: str | None
    #: the root table's row, typed cells in header order, system columns included.
    root: list
    #: each repeat row as (table, cells in header order, PARENT_KEY and KEY included), in document order.
    repeats: list[tuple[Table, list]]
    #: the stored rows, redacted, each with its table (`rel`) and its `key`.
    rows: list[dict]
    #: (name, sha256) of the received files the caller may download, when the walk was asked for them.
    files: list[tuple[str, str]] = field(default_factory=list)


class RecordWalk:
    """Read a form's records in the session's scope, page by page, as rows of the export's tables, redacted
    as `redaction` says (ingest.exports.service decides it for the caller).

    `lang` writes choice labels in that language instead of names (lists from a media file need the media
    `store`); `files` lists each record's files the caller may download. `written` counts the records handed
    out so far.
    """

    def __init__(
        self,
        session: Session,
        form: Form,
        filters: Filters = Filters(),
        *,
        redaction: Redaction,
        lang: str | None = None,
        files: bool = False,
        store=None,
        batch: int | None = None,
        on_record: Callable[[], None] | None = None,
    ):
        self.session, self.form, self.filters = session, form, filters
        self.lang, self.files, self.store = lang, files, store
        self.batch = batch or BATCH
        self.on_record = on_record
        self.fields = union_fields(session, form)
        self.tables = tables_of(form, self.fields)
        self.root, self.repeats = self.tables[0], {t.rel: t for t in self.tables[1:]}
        self.redaction = redaction
        self.written = 0
        # Per form version, for this export only: its field tree, and its choice labels in `lang`.
        self._fields_of: dict[int | None, list] = {None: []}
        self._labels_of: dict[int | None, dict] = {None: {}}

    def pages(self) -> Iterator[list[Record]]:
        """Yield the records, a page of up to `batch` at a time, in submission order."""
        after = 0
        while True:
            page = self.session.execute(_page_query(self.form, self.filters, after, self.batch)).all()
            if not page:
                return
            after = page[-1][0]
            version_ids = [r[7] for r in page]
            rows_by_version = rows_of(self.session, version_ids)
            counts = attachments_of(self.session, version_ids)
            received = files_of(self.session, version_ids) if self.files else {}
            names = submitter_names(self.session, page)
            records = []
            for record in page:
                records.append(self._record(record, rows_by_version[record[7]], counts, received, names))
                self.written += 1
                if self.on_record is not None:
                    self.on_record()
            yield records

    def _version_fields(self, form_version_id: int | None) -> list:
        if form_version_id not in self._fields_of:
            self._fields_of[form_version_id] = (
                self.session.scalar(select(FormVersion.fields).where(FormVersion.id == form_version_id)) or []
            )
        return self._fields_of[form_version_id]

    def _labels(self, form_version_id: int | None) -> dict[tuple[str, str], dict[str, str]]:
        """Return the choice labels of a form version in `lang`, by (table, key) of the question."""
        if form_version_id not in self._labels_of:
            by_path = version_choice_labels(self.session, self.store, form_version_id, self.lang) if self.lang else {}
            self._labels_of[form_version_id] = {
                row_key(f): by_path[f["path"]] for f in self._version_fields(form_version_id) if by_path.get(f["path"])
            }
        return self._labels_of[form_version_id]

    def _record(self, record, rows, counts, received, names) -> Record:
        (
            _sid,
            instance_id,
            created_at,
            review_state,
            user_id,
            device_id,
            draft,
            version_id,
            form_version_id,
            device_ident,
            version_string,
            encrypted,
            no_plain,
            edits,
        ) = record
        fields = self._version_fields(form_version_id)
        files = received.get(version_id, [])
        if self.redaction.applies(draft):
            # Named before the redaction blanks the answers that name them.
            hidden = sensitive_files(rows, fields) if files else set()
            files = [f for f in files if f[0] not in hidden]
            redact_rows(rows, fields)
        labels = self._labels(form_version_id) if self.lang else None
        sealed = bool(encrypted) and no_plain
        top = next((r for r in rows if r["parent_id"] is None), None)
        submitter = ("user", user_id) if user_id is not None else ("device", device_id)
        present, expected = counts.get(version_id, (0, 0))
        submitted = iso(created_at)
        root = [
            DateText(submitted, "dateTime"),
            *self.root.answers(top["data"] if top else {}, labels),
            instance_id,
            submitter[1],
            names.get(submitter, ""),
            present,
            expected,
            "not decrypted" if sealed else "",
            review_state or "",
            device_ident or "",
            edits,
            version_string,
        ]
        out = Record(instance_id, submitted, review_state, root, [], [], files)
        if top is None:
            return out
        top.update(rel="", key=instance_id)
        out.rows.append(top)
        by_id = {top["id"]: top}
        for row in rows:
            parent = by_id.get(row["parent_id"])
            if parent is None:
                continue
            row["key"] = f"{parent['key']}/{row['path'][len(parent['path']) + 1 :]}[{row['position']}]"
            row["rel"] = row["path"][len(top["path"]) + 1 :]
            by_id[row["id"]] = row
            out.rows.append(row)
            table = self.repeats.get(row["rel"])
            if table is not None:
                out.repeats.append((table, [*table.answers(row["data"], labels), parent["key"], row["key"]]))
        return out


def _page_query(form: Form, filters: Filters, after: int, batch: int):
    """Select one page of records with their current version and what the system columns need."""
    # Every version of a record in scope is in scope: counted on the plain table, correlated to the record.
    versions = SubmissionVersion.__table__.alias("edits")
    edits = (
        select(func.count(versions.c.id) - 1)
        .where(versions.c.submission_id == Submission.id)
        .correlate(Submission)
        .scalar_subquery()
    )
    return (
        filters.apply(submissions_of(form))
        .where(Submission.id > after)
        .limit(batch)
        .join(
            SubmissionVersion, (SubmissionVersion.submission_id == Submission.id) & SubmissionVersion.current.is_(True)
        )
        .with_only_columns(
            Submission.id,
            Submission.instance_id,
            Submission.created_at,
            Submission.review_state,
            Submission.user_id,
            Submission.device_id,
            Submission.draft,
            SubmissionVersion.id,
            SubmissionVersion.form_version_id,
            SubmissionVersion.device_ident,
            SubmissionVersion.version_string,
            SubmissionVersion.encrypted,
            SubmissionVersion.plain_xml.is_(None),
            edits,
        )
    )


@contextmanager
def logged_stop(walk: RecordWalk, fmt: str):
    """Log one line, without data, when the consumer of an export's stream closes it before the end.

    A warning, so that it shows under gunicorn, whose logging leaves the root logger at its default level.
    """
    try:
        yield
    except GeneratorExit:
        logger.warning(
            "Export of form %s (%s) stopped after %d record(s): the client went away",
            walk.form.xml_form_id,
            fmt,
            walk.written,
        )
        raise
