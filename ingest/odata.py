"""OData v4 over a form's records, named and shaped as ODK Central names them, so that pyodk, Excel and Power BI
read it unchanged: the entity model (`$metadata`), the JSON entities of `Submissions` and of each repeat, and
`$filter`/`$orderby` compiled to SQL.

The model is built from the union of the field trees of every published version (`ingest.exports.union_fields`),
so a removed field keeps its property and a new one is null for older records: columns never shift. Names
follow Central: each field name made an OData identifier, groups as complex types, each repeat an entity set
`Submissions.<path with dots>` whose rows carry `__id` and the `__id` of their parent (`__Submissions-id`,
`__Submissions-<outer repeat path>-id`). A repeat row's `__id` is the SHA-1 of its KEY in the CSV export
(`uuid:.../route[2]`), so the two exports can be joined.

`$filter` is read by odata-query's lexer and parser (its error tokens carry the character index, which is
what a 400 needs), then compiled here by a small visitor of our own: odata-query's SQLAlchemy visitor only
knows real columns, while answers live in a JSON column whose comparisons `ingest.answers` types by the field
tree and guards on both databases. Properties are resolved against this model (OData names, relative to the
entity set), never by string-built SQL: field keys and values reach SQL only as bound parameters, and
`$orderby` is read by a strict pattern and resolved the same way.

A caller who may not see identities gets sensitive answers as null (as in every other read), and may neither
filter nor sort on them: the matching rows, or their order, would tell the value.
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field as dc_field
from datetime import date, datetime, time, timezone
from urllib.parse import quote
from xml.etree import ElementTree

from odata_query import ast
from odata_query.exceptions import ODataException, ODataSyntaxError
from odata_query.grammar import ODataLexer, ODataParser
from sqlalchemy import and_, extract, func, literal, not_, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import FunctionElement
from sqlalchemy.types import Numeric, String

from ingest import answers, scope
from ingest.errors import IngestError
from ingest.exports import _attachments_of, _submitter_names, union_fields
from ingest.models import Form, FormVersion, Submission, SubmissionRow, SubmissionVersion
from ingest.queries import submissions_of
from ingest.records import iso
from ingest.redaction import hides_identities, redact_rows
from ingest.tags import row_key

#: Most entities one response holds; `$top` above it is cut to it (the page then ends with a nextLink).
MAX_TOP = 10_000
EDMX_NS = "http://docs.oasis-open.org/odata/ns/edmx"
EDM_NS = "http://docs.oasis-open.org/odata/ns/edm"
#: Namespace of the `__system` complex type, and prefix of each form's namespace, as Central names them.
SYSTEM_NS = "org.opendatakit.submission"
USER_NS = "org.opendatakit.user"
#: Edm types by bind type; any other type is Edm.String.
EDM_TYPES = {"int": "Edm.Int64", "decimal": "Edm.Decimal", "date": "Edm.Date", "dateTime": "Edm.DateTimeOffset",
             "geopoint": "Edm.GeographyPoint", "geotrace": "Edm.GeographyLineString",
             "geoshape": "Edm.GeographyPolygon"}
#: The `__system` properties in Central's order, with their Edm types.
SYSTEM_PROPERTIES = (("submissionDate", "Edm.DateTimeOffset"), ("updatedAt", "Edm.DateTimeOffset"),
                     ("submitterId", "Edm.String"), ("submitterName", "Edm.String"),
                     ("attachmentsPresent", "Edm.Int64"), ("attachmentsExpected", "Edm.Int64"),
                     ("status", f"{SYSTEM_NS}.Status"), ("reviewState", f"{SYSTEM_NS}.ReviewState"),
                     ("deviceId", "Edm.String"), ("edits", "Edm.Int64"), ("formVersion", "Edm.String"))


class ODataError(IngestError):
    """A query option this server cannot answer (400 unless a subclass says otherwise)."""


class NotAllowed(ODataError):
    """A filter or sort on a field the caller may not see (403)."""

    status = 403


class NoSuchEntity(ODataError):
    """No such entity set or record (404)."""

    status = 404


class NotImplementedHere(ODataError):
    """An OData feature Central does not offer either (501, as Central answers)."""

    status = 501


def identifier(name: str) -> str:
    """Make a field name an OData identifier as Central does: a leading non-letter gets an underscore, and
    each run of characters other than ASCII letters, digits and underscores becomes one underscore."""
    name = re.sub(r"^([^A-Za-z_])", r"_\1", name)
    return re.sub(r"[^A-Za-z0-9_]+", "_", name)


# --- The entity model ----------------------------------------------------------------------------------------

@dataclass(eq=False)
class Node:
    """A question, group or repeat of the model (or the instance root), with its OData name."""

    name: str
    kind: str  # root, question, group or repeat
    field: dict | None = None
    #: a question's key in its row's data (relative to the row: `group/question`).
    key: str = ""
    children: list["Node"] = dc_field(default_factory=list)
    parent: "Node | None" = None

    @property
    def edm(self) -> str:
        return EDM_TYPES.get(self.field.get("xml_type"), "Edm.String") if self.field else "Edm.String"

    def walk(self):
        """Yield every node below this one, depth first, in document order."""
        for child in self.children:
            yield child
            yield from child.walk()


@dataclass(eq=False)
class EntitySet:
    """`Submissions` or one repeat's entity set."""

    name: str
    node: Node
    #: the `path` of the stored rows it lists (`/data` for Submissions, `/data/household/member`).
    path: str
    #: the property naming the parent row's `__id` (None for Submissions).
    parent_key: str | None = None

    @property
    def is_root(self) -> bool:
        return self.parent_key is None


class Model:
    """The OData model of a form: its entity sets and their properties, from the union of its versions."""

    def __init__(self, xml_form_id: str, fields: list[dict]):
        self.xml_form_id = xml_form_id
        self.namespace = f"{USER_NS}.{identifier(xml_form_id)}"
        self.root_path = "/" + fields[0]["path"].split("/")[1] if fields else "/data"
        self.root = Node("Submissions", "root")
        self.sets = {"Submissions": EntitySet("Submissions", self.root, self.root_path)}
        #: every node by the path of its field (the root by the instance root's path).
        self.nodes = nodes = {self.root_path: self.root}
        for f in fields:
            parent = nodes.get(f["path"].rsplit("/", 1)[0])
            if parent is None:
                continue  # a field whose group no version declares: not reachable by a path
            node = Node(identifier(f["name"]), f["kind"], f, parent=parent)
            parent.children.append(node)
            nodes[f["path"]] = node
            if f["kind"] == "question":
                node.key = row_key(f)[1]
            elif f["kind"] == "repeat":
                name = self.set_name(node)
                outer = self.enclosing_repeat(node)
                parent_key = "__" + "-".join(["Submissions", *(self.names_of(outer) if outer else [])]) + "-id"
                self.sets[name] = EntitySet(name, node, f["path"], parent_key)

    @staticmethod
    def names_of(node: Node) -> list[str]:
        """Return the OData names from the root down to `node`."""
        names = []
        while node is not None and node.kind != "root":
            names.append(node.name)
            node = node.parent
        return names[::-1]

    @staticmethod
    def enclosing_repeat(node: Node) -> Node | None:
        """Return the innermost repeat strictly above `node` (None at the root)."""
        node = node.parent
        while node is not None and node.kind != "repeat":
            node = node.parent
        return node

    def entity_set(self, name: str) -> EntitySet:
        """:raise NoSuchEntity: no such entity set."""
        if name not in self.sets:
            raise NoSuchEntity("Could not find the resource you were looking for.")
        return self.sets[name]

    def property(self, entity_set: EntitySet, path: str) -> Node:
        """Return the question or group an OData property path (`group/question`) names in an entity set.

        :raise ODataError: no such property, or one inside a repeat of the entity set (Central's 400.23/.24).
        """
        node = entity_set.node
        for part in path.split("/"):
            node = next((c for c in node.children if c.name == part), None)
            if node is None:
                raise ODataError(f"Could not find a property named '{path}'.")
            if node.kind == "repeat":
                raise ODataError(f"The property '{path}' is a repeat, or inside one: ask the entity set "
                                 f"{self.set_name(node)}.")
        return node

    def complex_type_name(self, node: Node) -> str:
        """Return a group's complex type name, or the tail of a repeat's entity type: its path with dots."""
        return ".".join(self.names_of(node))

    def set_name(self, repeat: Node) -> str:
        """Return the entity set of a repeat: `Submissions.<its path with dots>`."""
        return f"Submissions.{self.complex_type_name(repeat)}"

    # --- documents ---

    def service_document(self, service_url: str) -> dict:
        """Return the service document: every entity set, Submissions first."""
        return {"@odata.context": f"{service_url}/$metadata",
                "value": [{"name": name, "kind": "EntitySet", "url": name} for name in self.sets]}

    def edmx(self) -> bytes:
        """Return the metadata document (EDMX 4.0) in Central's shape."""
        root = ElementTree.Element("edmx:Edmx", {"xmlns:edmx": EDMX_NS, "Version": "4.0"})
        services = ElementTree.SubElement(root, "edmx:DataServices")
        system = ElementTree.SubElement(services, "Schema", {"xmlns": EDM_NS, "Namespace": SYSTEM_NS})
        metadata = ElementTree.SubElement(system, "ComplexType", {"Name": "metadata"})
        for name, edm in SYSTEM_PROPERTIES:
            ElementTree.SubElement(metadata, "Property", {"Name": name, "Type": edm})
        for enum, members in (("Status", ("notDecrypted", "missingEncryptedFormData")),
                              ("ReviewState", ("hasIssues", "edited", "rejected", "approved"))):
            element = ElementTree.SubElement(system, "EnumType", {"Name": enum})
            for member in members:
                ElementTree.SubElement(element, "Member", {"Name": member})
        schema = ElementTree.SubElement(services, "Schema", {"xmlns": EDM_NS, "Namespace": self.namespace})
        for entity_set in self.sets.values():
            entity = ElementTree.SubElement(schema, "EntityType", {"Name": entity_set.name})
            key = ElementTree.SubElement(entity, "Key")
            ElementTree.SubElement(key, "PropertyRef", {"Name": "__id"})
            ElementTree.SubElement(entity, "Property", {"Name": "__id", "Type": "Edm.String"})
            if entity_set.is_root:
                ElementTree.SubElement(entity, "Property", {"Name": "__system", "Type": f"{SYSTEM_NS}.metadata"})
            else:
                ElementTree.SubElement(entity, "Property", {"Name": entity_set.parent_key, "Type": "Edm.String"})
            self._properties(entity, entity_set.node)
        for node in self.root.walk():
            if node.kind == "group":
                self._properties(ElementTree.SubElement(schema, "ComplexType",
                                                         {"Name": self.complex_type_name(node)}), node)
        container = ElementTree.SubElement(schema, "EntityContainer", {"Name": identifier(self.xml_form_id)})
        for entity_set in self.sets.values():
            element = ElementTree.SubElement(container, "EntitySet", {
                "Name": entity_set.name, "EntityType": f"{self.namespace}.{entity_set.name}"})
            if entity_set.is_root:
                _capabilities(element)
        return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)

    def _properties(self, element, node: Node) -> None:
        for child in node.children:
            if child.kind == "question":
                ElementTree.SubElement(element, "Property", {"Name": child.name, "Type": child.edm})
            elif child.kind == "group":
                ElementTree.SubElement(element, "Property", {
                    "Name": child.name, "Type": f"{self.namespace}.{self.complex_type_name(child)}"})
            else:
                ElementTree.SubElement(element, "NavigationProperty", {
                    "Name": child.name,
                    "Type": f"Collection({self.namespace}.Submissions.{self.complex_type_name(child)})"})


def _capabilities(entity_set) -> None:
    """Annotate what this server offers on Submissions (more than Central: it filters and sorts answers)."""
    def term(name: str, **properties):
        annotation = ElementTree.SubElement(entity_set, "Annotation", {"Term": f"Org.OData.Capabilities.V1.{name}"})
        record = ElementTree.SubElement(annotation, "Record")
        for prop, value in properties.items():
            ElementTree.SubElement(record, "PropertyValue", {"Property": prop, "Bool": value})

    ElementTree.SubElement(entity_set, "Annotation", {
        "Term": "Org.OData.Capabilities.V1.ConformanceLevel",
        "EnumMember": "Org.OData.Capabilities.V1.ConformanceLevelType/Minimal"})
    ElementTree.SubElement(entity_set, "Annotation", {"Term": "Org.OData.Capabilities.V1.BatchSupported",
                                                      "Bool": "false"})
    term("CountRestrictions", Countable="true")
    term("FilterRestrictions", Filterable="true", RequiresFilter="false")
    term("SortRestrictions", Sortable="true")
    term("ExpandRestrictions", Expandable="true")


def model_of(session: Session, form: Form) -> Model:
    """Return the OData model of a form (every published version's fields)."""
    return Model(form.xml_form_id, union_fields(session, form))


def sensitive_paths(session: Session, form: Form) -> set[str]:
    """Return the paths of the fields tagged sensitive in any published version of a form."""
    versions = session.scalars(select(FormVersion.fields).where(FormVersion.form_id == form.id,
                                                                FormVersion.published_at.is_not(None)))
    return {f["path"] for fields in versions for f in fields or () if f.get("sensitive")}


# --- Query options -------------------------------------------------------------------------------------------

@dataclass
class Options:
    """The query options of one request, checked against the model."""

    entity_set: EntitySet
    top: int = MAX_TOP
    skip: int = 0
    count: bool = False
    expand: bool = False
    wkt: bool = False
    #: properties chosen by $select (None: all), with the ids (`__id`, `__system/...`) asked for.
    select: set | None = None
    ids: set = dc_field(default_factory=set)
    where: object = None
    order: list = dc_field(default_factory=list)
    #: the keyset position ({"id": ..., "row": ...}) or offset ({"skip": n}) a $skiptoken carries.
    token: dict | None = None


def skiptoken(position: dict) -> str:
    """Write a paging position as Central's opaque $skiptoken: "01" and base64 JSON."""
    return "01" + base64.b64encode(json.dumps(position, separators=(",", ":")).encode()).decode()


def read_skiptoken(text: str) -> dict:
    """:raise ODataError: not a token this server wrote."""
    try:
        if not text.startswith("01"):
            raise ValueError
        position = json.loads(base64.b64decode(text[2:], validate=True))
        if not (isinstance(position, dict) and position
                and all(k in ("id", "row", "skip") and type(v) is int and v >= 0 for k, v in position.items())):
            raise ValueError
    except ValueError:
        raise ODataError("The $skiptoken is not one this server gave: follow @odata.nextLink as given.") from None
    return position


def read_select(model: Model, entity_set: EntitySet, text: str) -> tuple[set | None, set]:
    """Return the nodes a $select keeps (a group keeps all below it; a question keeps the groups above it)
    and the ids it names (`__id`, `__system`, `__system/<property>`, the parent key).

    :raise ODataError: an unknown property, or one inside a repeat.
    """
    if text.strip() == "*":
        return None, set()
    keep, ids = set(), set()
    system = {f"__system/{name}" for name, _ in SYSTEM_PROPERTIES} | {"__system"}
    for item in (p.strip() for p in text.split(",")):
        if item == "__id" or item == entity_set.parent_key or (entity_set.is_root and item in system):
            ids.add(item)
            continue
        node = model.property(entity_set, item)
        keep.update(node.walk())
        while node is not None and node is not entity_set.node:
            keep.add(node)
            node = node.parent
    return keep, ids


_ORDER_ITEM = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*(?:/[A-Za-z_][A-Za-z0-9_]*)*)(?:\s+(asc|desc))?\s*", re.I)


def read_orderby(compiler: "FilterCompiler", text: str) -> list:
    """Return the ORDER BY clauses of an $orderby (`path [asc|desc]`, comma-separated); OData sorts nulls
    first when ascending.

    :raise ODataError: anything but property paths and directions, or an unknown property.
    """
    clauses = []
    for item in text.split(","):
        match = _ORDER_ITEM.fullmatch(item)
        if match is None:
            raise ODataError(f"$orderby takes property paths, each optionally followed by asc or desc; "
                             f"could not read '{item.strip()[:60]}'.")
        target = compiler.target(match.group(1), sorting=True)
        descending = (match.group(2) or "asc").lower() == "desc"
        clauses.append(target.desc().nulls_last() if descending else target.asc().nulls_first())
    return clauses


# --- $filter -------------------------------------------------------------------------------------------------

class _JsonNumber(FunctionElement):
    """A row's answer as a number, NULL unless the stored JSON value is a number (so that sorting a number
    field that kept some text never casts the text; PostgreSQL would fail the query)."""

    type = Numeric()
    inherit_cache = True
    name = "json_number"


@compiles(_JsonNumber, "sqlite")
def _json_number_sqlite(element, compiler, **kw):
    data, path = (compiler.process(c, **kw) for c in element.clauses)
    return (f"(CASE json_type({data}, {path}) WHEN 'integer' THEN json_extract({data}, {path}) "
            f"WHEN 'real' THEN json_extract({data}, {path}) END)")


@compiles(_JsonNumber, "postgresql")
def _json_number_pg(element, compiler, **kw):
    data, key = (compiler.process(c, **kw) for c in element.clauses)
    return f"(CASE WHEN jsonb_typeof({data} -> {key}) = 'number' THEN CAST({data} ->> {key} AS NUMERIC) END)"


def _sort_value(data, node: Node, dialect: str):
    """Return the expression an answer sorts by: numbers as numbers, anything else as its text."""
    if node.field.get("xml_type") in answers.NUMBERS:
        key = '$."' + node.key.replace('"', '\\"') + '"' if dialect == "sqlite" else node.key
        return _JsonNumber(data, literal(key, String()))
    return data[node.key].as_string()


#: `__system` properties a filter or sort may name, and what kind of value each holds.
_SYSTEM_COLUMNS = {
    "submissionDate": (Submission.created_at, "moment"), "updatedAt": (Submission.updated_at, "moment"),
    "reviewState": (Submission.review_state, "text"), "deviceId": (SubmissionVersion.device_ident, "text"),
    "submitterId": (func.coalesce(Submission.user_id, Submission.device_id), "int"),
    "formVersion": (SubmissionVersion.version_string, "text"),
}
_COMPARATORS = {ast.Eq: "eq", ast.NotEq: "ne", ast.Gt: "gt", ast.GtE: "ge", ast.Lt: "lt", ast.LtE: "le"}
_FLIPPED = {"eq": "eq", "ne": "ne", "gt": "lt", "ge": "le", "lt": "gt", "le": "ge"}
_PARTS = ("year", "month", "day")


@dataclass
class _Ref:
    """What one side of a comparison names: an answer (node) or a column, maybe through year()/month()/day()."""

    text: str
    node: Node | None = None
    column: object = None
    kind: str = ""
    part: str | None = None


class FilterCompiler:
    """Compile $filter and $orderby for one entity set, the caller and the database dialect."""

    def __init__(self, model: Model, entity_set: EntitySet, data, *, hides: bool, sensitive: set[str],
                 dialect: str):
        self.model, self.entity_set, self.data = model, entity_set, data
        self.hides, self.sensitive, self.dialect = hides, sensitive, dialect

    def filter(self, text: str):
        """Return the SQL condition of a $filter.

        :raise ODataError: it does not parse (the message says at which character, counting from 1), or
            names an unknown property, or compares what cannot be compared.  :raise NotAllowed: it names a
            field the caller may not see.
        """
        try:
            tree = ODataParser().parse(ODataLexer().tokenize(text))
        except ODataSyntaxError as exc:
            token = getattr(exc, "token", None)
            at = token.index + 1 if token is not None else len(text) + 1
            where = f"at character {at} (of {len(text)})" if at <= len(text) else f"at its end (character {at})"
            raise ODataError(f"The OData filter expression you provided could not be parsed: it stops making "
                             f"sense {where}, after '{text[max(0, at - 21):at - 1]}'.") from None
        except ODataException as exc:
            raise ODataError(f"The OData filter expression you provided could not be parsed: {exc}") from None
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
        raise ODataError(f"The given OData filter expression uses features not supported by this server: "
                         f"{_describe(node)}. Use eq, ne, gt, ge, lt, le, and, or, not, contains(), year(), "
                         f"month() and day().")

    def _compare(self, op: str, left, right):
        if isinstance(left, ast._Literal) and not isinstance(right, ast._Literal):
            left, right, op = right, left, _FLIPPED[op]
        if not isinstance(right, ast._Literal):
            raise ODataError("Compare a property with a value (a text in quotes, a number, a date or null).")
        ref = self._ref(left)
        if ref.part is not None:
            if not isinstance(right, ast.Integer):
                raise ODataError(f"{ref.part}({ref.text}) is a whole number; compare it with one.")
            expression = (answers.date_part(self.data, ref.node.field, ref.part) if ref.node is not None
                          else extract(ref.part, ref.column))
            return _apply(expression, op, int(right.val))
        if ref.node is not None:
            return answers.compare(self.data, ref.node.field, op, self._answer_value(ref, right))
        return self._column(ref, op, right)

    def _contains(self, target, needle):
        ref = self._ref(target)
        if not isinstance(needle, ast.String) or ref.part is not None:
            raise ODataError("contains() takes a property and a text in quotes: contains(name,'text').")
        if ref.node is not None:
            return answers.compare(self.data, ref.node.field, "contains", needle.val)
        if ref.kind != "text":
            raise ODataError(f"contains() applies to text; {ref.text} is not text.")
        pattern = "%" + needle.val.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        return ref.column.like(pattern, escape="\\")

    def _answer_value(self, ref: _Ref, literal_node):
        if isinstance(literal_node, ast.Null):
            return None
        if isinstance(literal_node, (ast.String, ast.Integer, ast.Float, ast.Date, ast.DateTime, ast.Boolean)):
            try:
                return answers.typed(ref.node.field, str(literal_node.val))
            except answers.BadValue as exc:
                raise ODataError(str(exc)) from None
        raise ODataError(f"{ref.text} cannot be compared with {_describe(literal_node)}.")

    def _column(self, ref: _Ref, op: str, literal_node):
        if isinstance(literal_node, ast.Null):
            if op not in ("eq", "ne"):
                raise ODataError(f"Only eq and ne compare {ref.text} with null.")
            return ref.column.is_(None) if op == "eq" else ref.column.is_not(None)
        if ref.kind == "moment" and isinstance(literal_node, (ast.DateTime, ast.Date)):
            return _apply(ref.column, op, _moment(literal_node))
        if ref.kind == "int" and isinstance(literal_node, ast.Integer):
            return _apply(ref.column, op, int(literal_node.val))
        if ref.kind == "int" and isinstance(literal_node, ast.String) and literal_node.val.isdigit():
            return _apply(ref.column, op, int(literal_node.val))  # Central's submitterId is a text of digits
        if ref.kind == "text" and isinstance(literal_node, ast.String):
            return _apply(ref.column, op, literal_node.val)
        expected = {"moment": "a date or date-time", "int": "a whole number", "text": "a text in quotes"}[ref.kind]
        raise ODataError(f"{ref.text} takes {expected}; got {_describe(literal_node)}.")

    def _ref(self, node) -> _Ref:
        """Resolve a property, or year()/month()/day() of one."""
        if isinstance(node, ast.Call):
            part = node.func.name
            if part not in _PARTS or len(node.args) != 1:
                raise ODataError(f"The function {part}() is not supported here; use year(), month(), day() or "
                                 f"contains().")
            ref = self._ref(node.args[0])
            if ref.part is not None or (ref.node is None and ref.kind != "moment") or (
                    ref.node is not None and ref.node.field.get("xml_type") not in ("date", "dateTime")):
                raise ODataError(f"{part}() applies to dates and date-times; {ref.text} is not one.")
            ref.part = part
            return ref
        return self.target(_path_of(node))

    def target(self, path: str, sorting: bool = False):
        """Resolve a property path for a filter (a `_Ref`) or, with `sorting`, to the expression sorted by.

        :raise ODataError: an unknown property.  :raise NotAllowed: a sensitive field, for a caller who may not
            see identities.
        """
        if path == "__id" and self.entity_set.is_root:
            ref = _Ref(path, column=Submission.instance_id, kind="text")
        elif path.startswith("__system/") and path[9:] in _SYSTEM_COLUMNS:
            column, kind = _SYSTEM_COLUMNS[path[9:]]
            ref = _Ref(path, column=column, kind=kind)
        elif path.startswith("__"):
            raise ODataError(f"Could not find a property named '{path}' that this server filters or sorts on; "
                             f"of __system it offers {', '.join(_SYSTEM_COLUMNS)}.")
        else:
            node = self.model.property(self.entity_set, path)
            if node.kind != "question":
                raise ODataError(f"The property '{path}' is a group; name one of its questions.")
            if self.hides and node.field["path"] in self.sensitive:
                raise NotAllowed(f"The field '{path}' is sensitive and your role does not see identities: it "
                                 f"can be neither filtered nor sorted on, as the result would tell its value.")
            ref = _Ref(path, node=node)
        if not sorting:
            return ref
        return ref.column if ref.node is None else _sort_value(self.data, ref.node, self.dialect)


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
    return {"eq": left == right, "ne": left != right, "gt": left > right, "ge": left >= right,
            "lt": left < right, "le": left <= right}[op]


def _moment(literal_node) -> datetime:
    """Return a date or date-time literal as an aware UTC moment (a date is its midnight, UTC)."""
    if isinstance(literal_node, ast.Date):
        return datetime.combine(date.fromisoformat(literal_node.val), time(), timezone.utc)
    try:
        moment = datetime.fromisoformat(literal_node.val.replace("Z", "+00:00"))
    except ValueError:
        raise ODataError(f"'{literal_node.val}' is not a date-time.") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


# --- Reading entities ----------------------------------------------------------------------------------------

def compiler_for(session: Session, form: Form, model: Model, entity_set: EntitySet) -> FilterCompiler:
    """Return the $filter/$orderby compiler of an entity set for the session's caller."""
    hides = hides_identities(scope.caller_of(session))
    return FilterCompiler(model, entity_set, SubmissionRow.data, hides=hides,
                          sensitive=sensitive_paths(session, form) if hides else set(),
                          dialect=session.get_bind().dialect.name)


def _query(form: Form, entity_set: EntitySet):
    """Select the records (or, for a repeat, the rows) an entity set lists, with what `__system` needs.

    Submissions are joined to their root row (outer: a sealed record has none) so that a filter reads its
    answers; a repeat's rows are joined themselves.
    """
    versions = SubmissionVersion.__table__.alias("edits")
    edits = (select(func.count(versions.c.id) - 1).where(versions.c.submission_id == Submission.id)
             .correlate(Submission).scalar_subquery())
    query = (submissions_of(form).order_by(None)
             .join(SubmissionVersion, (SubmissionVersion.submission_id == Submission.id)
                   & SubmissionVersion.current.is_(True)))
    at_version = SubmissionRow.submission_version_id == SubmissionVersion.id
    if entity_set.is_root:
        query = query.outerjoin(SubmissionRow, at_version & SubmissionRow.parent_id.is_(None))
    else:
        query = query.join(SubmissionRow, at_version & (SubmissionRow.path == entity_set.path))
    return query.with_only_columns(
        Submission.id, Submission.instance_id, Submission.created_at, Submission.updated_at,
        Submission.review_state, Submission.user_id, Submission.device_id,
        SubmissionVersion.id.label("version_id"), SubmissionVersion.form_version_id,
        SubmissionVersion.device_ident, SubmissionVersion.version_string,
        (SubmissionVersion.encrypted & SubmissionVersion.plain_xml.is_(None)).label("sealed"),
        edits.label("edits"), SubmissionRow.id.label("row_id"))


@dataclass
class Page:
    """One response's entities, the position after them (None on the last page) and the total if counted."""

    entities: list[dict]
    after: dict | None = None
    count: int | None = None


def read_page(session: Session, form: Form, model: Model, options: Options) -> Page:
    """Read one page of an entity set as the session's caller may see it: scoped, filtered, sorted, redacted.

    Without $orderby pages are keyset pages in arrival order (a record sent meanwhile never shifts a page);
    with it, the position is an offset.
    """
    entity_set = options.entity_set
    query = _query(form, entity_set)
    if options.where is not None:
        query = query.where(options.where)
    count = None
    if options.count:
        counted = SubmissionRow.id if not entity_set.is_root else Submission.id
        count = session.scalar(query.with_only_columns(func.count(counted)).order_by(None))
    keys = [Submission.id] if entity_set.is_root else [Submission.id, SubmissionRow.id]
    token = options.token or {}
    offset = options.skip if options.token is None else token.get("skip", 0)
    if "id" in token and not options.order:
        offset = 0
        after = Submission.id > token["id"]
        if not entity_set.is_root:
            after = or_(after, and_(Submission.id == token["id"], SubmissionRow.id > token.get("row", 0)))
        query = query.where(after)
    found = session.execute(query.order_by(*options.order, *keys).offset(offset).limit(options.top + 1)).all()
    page, more = found[:options.top], len(found) > options.top and options.top > 0
    after = None
    if more:
        last = page[-1]
        after = ({"skip": offset + options.top} if options.order
                 else {"id": last.id} if entity_set.is_root else {"id": last.id, "row": last.row_id})
    return Page(_entities(session, model, options, page), after, count)


def read_record(session: Session, form: Form, model: Model, instance_id: str, segments: list[tuple[str, str | None]],
                options: Options) -> Page:
    """Read one record (`Submissions('<id>')`), or the rows of one of its repeats that a navigation link
    names (`Submissions('<id>')/household('<row id>')/member`), with $top/$skip/$count applied.

    :raise NoSuchEntity: no such record for this caller, or no such repeat.
    """
    record = session.execute(_query(form, model.sets["Submissions"])
                             .where(Submission.instance_id == instance_id)).first()
    if record is None:
        raise NoSuchEntity("Could not find the resource you were looking for.")
    if not segments:
        return Page(_entities(session, model, options, [record]), count=1 if options.count else None)
    entity_set = options.entity_set
    tree = _trees(session, [record])[record.version_id]
    within = next((row_id for _name, row_id in reversed(segments) if row_id is not None), None)
    rows = [r for r in tree.rows if r["path"] == entity_set.path
            and (within is None or within in tree.ancestor_ids(r))]
    chosen = rows[options.skip:options.skip + options.top]
    builder = _Builder(model, options, {})
    return Page([builder.row_entity(entity_set, row, tree) for row in chosen],
                count=len(rows) if options.count else None)


class _Tree:
    """The stored rows of one record version, indexed for building entities: children, KEYs and `__id`s."""

    def __init__(self, instance_id: str, rows: list[dict]):
        self.instance_id, self.rows = instance_id, rows
        self.by_id = {r["id"]: r for r in rows}
        self.children: dict[tuple[int, str], list[dict]] = {}
        for row in rows:
            if row["parent_id"] is not None:
                self.children.setdefault((row["parent_id"], row["path"]), []).append(row)
        self._keys: dict[int, str] = {}

    def root(self) -> dict | None:
        return next((r for r in self.rows if r["parent_id"] is None), None)

    def key(self, row: dict) -> str:
        """Return a row's KEY as the CSV export writes it (`uuid:.../household[1]/member[2]`)."""
        if row["id"] not in self._keys:
            parent = self.by_id.get(row["parent_id"])
            self._keys[row["id"]] = self.instance_id if parent is None else (
                f"{self.key(parent)}/{row['path'][len(parent['path']) + 1:]}[{row['position']}]")
        return self._keys[row["id"]]

    def entity_id(self, row: dict) -> str:
        """Return a row's `__id`: the instance ID for the root, the SHA-1 of its KEY for a repeat row."""
        if row["parent_id"] is None:
            return self.instance_id
        return hashlib.sha1(self.key(row).encode()).hexdigest()

    def ancestor_ids(self, row: dict) -> list[str]:
        ids = []
        while row["parent_id"] is not None:
            row = self.by_id[row["parent_id"]]
            ids.append(self.entity_id(row))
        return ids


def _rows(session: Session, version_ids: list[int], roots_only: bool) -> dict[int, list[dict]]:
    """Return the stored rows of some versions by version, parents first (only the root rows when a page of
    Submissions neither expands nor otherwise needs repeat rows)."""
    out: dict[int, list[dict]] = {v: [] for v in version_ids}
    query = (select(SubmissionRow.submission_version_id, SubmissionRow.id, SubmissionRow.parent_id,
                    SubmissionRow.path, SubmissionRow.position, SubmissionRow.data)
             .where(SubmissionRow.submission_version_id.in_(version_ids)).order_by(SubmissionRow.id))
    if roots_only:
        query = query.where(SubmissionRow.parent_id.is_(None))
    for version_id, row_id, parent_id, path, position, data in session.execute(query):
        out[version_id].append({"id": row_id, "parent_id": parent_id, "path": path, "position": position,
                                "data": dict(data)})
    return out


def _trees(session: Session, page, roots_only: bool = False) -> dict[int, _Tree]:
    """Return the rows of each record version of a page, redacted for the session's caller."""
    version_ids = list(dict.fromkeys(r.version_id for r in page))
    rows_by_version = _rows(session, version_ids, roots_only)
    if hides_identities(scope.caller_of(session)):
        form_versions = {r.version_id: r.form_version_id for r in page}
        fields = dict(session.execute(select(FormVersion.id, FormVersion.fields)
                                      .where(FormVersion.id.in_(set(form_versions.values())))).all())
        for version_id, rows in rows_by_version.items():
            redact_rows(rows, fields.get(form_versions[version_id]) or [])
    instance_ids = {r.version_id: r.instance_id for r in page}
    return {v: _Tree(instance_ids[v], rows) for v, rows in rows_by_version.items()}


def _entities(session: Session, model: Model, options: Options, page) -> list[dict]:
    if not page:
        return []
    entity_set = options.entity_set
    trees = _trees(session, page, roots_only=entity_set.is_root and not options.expand)
    builder = _Builder(model, options, {})
    if not entity_set.is_root:
        return [builder.row_entity(entity_set, trees[r.version_id].by_id[r.row_id], trees[r.version_id])
                for r in page]
    version_ids = [r.version_id for r in page]
    builder.files = _attachments_of(session, version_ids)
    builder.names = _submitter_names(session, page)
    return [builder.root_entity(r, trees[r.version_id]) for r in page]


class _Builder:
    """Build entities from stored rows: nulls for unanswered fields, groups as objects, repeats as navigation
    links (and inline with $expand=*), values typed as $metadata says."""

    def __init__(self, model: Model, options: Options, files: dict):
        self.model, self.options, self.files, self.names = model, options, files, {}

    def root_entity(self, record, tree: _Tree) -> dict:
        link = f"Submissions('{quote(record.instance_id, safe='')}')"
        entity = {"__id": record.instance_id, **self._frame(self.model.root, tree.root(), tree, link)}
        system = self._system(record)
        ids = self.options.ids
        if self.options.select is None or "__system" in ids:
            entity["__system"] = system
        elif any(i.startswith("__system/") for i in ids):
            entity["__system"] = {k: v for k, v in system.items() if f"__system/{k}" in ids}
        return entity

    def row_entity(self, entity_set: EntitySet, row: dict, tree: _Tree, inline: bool = False) -> dict:
        entity = {"__id": tree.entity_id(row), **self._frame(entity_set.node, row, tree, self._link(row, tree))}
        if not inline and (self.options.select is None or entity_set.parent_key in self.options.ids):
            entity[entity_set.parent_key] = tree.entity_id(tree.by_id[row["parent_id"]])
        return entity

    def _link(self, row: dict, tree: _Tree) -> str:
        """Return the navigation path of a row (`Submissions('<id>')/household('<row id>')`)."""
        if row["parent_id"] is None:
            return f"Submissions('{quote(tree.instance_id, safe='')}')"
        parent = tree.by_id[row["parent_id"]]
        node = self.model.nodes[row["path"]]
        names = self.model.names_of(node)[len(self.model.names_of(self.model.nodes[parent["path"]])):]
        return "/".join([self._link(parent, tree), *names[:-1], f"{names[-1]}('{tree.entity_id(row)}')"])

    def _frame(self, node: Node, row: dict | None, tree: _Tree, link: str) -> dict:
        data = row["data"] if row is not None else {}
        keep, out = self.options.select, {}
        for child in node.children:
            if keep is not None and child not in keep:
                continue
            if child.kind == "question":
                out[child.name] = value_of(child, data.get(child.key), self.options.wkt)
            elif child.kind == "group":
                out[child.name] = self._frame(child, row, tree, f"{link}/{child.name}")
            else:
                out[f"{child.name}@odata.navigationLink"] = f"{link}/{child.name}"
                if self.options.expand:
                    instances = tree.children.get((row["id"], child.field["path"]), []) if row else []
                    entity_set = self.model.sets[self.model.set_name(child)]
                    out[child.name] = [self.row_entity(entity_set, r, tree, inline=True) for r in instances]
        return out

    def _system(self, record) -> dict:
        submitter = ("user", record.user_id) if record.user_id is not None else ("device", record.device_id)
        present, expected = self.files.get(record.version_id, (0, 0))
        return {
            "submissionDate": iso(record.created_at), "updatedAt": iso(record.updated_at),
            "submitterId": str(submitter[1]) if submitter[1] is not None else None,
            "submitterName": self.names.get(submitter) or None,
            "attachmentsPresent": present, "attachmentsExpected": expected,
            "status": "notDecrypted" if record.sealed else None,
            "reviewState": record.review_state, "deviceId": record.device_ident,
            "edits": record.edits, "formVersion": record.version_string,
        }


def value_of(node: Node, value, wkt: bool = False):
    """Return a stored answer as its Edm type wants it: numbers as numbers (a kept text that did not parse is
    null, as Central's), a choice of several as its space-separated names, places as GeoJSON (or WKT)."""
    if value is None:
        return None
    kind = node.field.get("xml_type")
    if kind in answers.NUMBERS:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        return int(value) if kind == "int" and float(value).is_integer() else value
    if kind in ("geopoint", "geotrace", "geoshape") and isinstance(value, str):
        return _geo(kind, value, wkt)
    if isinstance(value, list):
        return " ".join(str(v) for v in value)
    return value if isinstance(value, str) else str(value)


def _points(text: str) -> list[tuple[list[float], float | None]]:
    points = []
    for part in text.split(";"):
        try:
            numbers = [float(n) for n in part.split()]
        except ValueError:
            continue
        if len(numbers) >= 2:
            coordinates = [numbers[1], numbers[0]] + numbers[2:3]
            points.append((coordinates, numbers[3] if len(numbers) > 3 else None))
    return points


def _geo(kind: str, text: str, wkt: bool):
    """Write a place as Central does: GeoJSON [longitude, latitude, altitude], accuracy as a property."""
    points = _points(text)
    if not points:
        return None
    if wkt:
        coordinates = ",".join(" ".join(_number(c) for c in p) for p, _ in points)
        return {"geopoint": f"POINT ({coordinates})", "geotrace": f"LINESTRING ({coordinates})",
                "geoshape": f"POLYGON (({coordinates}))"}[kind]
    if kind == "geopoint":
        shape = {"type": "Point", "coordinates": points[0][0]}
        if points[0][1] is not None:
            shape["properties"] = {"accuracy": points[0][1]}
        return shape
    coordinates = [p for p, _ in points]
    shape = ({"type": "LineString", "coordinates": coordinates} if kind == "geotrace"
             else {"type": "Polygon", "coordinates": [coordinates]})
    if any(a is not None for _, a in points):
        shape["properties"] = {"accuracies": [a for _, a in points]}
    return shape


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() else str(value)
