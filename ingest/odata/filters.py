"""`$filter` and `$orderby` of an OData entity set, compiled to SQL conditions and sort expressions.

`$filter` is read by odata-query's lexer and parser (its error tokens carry the character index, which is
what a 400 needs), then compiled here by a small visitor of our own: odata-query's SQLAlchemy visitor only
knows real columns, while answers live in a JSON column whose comparisons `ingest.records.answers` types by the field
tree and guards on both databases. Properties are resolved against the model (OData names, relative to the
entity set), never by string-built SQL: field keys and values reach SQL only as bound parameters, and
`$orderby` is read by a strict pattern and resolved the same way. A caller who may not see identities may
neither filter nor sort on a sensitive field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from odata_query import ast
from odata_query.exceptions import ODataException, ODataSyntaxError
from odata_query.grammar import ODataLexer, ODataParser
from sqlalchemy import and_, extract, func, literal, not_, or_
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import SQLCoreOperations

from ingest.errors import ODATA_EXPRESSION_UNSUPPORTED, ODATA_FIELD_UNSUPPORTED, ODATA_NO_PROPERTY, ODATA_UNPARSEABLE
from ingest.models import Form, Submission, SubmissionRow, SubmissionVersion
from ingest.odata.model import EntitySet, Model, Node, NotAllowed, NotImplementedHere, ODataError, sensitive_paths
from ingest.records import answers
from ingest.redaction import Redaction

#: `__system` properties a filter or sort may name, and what kind of value each holds.
_SYSTEM_COLUMNS = {
    "submissionDate": (Submission.created_at, "moment"),
    "updatedAt": (Submission.updated_at, "moment"),
    "reviewState": (Submission.review_state, "text"),
    "deviceId": (SubmissionVersion.device_ident, "text"),
    "submitterId": (func.coalesce(Submission.user_id, Submission.device_id), "int"),
    "formVersion": (SubmissionVersion.version_string, "text"),
    # Always null here: a deleted record is never listed (Central lists it when a filter names deletedAt).
    "deletedAt": (Submission.deleted_at, "moment"),
}
_COMPARATORS = {ast.Eq: "eq", ast.NotEq: "ne", ast.Gt: "gt", ast.GtE: "ge", ast.Lt: "lt", ast.LtE: "le"}
_FLIPPED = {"eq": "eq", "ne": "ne", "gt": "lt", "ge": "le", "lt": "gt", "le": "ge"}
_PARTS = ("year", "month", "day", "hour", "minute", "second")
#: What a repeat's filter writes to reach its record (Central's `$root/Submissions/__system/...`), and the
#: identifier of the same length it is read as (odata-query's lexer knows no `$root`; the same length keeps the
#: character positions of a parse error right).
_ROOT, _ROOT_NAME = "$root/Submissions/", "__rootSubmissions/"
_ROOT_OR_TEXT = re.compile(r"'(?:[^']|'')*'|" + re.escape(_ROOT))
_SUPPORTED = (
    "eq, ne, gt, ge, lt, le, and, or, not, contains(), year(), month(), day(), hour(), minute(), second() and now()"
)


@dataclass
class _Ref:
    """What one side of a comparison names: an answer (node) or a column, maybe through year()/month()/day()."""

    text: str
    node: Node | None = None
    column: SQLCoreOperations[Any] | None = None
    kind: str = ""
    part: str | None = None

    @property
    def sql(self) -> SQLCoreOperations[Any]:
        """Return the column named (a system property).  :raise LookupError: the reference names an answer."""
        if self.column is None:
            raise LookupError(f"{self.text} names an answer, not a column")
        return self.column


class FilterCompiler:
    """Compile $filter and $orderby for one entity set and the caller."""

    def __init__(self, model: Model, entity_set: EntitySet, data, *, hides: bool, sensitive: set[str]):
        self.model, self.entity_set, self.data = model, entity_set, data
        self.hides, self.sensitive = hides, sensitive

    def filter(self, text: str):
        """Return the SQL condition of a $filter.

        :raise ODataError: it does not parse (the message says at which character, counting from 1), or
            names an unknown property, or compares what cannot be compared.  :raise NotAllowed: it names a
            field the caller may not see.
        """
        readable = _ROOT_OR_TEXT.sub(lambda m: _ROOT_NAME if m.group() == _ROOT else m.group(), text)
        try:
            tree = ODataParser().parse(ODataLexer().tokenize(readable))
        except ODataSyntaxError as exc:
            token = getattr(exc, "token", None)
            at = token.index + 1 if token is not None else len(text) + 1
            where = f"at character {at} (of {len(text)})" if at <= len(text) else f"at its end (character {at})"
            raise ODataError(
                f"The OData filter expression you provided could not be parsed: it stops making "
                f"sense {where}, after '{text[max(0, at - 21) : at - 1]}'.",
                ODATA_UNPARSEABLE,
            ) from None
        except ODataException as exc:
            raise ODataError(
                f"The OData filter expression you provided could not be parsed: {exc}", ODATA_UNPARSEABLE
            ) from None
        return self._condition(tree)

    def _condition(self, node):
        if isinstance(node, ast.BoolOp):
            join = and_ if isinstance(node.op, ast.And) else or_
            return join(self._condition(node.left), self._condition(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return not_(self._condition(node.operand))
        if isinstance(node, ast.Compare) and type(node.comparator) in _COMPARATORS:
            return self._compare(_COMPARATORS[type(node.comparator)], node.left, node.right)
        if isinstance(node, ast.Call) and node.func.name == "contains" and len(node.args) == 2:
            return self._contains(*node.args)
        raise NotImplementedHere(
            f"The given OData filter expression uses features not supported by this server: "
            f"{_describe(node)}. Use {_SUPPORTED}.",
            ODATA_EXPRESSION_UNSUPPORTED,
        )

    def _compare(self, op: str, left, right):
        if isinstance(left, ast._Literal) and not isinstance(right, ast._Literal):
            left, right, op = right, left, _FLIPPED[op]
        if _is_now(left) and not _is_now(right):
            left, right, op = right, left, _FLIPPED[op]
        ref = self._ref(left)
        if _is_now(right):
            right = _now(ref)
        if not isinstance(right, ast._Literal):
            raise ODataError("Compare a property with a value (a text in quotes, a number, a date, now() or null).")
        if ref.part is not None:
            if not isinstance(right, ast.Integer):
                raise ODataError(f"{ref.part}({ref.text}) is a whole number; compare it with one.")
            try:
                expression = (
                    answers.date_part(self.data, ref.node.form_field, ref.part)
                    if ref.node is not None
                    else extract(ref.part, ref.sql)
                )
            except answers.BadValue as exc:
                raise ODataError(str(exc)) from None
            return _apply(expression, op, int(right.val))
        if ref.node is not None:
            return answers.compare(self.data, ref.node.form_field, op, self._answer_value(ref, ref.node, right))
        return self._column(ref, op, right)

    def _contains(self, target, needle):
        ref = self._ref(target)
        if not isinstance(needle, ast.String) or ref.part is not None:
            raise ODataError("contains() takes a property and a text in quotes: contains(name,'text').")
        if ref.node is not None:
            return answers.compare(self.data, ref.node.form_field, "contains", needle.val)
        if ref.kind != "text":
            raise ODataError(f"contains() applies to text; {ref.text} is not text.")
        pattern = "%" + needle.val.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        return ref.sql.like(pattern, escape="\\")

    def _answer_value(self, ref: _Ref, node: Node, literal_node):
        if isinstance(literal_node, ast.Null):
            return None
        if isinstance(literal_node, (ast.String, ast.Integer, ast.Float, ast.Date, ast.DateTime, ast.Boolean)):
            try:
                return answers.typed(node.form_field, str(literal_node.val))
            except answers.BadValue as exc:
                raise ODataError(str(exc)) from None
        raise ODataError(f"{ref.text} cannot be compared with {_describe(literal_node)}.")

    def _column(self, ref: _Ref, op: str, literal_node):
        if isinstance(literal_node, ast.Null):
            if op not in ("eq", "ne"):
                raise ODataError(f"Only eq and ne compare {ref.text} with null.")
            return ref.sql.is_(None) if op == "eq" else ref.sql.is_not(None)
        if ref.kind == "moment" and isinstance(literal_node, (ast.DateTime, ast.Date)):
            return _apply(ref.sql, op, _moment(literal_node))
        if ref.kind == "int" and isinstance(literal_node, ast.Integer):
            return _apply(ref.sql, op, int(literal_node.val))
        if ref.kind == "int" and isinstance(literal_node, ast.String) and literal_node.val.isdigit():
            return _apply(ref.sql, op, int(literal_node.val))  # Central's submitterId is a text of digits
        if ref.kind == "text" and isinstance(literal_node, ast.String):
            return _apply(ref.sql, op, literal_node.val)
        expected = {"moment": "a date or date-time", "int": "a whole number", "text": "a text in quotes"}[ref.kind]
        raise ODataError(f"{ref.text} takes {expected}; got {_describe(literal_node)}.")

    def _ref(self, node) -> _Ref:
        """Resolve a property, or year()/month()/day() of one."""
        if isinstance(node, ast.Call):
            part = node.func.name
            if part not in _PARTS or len(node.args) != 1:
                raise NotImplementedHere(
                    f"The function {part}() is not supported here; use {_SUPPORTED}.", ODATA_EXPRESSION_UNSUPPORTED
                )
            ref = self._ref(node.args[0])
            if (
                ref.part is not None
                or (ref.node is None and ref.kind != "moment")
                or (ref.node is not None and ref.node.form_field.get("xml_type") not in ("date", "dateTime"))
            ):
                raise ODataError(f"{part}() applies to dates and date-times; {ref.text} is not one.")
            ref.part = part
            return ref
        return self.target(_path_of(node))

    def target(self, path: str, sorting: bool = False):
        """Resolve a property path for a filter (a `_Ref`) or, with `sorting`, to the expression sorted by.

        :raise ODataError: an unknown property.  :raise NotAllowed: a sensitive field, for a caller who may not
            see identities.
        """
        shown = path.replace(_ROOT_NAME, _ROOT, 1)
        of_record = path[len(_ROOT_NAME) :] if path.startswith(_ROOT_NAME) else None
        if of_record is not None and not of_record.startswith(("__system/", "__id")):
            raise ODataError(f"{_ROOT} reaches only __id and __system/... of the record; got '{shown}'.")
        path = of_record if of_record is not None else path
        if path == "__id" and (self.entity_set.is_root or of_record is not None):
            ref = _Ref(shown, column=Submission.instance_id, kind="text")
        elif path.startswith("__system/") and path[9:] in _SYSTEM_COLUMNS:
            column, kind = _SYSTEM_COLUMNS[path[9:]]
            ref = _Ref(shown, column=column, kind=kind)
        elif path.startswith("__system/"):
            raise NotImplementedHere(
                f"The given OData filter expression references fields not supported by this server: {shown}; "
                f"of __system it filters and sorts on {', '.join(_SYSTEM_COLUMNS)}.",
                ODATA_FIELD_UNSUPPORTED,
            )
        elif path.startswith("__"):
            raise ODataError(
                f"Could not find a property named '{shown}' that this server filters or sorts on; "
                f"of __system it offers {', '.join(_SYSTEM_COLUMNS)}.",
                ODATA_NO_PROPERTY,
            )
        else:
            node = self.model.property(self.entity_set, path)
            if node.kind != "question":
                raise ODataError(f"The property '{path}' is a group; name one of its questions.")
            if self.hides and node.form_field["path"] in self.sensitive:
                raise NotAllowed(
                    f"The field '{path}' is sensitive and your role does not see identities: it "
                    f"can be neither filtered nor sorted on, as the result would tell its value."
                )
            ref = _Ref(path, node=node)
        if not sorting:
            return ref
        return ref.sql if ref.node is None else answers.sort_key(self.data, ref.node.form_field)


def _is_now(node) -> bool:
    return isinstance(node, ast.Call) and node.func.name == "now" and not node.args


def _now(ref: _Ref):
    """Return now() as a literal for the property it is compared with: today for a date answer, else this
    moment in UTC (read once per request, so every row is compared with the same moment)."""
    moment = datetime.now(UTC)
    if ref.part is None and ref.node is not None and ref.node.form_field.get("xml_type") == "date":
        return ast.Date(moment.date().isoformat())
    return ast.DateTime(moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))


def _path_of(node) -> str:
    if isinstance(node, ast.Identifier) and not node.namespace:
        return node.name
    if isinstance(node, ast.Attribute):
        return f"{_path_of(node.owner)}/{node.attr}"
    raise ODataError(f"Expected a property, got {_describe(node)}.")


def _describe(node) -> str:
    if isinstance(node, ast.Call):
        return f"the function {node.func.name}()"
    if isinstance(node, ast.Compare):
        return f"the operator {type(node.comparator).__name__.lower()}"
    if isinstance(node, ast._Literal):
        return f"the {type(node).__name__.lower()} value {getattr(node, 'val', '')!r}"
    return f"the expression {type(node).__name__}"


def _apply(left, op: str, value):
    right = literal(value)
    return {
        "eq": left == right,
        "ne": left != right,
        "gt": left > right,
        "ge": left >= right,
        "lt": left < right,
        "le": left <= right,
    }[op]


def _moment(literal_node) -> datetime:
    """Return a date or date-time literal as an aware UTC moment (a date is its midnight, UTC)."""
    if isinstance(literal_node, ast.Date):
        return datetime.combine(date.fromisoformat(literal_node.val), time(), UTC)
    try:
        moment = datetime.fromisoformat(literal_node.val.replace("Z", "+00:00"))
    except ValueError:
        raise ODataError(f"'{literal_node.val}' is not a date-time.") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def compiler_for(
    session: Session, form: Form, model: Model, entity_set: EntitySet, redaction: Redaction
) -> FilterCompiler:
    """Return the $filter/$orderby compiler of an entity set under `redaction` (ingest.odata.service decides
    it for the caller): a sensitive field may then be neither filtered nor sorted on."""
    hides = redaction.applies()
    return FilterCompiler(
        model, entity_set, SubmissionRow.data, hides=hides, sensitive=sensitive_paths(session, form) if hides else set()
    )


_ORDER_ITEM = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*(?:/[A-Za-z_][A-Za-z0-9_]*)*)(?:\s+(asc|desc))?\s*", re.I)


def read_orderby(compiler: FilterCompiler, text: str) -> list:
    """Return the ORDER BY clauses of an $orderby (`path [asc|desc]`, comma-separated); OData sorts nulls
    first when ascending.

    :raise ODataError: anything but property paths and directions, or an unknown property.
    """
    clauses = []
    for item in text.split(","):
        match = _ORDER_ITEM.fullmatch(item)
        if match is None:
            raise ODataError(
                f"$orderby takes property paths, each optionally followed by asc or desc; "
                f"could not read '{item.strip()[:60]}'."
            )
        target = compiler.target(match.group(1), sorting=True)
        descending = (match.group(2) or "asc").lower() == "desc"
        clauses.append(target.desc().nulls_last() if descending else target.asc().nulls_first())
    return clauses
