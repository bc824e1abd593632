"""The OData entity model of a form, and its service and metadata (EDMX) documents, as Central writes them.

The model is built from the union of the field trees of every published version (`ingest.exports.walk.union_fields`),
so a removed field keeps its property and a new one is null for older records: columns never shift. Names
follow Central: each field name made an OData identifier, groups as complex types, each repeat an entity set
`Submissions.<path with dots>` whose rows carry `__id` and the `__id` of their parent (`__Submissions-id`,
`__Submissions-<outer repeat path>-id`). The errors every part of the OData read raises live here too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field as dc_field
from xml.etree import ElementTree

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.errors import (
    IDENTITIES_HIDDEN,
    NOT_FOUND,
    NOT_IMPLEMENTED,
    ODATA_NO_PROPERTY,
    ODATA_REPEAT_PROPERTY,
    IngestError,
)
from ingest.exports.walk import union_fields
from ingest.models import Form, FormVersion
from ingest.tags import row_key

EDMX_NS = "http://docs.oasis-open.org/odata/ns/edmx"
EDM_NS = "http://docs.oasis-open.org/odata/ns/edm"
#: Namespace of the `__system` complex type, and prefix of each form's namespace, as Central names them.
SYSTEM_NS = "org.opendatakit.submission"
USER_NS = "org.opendatakit.user"
#: Edm types by bind type; any other type is Edm.String.
EDM_TYPES = {
    "int": "Edm.Int64",
    "decimal": "Edm.Decimal",
    "date": "Edm.Date",
    "dateTime": "Edm.DateTimeOffset",
    "geopoint": "Edm.GeographyPoint",
    "geotrace": "Edm.GeographyLineString",
    "geoshape": "Edm.GeographyPolygon",
}
#: The `__system` properties in Central's order, with their Edm types.
SYSTEM_PROPERTIES = (
    ("submissionDate", "Edm.DateTimeOffset"),
    ("updatedAt", "Edm.DateTimeOffset"),
    ("deletedAt", "Edm.DateTimeOffset"),
    ("submitterId", "Edm.String"),
    ("submitterName", "Edm.String"),
    ("attachmentsPresent", "Edm.Int64"),
    ("attachmentsExpected", "Edm.Int64"),
    ("status", f"{SYSTEM_NS}.Status"),
    ("reviewState", f"{SYSTEM_NS}.ReviewState"),
    ("deviceId", "Edm.String"),
    ("edits", "Edm.Int64"),
    ("formVersion", "Edm.String"),
)


class ODataError(IngestError):
    """A query option this server cannot answer (400 unless a subclass says otherwise)."""


class NotAllowed(ODataError):
    """A filter or sort on a field the caller may not see (403)."""

    code = IDENTITIES_HIDDEN


class NoSuchEntity(ODataError):
    """No such entity set or record (404)."""

    code = NOT_FOUND


class NotImplementedHere(ODataError):
    """An OData feature Central does not offer either (501, as Central answers)."""

    code = NOT_IMPLEMENTED


def identifier(name: str) -> str:
    """Make a field name an OData identifier as Central does: a leading non-letter gets an underscore, and
    each run of characters other than ASCII letters, digits and underscores becomes one underscore."""
    name = re.sub(r"^([^A-Za-z_])", r"_\1", name)
    return re.sub(r"[^A-Za-z0-9_]+", "_", name)


@dataclass(eq=False)
class Node:
    """A question, group or repeat of the model (or the instance root), with its OData name."""

    name: str
    kind: str  # root, question, group or repeat
    field: dict | None = None
    #: a question's key in its row's data (relative to the row: `group/question`).
    key: str = ""
    children: list[Node] = dc_field(default_factory=list)
    parent: Node | None = None

    @property
    def edm(self) -> str:
        return EDM_TYPES.get(self.field.get("xml_type") or "", "Edm.String") if self.field else "Edm.String"

    @property
    def form_field(self) -> dict:
        """Return the form's field of a question, group or repeat.

        :raise LookupError: the node is the instance root, which is no field.
        """
        if self.field is None:
            raise LookupError("the instance root is not a field of the form")
        return self.field

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

    def __init__(self, xml_form_id: str, fields: list[dict], drafts: bool = False):
        self.xml_form_id = xml_form_id
        #: the model of a draft (Central's draft.svc): its entities are the draft's test records.
        self.drafts = drafts
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
        current: Node | None = node
        while current is not None and current.kind != "root":
            names.append(current.name)
            current = current.parent
        return names[::-1]

    @staticmethod
    def enclosing_repeat(node: Node) -> Node | None:
        """Return the innermost repeat strictly above `node` (None at the root)."""
        above = node.parent
        while above is not None and above.kind != "repeat":
            above = above.parent
        return above

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
            child = next((c for c in node.children if c.name == part), None)
            if child is None:
                raise ODataError(f"Could not find a property named '{path}'.", ODATA_NO_PROPERTY)
            node = child
            if node.kind == "repeat":
                raise ODataError(
                    f"The property '{path}' is a repeat, or inside one: ask the entity set {self.set_name(node)}.",
                    ODATA_REPEAT_PROPERTY,
                )
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
        return {
            "@odata.context": f"{service_url}/$metadata",
            "value": [{"name": name, "kind": "EntitySet", "url": name} for name in self.sets],
        }

    def edmx(self) -> bytes:
        """Return the metadata document (EDMX 4.0) in Central's shape."""
        root = ElementTree.Element("edmx:Edmx", {"xmlns:edmx": EDMX_NS, "Version": "4.0"})
        services = ElementTree.SubElement(root, "edmx:DataServices")
        system = ElementTree.SubElement(services, "Schema", {"xmlns": EDM_NS, "Namespace": SYSTEM_NS})
        metadata = ElementTree.SubElement(system, "ComplexType", {"Name": "metadata"})
        for name, edm in SYSTEM_PROPERTIES:
            ElementTree.SubElement(metadata, "Property", {"Name": name, "Type": edm})
        for enum, members in (
            ("Status", ("notDecrypted", "missingEncryptedFormData")),
            ("ReviewState", ("hasIssues", "edited", "rejected", "approved")),
        ):
            element = ElementTree.SubElement(system, "EnumType", {"Name": enum})
            for member in members:
                ElementTree.SubElement(element, "Member", {"Name": member})
        schema = ElementTree.SubElement(services, "Schema", {"xmlns": EDM_NS, "Namespace": self.namespace})
        for entity_set in self.sets.values():
            entity = ElementTree.SubElement(schema, "EntityType", {"Name": entity_set.name})
            key = ElementTree.SubElement(entity, "Key")
            ElementTree.SubElement(key, "PropertyRef", {"Name": "__id"})
            ElementTree.SubElement(entity, "Property", {"Name": "__id", "Type": "Edm.String"})
            if entity_set.parent_key is None:  # the root entity set
                ElementTree.SubElement(entity, "Property", {"Name": "__system", "Type": f"{SYSTEM_NS}.metadata"})
            else:
                ElementTree.SubElement(entity, "Property", {"Name": entity_set.parent_key, "Type": "Edm.String"})
            self._properties(entity, entity_set.node)
        for node in self.root.walk():
            if node.kind == "group":
                self._properties(
                    ElementTree.SubElement(schema, "ComplexType", {"Name": self.complex_type_name(node)}), node
                )
        container = ElementTree.SubElement(schema, "EntityContainer", {"Name": identifier(self.xml_form_id)})
        for entity_set in self.sets.values():
            element = ElementTree.SubElement(
                container, "EntitySet", {"Name": entity_set.name, "EntityType": f"{self.namespace}.{entity_set.name}"}
            )
            if entity_set.is_root:
                _capabilities(element)
        return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)

    def _properties(self, element, node: Node) -> None:
        for child in node.children:
            if child.kind == "question":
                ElementTree.SubElement(element, "Property", {"Name": child.name, "Type": child.edm})
            elif child.kind == "group":
                ElementTree.SubElement(
                    element,
                    "Property",
                    {"Name": child.name, "Type": f"{self.namespace}.{self.complex_type_name(child)}"},
                )
            else:
                ElementTree.SubElement(
                    element,
                    "NavigationProperty",
                    {
                        "Name": child.name,
                        "Type": f"Collection({self.namespace}.Submissions.{self.complex_type_name(child)})",
                    },
                )


def _capabilities(entity_set) -> None:
    """Annotate what this server offers on Submissions (more than Central: it filters and sorts answers)."""

    def term(name: str, **properties):
        annotation = ElementTree.SubElement(entity_set, "Annotation", {"Term": f"Org.OData.Capabilities.V1.{name}"})
        record = ElementTree.SubElement(annotation, "Record")
        for prop, value in properties.items():
            ElementTree.SubElement(record, "PropertyValue", {"Property": prop, "Bool": value})

    ElementTree.SubElement(
        entity_set,
        "Annotation",
        {
            "Term": "Org.OData.Capabilities.V1.ConformanceLevel",
            "EnumMember": "Org.OData.Capabilities.V1.ConformanceLevelType/Minimal",
        },
    )
    ElementTree.SubElement(
        entity_set, "Annotation", {"Term": "Org.OData.Capabilities.V1.BatchSupported", "Bool": "false"}
    )
    term("CountRestrictions", Countable="true")
    term("FilterRestrictions", Filterable="true", RequiresFilter="false")
    term("SortRestrictions", Sortable="true")
    term("ExpandRestrictions", Expandable="true")


def model_of(session: Session, form: Form, draft: FormVersion | None = None) -> Model:
    """Return the OData model of a form (every published version's fields), or of its `draft` (the draft's
    fields; its entities are the draft's test records)."""
    if draft is not None:
        return Model(form.xml_form_id, draft.fields, drafts=True)
    return Model(form.xml_form_id, union_fields(session, form))


def sensitive_paths(session: Session, form: Form) -> set[str]:
    """Return the paths of the fields tagged sensitive in any published version of a form."""
    versions = session.scalars(
        select(FormVersion.fields).where(FormVersion.form_id == form.id, FormVersion.published_at.is_not(None))
    )
    return {f["path"] for fields in versions for f in fields or () if f.get("sensitive")}
