"""Streamed Excel export: one sheet per table of the CSV zip (root, then each repeat), same headers and rows.

xlsxwriter needs a file, and in `constant_memory` mode keeps one row per sheet in memory, spilling each
sheet's rows to a temporary file as they are written (rows in order within a sheet; sheets may interleave).
Everything it writes, the workbook included, lives in one private temporary folder removed when the stream
ends or the client goes away. The workbook is complete before its first byte can be sent: it is then read
back a chunk at a time.

Dates, date-times and times (answers of those XForm types, and SubmissionDate) are Excel dates with a number
format that shows them (`yyyy-mm-dd`, `yyyy-mm-dd hh:mm:ss`, `hh:mm:ss`), so that Excel sorts, filters and
computes on them. Excel has no time zones: a date-time is written as the clock read where it was recorded
(a tablet's answer in its own zone, SubmissionDate in UTC), as the CSV shows it.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from datetime import date, datetime, time

import xlsxwriter
from sqlalchemy.orm import Session

from ingest.exports.walk import DateText, Filters, NumberText, RecordWalk, logged_stop
from ingest.models import Form
from ingest.redaction import Redaction

#: Bytes of the finished workbook sent at a time.
CHUNK = 64 * 1024
#: Rows of an Excel sheet, header included; a table with more goes on to a sheet `<name>~2`.
MAX_ROWS = 1_048_576
_SHEET_CHARS = 31
#: How each kind of date shows in Excel, and the width of its column (Excel shows ### in a narrower one).
DATE_FORMATS = {"date": ("yyyy-mm-dd", 11), "dateTime": ("yyyy-mm-dd hh:mm:ss", 20), "time": ("hh:mm:ss", 9)}


def sheet_names(names: list[str]) -> list[str]:
    """Return Excel sheet names for the tables: the CSV's name without `.csv`, at most 31 characters,
    unique whatever the case (Excel compares sheet names without case)."""
    out: list[str] = []
    for name in names:
        base = name.removesuffix(".csv")[:_SHEET_CHARS]
        candidate, n = base, 1
        while candidate.lower() in (o.lower() for o in out):
            n += 1
            suffix = f"~{n}"
            candidate = base[: _SHEET_CHARS - len(suffix)] + suffix
        out.append(candidate)
    return out


class _Sheet:
    """A table's sheet and the next row to write; a full sheet continues on a new one."""

    def __init__(self, workbook, name: str, header: list[str], formats: dict):
        self.workbook, self.name, self.header, self.formats = workbook, name, header, formats
        self.parts = 1
        self._open(name)

    def _open(self, name: str) -> None:
        self.sheet = self.workbook.add_worksheet(name)
        self.sheet.freeze_panes(1, 0)
        for col, head in enumerate(self.header):
            self.sheet.write_string(0, col, head)
        self.row = 1
        self.widened: set[int] = set()

    def append(self, cells: list) -> None:
        if self.row == MAX_ROWS:
            self.parts += 1
            suffix = f"~{self.parts}"
            self._open(self.name[: _SHEET_CHARS - len(suffix)] + suffix)
        for col, value in enumerate(cells):
            if isinstance(value, DateText) and self._write_date(col, value):
                continue
            _write(self.sheet, self.row, col, value)
        self.row += 1

    def _write_date(self, col: int, value: DateText) -> bool:
        """Write a date, date-time or time as an Excel date with its format; False if it reads as none."""
        moment = excel_moment(value)
        if moment is None:
            return False
        self.sheet.write_datetime(self.row, col, moment, self.formats[value.kind])
        if col not in self.widened:
            self.widened.add(col)
            self.sheet.set_column(col, col, DATE_FORMATS[value.kind][1])
        return True


def excel_moment(value: DateText) -> date | datetime | time | None:
    """Read a date answer as the clock shows it where it was recorded (Excel has no zones), else None.

    None for text that is not ISO 8601 or a date before 1900, which Excel cannot hold: that stays text.
    """
    text = value.strip()
    if text[-1:] in ("z", "Z"):
        text = text[:-1] + "+00:00"
    try:
        if value.kind == "date":
            moment: date | datetime | time = date.fromisoformat(text)
        elif value.kind == "time":
            moment = time.fromisoformat(text).replace(tzinfo=None)
        else:
            moment = datetime.fromisoformat(text).replace(tzinfo=None)
    except ValueError:
        return None
    if isinstance(moment, date) and moment.year < 1900:
        return None
    return moment


def _write(sheet, row: int, col: int, value) -> None:
    """Write a cell typed: numbers as numbers, everything else as text (never a formula or a link)."""
    if value is None or value == "":
        return
    if isinstance(value, NumberText):
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if math.isfinite(number):
            sheet.write_number(row, col, number)
            return
    elif isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        sheet.write_number(row, col, value)
        return
    sheet.write_string(row, col, str(value))


def xlsx(
    session: Session,
    form: Form,
    filters: Filters = Filters(),
    *,
    on_record: Callable[[], None] | None = None,
    batch: int | None = None,
    lang: str | None = None,
    store=None,
    redaction: Redaction,
) -> Iterator[bytes]:
    """Yield an Excel workbook of a form's records in the session's scope, redacted as `redaction` says.

    Closing the generator early (a client that went away) stops the reading and removes the temporary files.
    """
    walk = RecordWalk(
        session, form, filters, redaction=redaction, lang=lang, store=store, batch=batch, on_record=on_record
    )
    folder = tempfile.mkdtemp(prefix="export-")
    try:
        with logged_stop(walk, "xlsx"):
            path = os.path.join(folder, "export.xlsx")
            # Text stays text: an answer starting with "=" must not become a formula, nor a URL a link.
            workbook = xlsxwriter.Workbook(
                path,
                {
                    "constant_memory": True,
                    "tmpdir": folder,
                    "strings_to_formulas": False,
                    "strings_to_urls": False,
                    "strings_to_numbers": False,
                },
            )
            formats = {kind: workbook.add_format({"num_format": shown}) for kind, (shown, _w) in DATE_FORMATS.items()}
            names = sheet_names([t.name for t in walk.tables])
            sheets = {t.rel: _Sheet(workbook, name, t.header(), formats) for t, name in zip(walk.tables, names)}
            root = sheets[""]
            for page in walk.pages():
                for record in page:
                    root.append(record.root)
                    for table, cells in record.repeats:
                        sheets[table.rel].append(cells)
            workbook.close()
            with open(path, "rb") as finished:
                while chunk := finished.read(CHUNK):
                    yield chunk
    finally:
        shutil.rmtree(folder, ignore_errors=True)
