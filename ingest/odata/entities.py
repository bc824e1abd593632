"""OData v4 over an entity list, as ODK Central serves it at `/datasets/<name>.svc`: the service document,
`$metadata`, and the `Entities` set with `$filter`, `$orderby`, `$select`, `$top`, `$skip` and `$count`.

`$filter` and `$orderby` are compiled by the submissions' compiler (ingest.odata.filters), with the entity
list's own names: `__id`, `label`, `__system/<createdAt|updatedAt|creatorId|version|conflict|deletedAt>`
and each property (ODK properties are text). A caller who may not see identities (ingest.entities.reads) may
neither filter nor sort on the label or a property: the entities found would tell their values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.sax.saxutils import quoteattr

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ingest import audit
from ingest.entities.reads import creator_id, creator_name, creator_names, hides, iso, odata_name, properties_of
from ingest.entity_models import Dataset, Entity
from ingest.errors import ODATA_FIELD_UNSUPPORTED, ODATA_NO_PROPERTY
from ingest.odata.filters import FilterCompiler, _Ref
from ingest.odata.model import NotAllowed, NotImplementedHere, ODataError

#: `__system` properties an entity filter or sort may name, and what kind of value each holds.
SYSTEM_COLUMNS = {
    "createdAt": (Entity.created_at, "moment"),
    "updatedAt": (Entity.updated_at, "moment"),
    "creatorId": (func.coalesce(Entity.creator_user_id, Entity.creator_device_id), "int"),
    "version": (Entity.version, "int"),
    "conflict": (Entity.conflict, "text"),
    # Always null here: a deleted entity is never in the set.
    "deletedAt": (Entity.deleted_at, "moment"),
}
#: Everything `__system` holds, in Central's order (deletedAt added).
SYSTEM = ("createdAt", "creatorId", "creatorName", "updates", "updatedAt", "version", "conflict", "deletedAt")


class EntityFilterCompiler(FilterCompiler):
    """The OData filter compiler, resolving an entity list's names instead of a form's."""

    def __init__(self, dataset: Dataset, hidden: bool):
        super().__init__(None, None, Entity.data, hides=hidden, sensitive=set())  # type: ignore[arg-type]
        self.names = {odata_name(n): n for n in properties_of(dataset)}

    def target(self, path: str, sorting: bool = False):
        """Resolve `__id`, `label`, `__system/...` or a property.

        :raise ODataError: an unknown property.  :raise NotAllowed: the label or a property, for a caller who
            may not see identities.
        """
        if path == "__id":
            ref = _Ref(path, column=Entity.uuid, kind="text")
        elif path.startswith("__system/") and path[9:] in SYSTEM_COLUMNS:
            column, kind = SYSTEM_COLUMNS[path[9:]]
            ref = _Ref(path, column=column, kind=kind)
        elif path.startswith("__system/"):
            raise NotImplementedHere(
                f"The given OData filter expression references fields not supported by this server: {path}; "
                f"of __system it filters and sorts on {', '.join(SYSTEM_COLUMNS)}.",
                ODATA_FIELD_UNSUPPORTED,
            )
        elif path == "label" or path in self.names:
            if self.hides:
                raise NotAllowed(
                    f"The property '{path}' of an entity may identify a person and your role does not see "
                    f"identities: it can be neither filtered nor sorted on."
                )
            column = Entity.label if path == "label" else Entity.data[self.names[path]].as_string()
            ref = _Ref(path, column=column, kind="text")
        else:
            raise ODataError(f"Could not find a property named '{path[:80]}'.", ODATA_NO_PROPERTY)
        return ref.sql if sorting else ref


def service_document(url: str) -> dict:
    """Return the service document of an entity list's `.svc` (one entity set, `Entities`)."""
    return {
        "@odata.context": f"{url}/$metadata",
        "value": [{"name": "Entities", "kind": "EntitySet", "url": "Entities"}],
    }


def edmx(dataset: Dataset) -> str:
    """Return the EDMX 4.0 metadata document of an entity list, as Central names it."""
    system = {
        "createdAt": "Edm.DateTimeOffset",
        "creatorId": "Edm.String",
        "creatorName": "Edm.String",
        "updates": "Edm.Int64",
        "updatedAt": "Edm.DateTimeOffset",
        "version": "Edm.Int64",
        "conflict": "Edm.String",
        "deletedAt": "Edm.DateTimeOffset",
    }
    name = quoteattr(dataset.name)[1:-1]
    props = "".join(f'<Property Name={quoteattr(odata_name(p))} Type="Edm.String"/>' for p in properties_of(dataset))
    meta = "".join(f"<Property Name={quoteattr(k)} Type={quoteattr(v)}/>" for k, v in system.items())
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<edmx:Edmx xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx" Version="4.0">'
        "<edmx:DataServices>"
        '<Schema xmlns="http://docs.oasis-open.org/odata/ns/edm" Namespace="org.opendatakit.entity">'
        f'<ComplexType Name="metadata">{meta}</ComplexType></Schema>'
        f'<Schema xmlns="http://docs.oasis-open.org/odata/ns/edm" Namespace="org.opendatakit.user.{name}">'
        '<EntityType Name="Entities"><Key><PropertyRef Name="__id"/></Key>'
        '<Property Name="__id" Type="Edm.String"/><Property Name="label" Type="Edm.String"/>'
        f'<Property Name="__system" Type="org.opendatakit.entity.metadata"/>{props}</EntityType>'
        f'<EntityContainer Name="{name}">'
        f'<EntitySet Name="Entities" EntityType="org.opendatakit.user.{name}.Entities"/>'
        "</EntityContainer></Schema></edmx:DataServices></edmx:Edmx>"
    )


@dataclass
class Query:
    """What one request asks of `Entities`."""

    top: int
    skip: int = 0
    count: bool = False
    where: list = field(default_factory=list)
    order: list = field(default_factory=list)
    #: the keys to keep (`__id`, `label`, `__system`, `__system/<x>`, OData names of properties); None: all.
    select: set[str] | None = None
    uuid: str | None = None


def read_select(dataset: Dataset, text: str) -> set[str]:
    """Read a `$select` of `Entities`.

    :raise ODataError: an unknown property.
    """
    known = {"__id", "label", "__system", *(f"__system/{k}" for k in SYSTEM), *map(odata_name, properties_of(dataset))}
    chosen = {part.strip() for part in text.split(",") if part.strip()}
    unknown = sorted(chosen - known)
    if unknown:
        raise ODataError(f"Could not find a property named '{unknown[0][:80]}'.", ODATA_NO_PROPERTY)
    return chosen


def read_page(session: Session, dataset: Dataset, query: Query) -> tuple[list[dict], int | None, bool]:
    """Return a page of the list's entities the caller may see as OData rows, the count of all that match
    (with `count`) and whether more follow; audited once (`entity.list`, format odata).

    With `query.uuid`, only that entity (an empty page when the caller may not see it).
    """
    hidden = hides(session)
    conditions = [Entity.dataset_id == dataset.id, Entity.deleted_at.is_(None), *query.where]
    if query.uuid is not None:
        conditions.append(Entity.uuid == query.uuid)
    base = select(Entity).where(*conditions)
    # Counted on the entity itself (never a subquery), so that the scope's criteria apply to the count too.
    total = session.scalar(select(func.count(Entity.id)).where(*conditions)) if query.count else None
    ordered = base.order_by(*query.order, Entity.id)
    rows = list(session.scalars(ordered.offset(query.skip).limit(query.top + 1)))
    more = len(rows) > query.top
    rows = rows[: query.top]
    creators = creator_names(session, rows)
    names = properties_of(dataset)
    body = [_row(r, names, hidden, creators, query.select) for r in rows]
    audit.record(session, "entity.list", f"dataset:{dataset.name}", count=len(body), format="odata")
    return body, total, more


def _row(entity: Entity, names: list[str], hidden: bool, creators, chosen: set[str] | None) -> dict:
    data = entity.data or {}
    system = {
        "createdAt": iso(entity.created_at),
        "creatorId": str(creator_id(entity)),
        "creatorName": creator_name(creators, entity),
        "updates": entity.version - 1,
        "updatedAt": iso(entity.updated_at),
        "version": entity.version,
        "conflict": entity.conflict,
        "deletedAt": iso(entity.deleted_at),
    }
    row: dict = {"__id": entity.uuid, "label": None if hidden else entity.label, "__system": system}
    for name in names:
        row[odata_name(name)] = None if hidden else data.get(name)
    if chosen is None:
        return row
    kept = {k: v for k, v in row.items() if k in chosen}
    parts = {k.split("/", 1)[1] for k in chosen if k.startswith("__system/")}
    if parts and "__system" not in chosen:
        kept["__system"] = {k: v for k, v in system.items() if k in parts}
    return kept
