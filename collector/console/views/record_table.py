"""What the submissions table reads from its query string: filters, columns and the page key.

Every filter becomes the read layer's `Filters` (ingest.queries), with the answer conditions the JSON API
builds too (ingest.records.answers): the table reads through `list_newest`, the same service and query as
GET /v1/.../submissions. A value that is not one (a bad date, an unknown province, a page key the server
never gave) stops the page with a message in the page language, under 400.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from flask import request

from collector.console.frame import refuse
from collector.console.web import _
from forms import BUNDLED_MEDIA_DIR
from ingest.audit import parse_moment
from ingest.queries import REVIEW_STATES, Filters
from ingest.records.answers import BadValue, answer_fields, district_condition, record_condition, typed
from ingest.records.service import PageKey, may_filter_on, search_condition
from ingest.tags import tagged

#: Records on one page of the table.
PAGE_SIZE = 50
#: Answer columns shown when none are chosen, and the most that may be chosen.
DEFAULT_COLUMNS, MAX_COLUMNS = 4, 30
#: Longest free text or answer value a filter takes (a longer one is not a search anybody typed).
MAX_FILTER_CHARS = 200


@functools.cache
def places(lang: str) -> tuple[dict[str, str], dict[str, tuple[str, str]]]:
    """Return the provinces ({code: name}) and districts ({code: (province, name)}) in `lang`, from the
    bundled lists the forms choose from."""
    column = "label_lo" if lang == "lo" else "label_en"
    with (BUNDLED_MEDIA_DIR / "provinces.csv").open(encoding="utf-8") as handle:
        provinces = {row["name"]: row[column] for row in csv.DictReader(handle)}
    with (BUNDLED_MEDIA_DIR / "districts.csv").open(encoding="utf-8") as handle:
        districts = {row["name"]: (row["province"], row[column]) for row in csv.DictReader(handle)}
    return provinces, districts


def rel(field_: dict) -> str:
    """Return a field's path below the instance root (`group/question`), as the data and filters name it."""
    return "/".join(field_["path"].split("/")[2:])


def columns_of(fields: list[dict]) -> list[dict]:
    """Return the questions the table may show as columns: answers outside repeats, no files, no metadata."""
    return [f for f in answer_fields(fields) if not f.get("repeat") and "/meta/" not in f["path"]]


def filterable_of(fields: list[dict]) -> list[dict]:
    """Return the questions an answer filter may name: every answer, in repeats too, but no metadata."""
    return [f for f in answer_fields(fields) if "/meta/" not in f["path"]]


def encode_key(key: PageKey | None) -> str | None:
    """Write a page key for the query string: microseconds since 1970 and the record id."""
    if key is None:
        return None
    moment, record_id = key
    if moment.tzinfo is None:  # SQLite hands back naive datetimes; every stored moment is UTC
        moment = moment.replace(tzinfo=UTC)
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return f"{micros}-{record_id}"


def decode_key(text: str) -> PageKey:
    """Read a page key `encode_key` wrote.

    :raise ValueError: anything else.
    """
    micros, sep, record_id = text.partition("-")
    if not (sep and micros.isascii() and micros.isdigit() and record_id.isascii() and record_id.isdigit()):
        raise ValueError(text)
    if len(micros) > 17 or len(record_id) > 18:
        raise ValueError(text)
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(micros))
    return moment, int(record_id)


@dataclass
class Table:
    """The table's request: its filters for the read layer, the chosen columns, the page key, and the
    values to show back in the filter form."""

    filters: Filters
    columns: list[dict]
    key: PageKey | None
    shown: dict[str, str] = field(default_factory=dict)
    chosen: list[str] = field(default_factory=list)


def _arg(name: str) -> str:
    """Return a filter's value, stripped; too long, or holding a NUL, stops the page (400)."""
    value = request.args.get(name, "").strip()
    if len(value) > MAX_FILTER_CHARS or "\x00" in value:
        refuse(400, _("rec_bad_text", most=MAX_FILTER_CHARS))
    return value


def _moment(name: str, *, end: bool) -> datetime | None:
    text = _arg(name)
    if not text:
        return None
    try:
        return parse_moment(text, end=end)
    except (ValueError, OverflowError):
        refuse(400, _("rec_bad_date"))


def read_table(session, fields: list[dict], lang: str) -> Table:
    """Read the table's query string into filters, columns and the page key.

    :raise 400: a bad date, an unknown province, district, review state or question, a value that does
        not fit its question, a free text too long, or a page key this server never gave.
    :raise 403: an answer filter on a sensitive question, for a role that does not see identities.
    """
    provinces, districts = places(lang)
    shown = {name: _arg(name) for name in ("start", "end", "province", "district", "state", "field", "value", "text")}
    start, end = _moment("start", end=False), _moment("end", end=True)
    if shown["province"] and shown["province"] not in provinces:
        refuse(400, _("rec_bad_province"))
    if shown["district"] and shown["district"] not in districts:
        refuse(400, _("rec_bad_district"))
    if shown["state"] and shown["state"] not in REVIEW_STATES:
        refuse(400, _("rec_bad_state"))
    answers = []
    if shown["district"]:
        answers.append(district_condition(fields, (shown["district"],)))
    if shown["field"]:
        question = next((f for f in answer_fields(fields) if rel(f) == shown["field"]), None)
        if question is None:
            refuse(400, _("rec_bad_field"))
        if not may_filter_on(session, question):
            refuse(403, _("rec_sensitive_filter"))
        try:
            value = typed(question, shown["value"]) if shown["value"] else None
        except BadValue:
            refuse(400, _("rec_bad_value"))
        answers.append(record_condition(question, "eq", value))
    if shown["text"]:
        answers.append(search_condition(session, fields, shown["text"]))
    key_text = _arg("key")
    try:
        key = decode_key(key_text) if key_text else None
    except (ValueError, OverflowError):
        refuse(400, _("rec_bad_key"))
    choices = columns_of(fields)
    wanted = request.args.getlist("col")[:MAX_COLUMNS]
    columns = [f for f in choices if rel(f) in wanted] if wanted else choices[:DEFAULT_COLUMNS]
    filters = Filters(
        provinces=(shown["province"],) if shown["province"] else (),
        review_states=(shown["state"],) if shown["state"] else (),
        start=start,
        end=end,
        answers=tuple(answers),
    )
    return Table(filters, columns, key, shown, [rel(f) for f in columns])


def has_districts(fields: list[dict]) -> bool:
    """Say whether the form asks the district (a question tagged scope_district)."""
    return tagged(fields, "scope_district") is not None
