"""Conditions on answers, typed by a form's field tree, for the JSON API's `?q=` and OData's `$filter`.

Answers live in `submission_rows.data`, a JSON object per row keyed by field path relative to the row (JSON
on SQLite, JSONB on PostgreSQL). The normaliser types them by bind type: whole and decimal numbers as JSON
numbers, select-multiple as a JSON list of choice names, everything else as text; a number field whose text
did not parse keeps the text. So every comparison here is typed by the field and guarded by the JSON type
of the stored value: a number is compared only with numbers (a kept text never reaches a cast, which on
PostgreSQL would fail the whole query), a choice is looked for inside the list.

Field keys come from the field tree, values from the caller; both reach SQL only as bound parameters.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import Integer, and_, case, cast, exists, false, func, literal, not_, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.types import Boolean, Float, String

from ingest.models import Submission, SubmissionRow, SubmissionVersion
from ingest.tags import row_key, tagged

#: Operators `compare` knows.
OPERATORS = ("eq", "ne", "gt", "ge", "lt", "le", "contains")
#: Bind types compared as numbers, and as ISO text that sorts like the moments it names.
NUMBERS = ("int", "decimal")
MOMENTS = ("date", "dateTime", "time")


class UnknownField(LookupError):
    """A filter named a field the form never had (in any version)."""


class BadValue(ValueError):
    """A filter's value does not fit the field's type, or the operator does not apply to it."""


def answer_fields(fields: list[dict]) -> list[dict]:
    """Return the questions of a field tree that hold answers (no groups, repeats or files)."""
    return [f for f in fields if f["kind"] == "question" and not f.get("binary")]


def resolve(fields: list[dict], name: str) -> dict:
    """Return the question a filter names: by its relative path (`group/question`) or by its name, which
    must then be unique in the form.

    :raise UnknownField: no such question, or a name two questions share (the message says which).
    """
    questions = answer_fields(fields)
    by_path = [f for f in questions if "/".join(f["path"].split("/")[2:]) == name]
    if by_path:
        return by_path[0]
    named = [f for f in questions if f["name"] == name]
    if len(named) == 1:
        return named[0]
    if named:
        paths = ", ".join("/".join(f["path"].split("/")[2:]) for f in named)
        raise UnknownField(f"Field '{name}' is ambiguous in this form: name it by its path ({paths}).")
    raise UnknownField(f"Field '{name}' is not a question of this form.")


def typed(field: dict, text: str):
    """Return a filter's text as the value the field stores (int, Decimal or text).

    :raise BadValue: a number field given something else, or a date or moment that is not ISO 8601.
    """
    kind = field.get("xml_type")
    if kind == "int":
        if not text.strip().lstrip("+-").isascii() or not text.strip().lstrip("+-").isdigit():
            raise BadValue(f"Field '{field['name']}' holds whole numbers; got '{text}'.")
        return int(text.strip())
    if kind == "decimal":
        try:
            value = Decimal(text.strip())
        except InvalidOperation:
            raise BadValue(f"Field '{field['name']}' holds numbers; got '{text}'.") from None
        if not value.is_finite():
            raise BadValue(f"Field '{field['name']}' holds numbers; got '{text}'.")
        return value
    if kind == "date":
        try:
            return date.fromisoformat(text.strip()).isoformat()
        except ValueError:
            raise BadValue(f"Field '{field['name']}' holds dates (YYYY-MM-DD); got '{text}'.") from None
    if kind == "dateTime":
        try:
            datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        except ValueError:
            raise BadValue(f"Field '{field['name']}' holds moments (ISO 8601); got '{text}'.") from None
        return text.strip()
    return text


class _JsonType(FunctionElement):
    """The JSON type of the value under `key` of a row's data: 'number', 'string', 'array' or NULL."""

    type = String()
    inherit_cache = True
    name = "json_type_of"


@compiles(_JsonType, "sqlite")
def _json_type_sqlite(element, compiler, **kw):
    data, key = list(element.clauses)
    kind = f"json_type({compiler.process(data, **kw)}, {compiler.process(key, **kw)})"
    return (
        f"(CASE {kind} WHEN 'integer' THEN 'number' WHEN 'real' THEN 'number' WHEN 'text' THEN 'string' "
        f"WHEN 'array' THEN 'array' END)"
    )


@compiles(_JsonType, "postgresql")
def _json_type_pg(element, compiler, **kw):
    data, key = list(element.clauses)
    return f"NULLIF(jsonb_typeof({compiler.process(data, **kw)} -> {compiler.process(key, **kw)}), 'null')"


class _HasChoice(FunctionElement):
    """True when the JSON list under `key` holds the text `value` (a select-multiple answer)."""

    type = Boolean()
    inherit_cache = True
    name = "json_has_choice"


@compiles(_HasChoice, "sqlite")
def _has_choice_sqlite(element, compiler, **kw):
    data, key, value = (compiler.process(c, **kw) for c in element.clauses)
    return f"EXISTS (SELECT 1 FROM json_each({data}, {key}) WHERE json_each.value = {value})"


@compiles(_HasChoice, "postgresql")
def _has_choice_pg(element, compiler, **kw):
    data, key, value = (compiler.process(c, **kw) for c in element.clauses)
    return f"(({data} -> {key}) @> jsonb_build_array(CAST({value} AS TEXT)))"


def _sqlite_path(key: str) -> str:
    return '$."' + key.replace('"', '\\"') + '"'


class _KeyParam(FunctionElement):
    """A JSON key: `$."key"` for SQLite's path functions, the bare key for PostgreSQL's `->`."""

    type = String()
    inherit_cache = True
    name = "json_key"

    def __init__(self, key: str):
        super().__init__(literal(key, String()))
        self.key = key


@compiles(_KeyParam, "sqlite")
def _key_sqlite(element, compiler, **kw):
    return compiler.process(literal(_sqlite_path(element.key), String()), **kw)


@compiles(_KeyParam, "postgresql")
def _key_pg(element, compiler, **kw):
    return compiler.process(literal(element.key, String()), **kw)


def _text_of(data, key: str):
    """The stored value as text (NULL when absent or JSON null)."""
    return data[key].as_string()


def _number_of(data, key: str):
    """The stored value as a number, NULL unless it is a JSON number: the type is checked inside a CASE,
    which PostgreSQL evaluates before the cast (an AND of the two may run the cast first and fail)."""
    return case((_JsonType(data, _KeyParam(key)) == "number", data[key].as_float()), else_=None)


def compare(data, field: dict, op: str, value) -> ColumnElement:
    """Return the condition `answer <op> value` on a row's data column (`SubmissionRow.data` or an alias's).

    `value` is as `typed` returns it, or None for "no answer" (eq/ne only). Select-multiple fields match
    when the chosen list holds the value (eq) or does not (ne); `contains` looks for text inside an answer.

    :raise BadValue: an operator that does not apply to the field.
    """
    if op not in OPERATORS:
        raise BadValue(f"Unknown operator '{op}'.")
    key = row_key(field)[1]
    kind = field.get("xml_type")
    if value is None:
        if op not in ("eq", "ne"):
            raise BadValue(f"Only eq and ne compare '{field['name']}' with null.")
        absent = _JsonType(data, _KeyParam(key)).is_(None)
        return absent if op == "eq" else not_(absent)
    if kind == "select":
        if op in ("eq", "ne"):
            has = _HasChoice(data, _KeyParam(key), literal(str(value), String()))
            present = _JsonType(data, _KeyParam(key)) == "array"
            return and_(present, has) if op == "eq" else and_(present, not_(has))
        if op != "contains":
            raise BadValue(f"'{field['name']}' is a choice of several: compare it with eq, ne or contains.")
    if op == "contains":
        text = _text_of(data, key)
        pattern = "%" + str(value).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        return text.like(pattern, escape="\\")
    if kind in NUMBERS:
        return _op(_number_of(data, key), op, literal(float(value), Float()))
    return _op(_text_of(data, key), op, literal(str(value), String()))


def sort_key(data, field: dict) -> ColumnElement:
    """Return the expression a row sorts by on a field: a number field by its number (NULL where the answer
    kept text that did not parse, so no cast ever meets it), any other field by its text."""
    key = row_key(field)[1]
    return _number_of(data, key) if field.get("xml_type") in NUMBERS else _text_of(data, key)


def _op(left, op: str, right) -> ColumnElement:
    return {
        "eq": left == right,
        "ne": left != right,
        "gt": left > right,
        "ge": left >= right,
        "lt": left < right,
        "le": left <= right,
    }[op]


#: Character ranges of the parts of an ISO date or moment ("2026-12-03T08:00:00.000+07:00").
_PARTS = {"year": (1, 4), "month": (6, 2), "day": (9, 2), "hour": (12, 2), "minute": (15, 2), "second": (18, 2)}


class _Digits(FunctionElement):
    """True when a text is only ASCII digits (so that casting it to an integer cannot fail)."""

    type = Boolean()
    inherit_cache = True
    name = "all_digits"


@compiles(_Digits, "sqlite")
def _digits_sqlite(element, compiler, **kw):
    text = compiler.process(list(element.clauses)[0], **kw)
    return f"({text} <> '' AND {text} NOT GLOB '*[^0-9]*')"


@compiles(_Digits, "postgresql")
def _digits_pg(element, compiler, **kw):
    text = compiler.process(list(element.clauses)[0], **kw)
    return f"({text} ~ '^[0-9]+$')"


def date_part(data, field: dict, part: str):
    """Return the year, month or day (or hour, minute, second of a moment) of a date answer, as an integer
    expression (NULL when unanswered or not a date).

    :raise BadValue: the field holds no dates, or `part` is not one of them.
    """
    if field.get("xml_type") not in ("date", "dateTime") or part not in _PARTS:
        raise BadValue(f"{part}() applies to date and moment fields; '{field['name']}' is not one.")
    if part in ("hour", "minute", "second") and field["xml_type"] != "dateTime":
        raise BadValue(f"{part}() applies to moment fields; '{field['name']}' is a date.")
    start, length = _PARTS[part]
    digits = func.substr(_text_of(data, row_key(field)[1]), start, length)
    return case((and_(func.length(digits) == length, _Digits(digits)), cast(digits, Integer)), else_=None)


def record_condition(field: dict, op: str, value) -> ColumnElement:
    """Return a condition on `Submission`: its current version has a row where the answer compares true
    (the root row, or any instance of the repeat that holds the field)."""
    repeat = field.get("repeat")
    row_place = SubmissionRow.parent_id.is_(None) if not repeat else SubmissionRow.path == repeat
    return exists(
        select(SubmissionRow.id)
        .join(SubmissionVersion, SubmissionVersion.id == SubmissionRow.submission_version_id)
        .where(
            SubmissionVersion.submission_id == Submission.id,
            SubmissionVersion.current.is_(True),
            row_place,
            compare(SubmissionRow.data, field, op, value),
        )
        .correlate(Submission)
    )


def _in_current_row(row_match: ColumnElement[bool]) -> ColumnElement[bool]:
    """Return a condition on `Submission`: a row of its current version matches `row_match`."""
    return exists(
        select(SubmissionRow.id)
        .join(SubmissionVersion, SubmissionVersion.id == SubmissionRow.submission_version_id)
        .where(SubmissionVersion.submission_id == Submission.id, SubmissionVersion.current.is_(True), row_match)
        .correlate(Submission)
    )


def text_condition(fields: list[dict], text: str) -> ColumnElement[bool]:
    """Return a condition on `Submission`: one of the typed-text answers of `fields` (root or repeat) in its
    current version holds `text`, letter case aside. One EXISTS over the record's rows, whatever the number
    of fields; the caller leaves out the fields it may not search (sensitive ones, for a redacted caller)."""
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    places: dict[str | None, list[ColumnElement[bool]]] = {}
    for field in answer_fields(fields):
        if field.get("xml_type") == "string":
            answer = _text_of(SubmissionRow.data, row_key(field)[1])
            places.setdefault(field.get("repeat"), []).append(answer.ilike(pattern, escape="\\"))
    if not places:
        return false()
    return _in_current_row(
        or_(
            *(
                and_(SubmissionRow.parent_id.is_(None) if repeat is None else SubmissionRow.path == repeat, or_(*found))
                for repeat, found in places.items()
            )
        )
    )


def district_condition(fields: list[dict], districts: tuple[str, ...]) -> ColumnElement[bool]:
    """Return a condition on `Submission`: the answer tagged `scope_district` is one of `districts` (never
    true for a form that has no such question)."""
    field = tagged(fields, "scope_district")
    if field is None or not districts:
        return false()
    return or_(*(record_condition(field, "eq", code) for code in districts))


#: The operators of a `?q=` term, longest first so that `>=` is not read as `>`.
_TERM_OPERATORS = ((">=", "ge"), ("<=", "le"), ("!=", "ne"), (">", "gt"), ("<", "lt"), (":", "eq"), ("~", "contains"))


def parse_term(fields: list[dict], term: str) -> tuple[dict, str, object]:
    """Read one `?q=` term, `field:value` (equals; a choice of several holds it), `field!=value`,
    `field>value`, `field>=value`, `field<value`, `field<=value` or `field~text` (contains), into
    (field, operator, typed value). An empty value after `:` or `!=` means "not answered" / "answered".

    :raise UnknownField: the field is not a question of the form.  :raise BadValue: no operator, or a value
        that does not fit the field.
    """
    at = min(
        ((term.find(sign), sign, op) for sign, op in _TERM_OPERATORS if sign in term),
        key=lambda found: (found[0], -len(found[1])),
        default=None,
    )
    if at is None or at[0] == 0:
        raise BadValue(f"q={term!r} must be field:value (or field>value, field~text, ...).")
    index, sign, op = at
    field = resolve(fields, term[:index].strip())
    text = term[index + len(sign) :]
    if text == "" and op in ("eq", "ne"):
        return field, op, None
    return field, op, typed(field, text)
