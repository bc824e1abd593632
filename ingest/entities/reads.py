"""Reads of entity lists and entities for the API, shaped as ODK Central answers them, scoped and audited.

Datasets (entity lists) and their properties describe the shape of the data, like a form: every staff role
reads them. Entities are records: every query on them runs in the caller's scope (ingest.scope filters
`Entity` and `EntityVersion` by province and consent, so an entity outside the scope is simply not found),
and each read that shows their labels or properties is audited once (`entity.list`, `entity.read`,
`entity.read_versions`), never with the data itself.

A caller who may not see identities (an analyst) gets every entity's label and properties hidden: an
entity list holds what forms saved about a person (its label is usually the person's name or case code),
and no field tree says which of its properties would be safe. The JSON label then reads REDACTED (pyodk's
model needs a string there) and every property null; OData and CSV give null and empty cells.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ingest import audit, scope
from ingest.access import SYSTEM
from ingest.csv_safe import Writer, neutralise
from ingest.db import aware
from ingest.entities.datasets import EntityError, published_properties
from ingest.entities.store import clean_uuid
from ingest.entity_models import Dataset, Entity, EntityVersion
from ingest.models import Device, Form, FormVersion, User
from ingest.redaction import hides_identities

#: What a hidden label reads in JSON (pyodk's Entity model needs a string).
REDACTED = "[redacted]"


def iso(moment: datetime | None) -> str | None:
    """Format a moment as Central does: ISO 8601 with a Z for UTC (as ingest.records.describe.iso)."""
    return None if moment is None else aware(moment).isoformat().replace("+00:00", "Z")


def current_version(session: Session, form: Form) -> FormVersion | None:
    """Return the form's most recently published version (as ingest.publishing.versions.current_version, which
    this floor may not import)."""
    return session.scalar(
        select(FormVersion)
        .where(FormVersion.form_id == form.id, FormVersion.published_at.is_not(None))
        .order_by(FormVersion.published_at.desc(), FormVersion.id.desc())
        .limit(1)
    )


def parse_uuid(text: object) -> str | None:
    """Return an entity UUID in the form stored (lower case, no `uuid:` prefix), or None if `text` is not one."""
    try:
        return clean_uuid(text)
    except EntityError:
        return None


def list_datasets(session: Session, project_id: int) -> list[Dataset]:
    """Return the project's entity lists, by name."""
    return list(session.scalars(select(Dataset).where(Dataset.project_id == project_id).order_by(Dataset.name)))


def dataset_json(dataset: Dataset) -> dict:
    """Describe an entity list as Central lists it (pyodk's EntityList)."""
    return {
        "name": dataset.name,
        "createdAt": iso(dataset.created_at),
        "projectId": dataset.project_id,
        "approvalRequired": bool(dataset.approval_required),
    }


def dataset_counts(session: Session, dataset: Dataset) -> dict:
    """Return Central's extended metadata of a list: the entities the caller may see, the newest of their
    creation times, and how many are in conflict (counts only: not an identifiable read)."""
    scope.require_caller(session)
    live = (Entity.dataset_id == dataset.id, Entity.deleted_at.is_(None))
    count, last = session.execute(select(func.count(Entity.id), func.max(Entity.created_at)).where(*live)).one()
    conflicts = session.scalar(select(func.count(Entity.id)).where(*live, Entity.conflict.is_not(None)))
    return {"entities": count, "lastEntity": iso(last), "conflicts": conflicts}


def _xml_forms(session: Session, project_id: int) -> list[tuple[Form, str, list[str]]]:
    """Return each form of the project with its current version's XForm and media names."""
    found = []
    for form in session.scalars(select(Form).where(Form.project_id == project_id).order_by(Form.xml_form_id)):
        version = current_version(session, form)
        if version is not None:
            found.append((form, version.xml, [a.name for a in version.attachments]))
    return found


def _declares(xml: str, dataset: str) -> bool:
    """Say whether an XForm writes to `dataset` (its meta/entity names it)."""
    return re.search(r"<entity\b[^>]*\bdataset=\"" + re.escape(dataset) + '"', xml) is not None


def _saves_to(xml: str) -> set[str]:
    """Return the properties an XForm's binds save to (`entities:saveto`)."""
    return set(re.findall(r"\bentities:saveto=\"([^\"]+)\"", xml))


def dataset_metadata(session: Session, dataset: Dataset) -> dict:
    """Describe an entity list as Central does for one list: the forms that write it (sourceForms), the forms
    that read it as `<name>.csv` (linkedForms) and its published properties, each with the forms saving to it.

    A property's `forms` lists xmlFormIds (strings), which is what pyodk 1.3.0's model reads (Central sends
    objects there, which that model refuses).
    """
    forms = _xml_forms(session, dataset.project_id)
    sources = [(f, xml) for f, xml, _media in forms if _declares(xml, dataset.name)]
    linked = [f for f, _xml, media in forms if f"{dataset.name}.csv" in media]
    titles = {f.xml_form_id: _title(session, f) for f, _xml, _media in forms}
    saved = {f.xml_form_id: _saves_to(xml) for f, xml in sources}
    return {
        **dataset_json(dataset),
        "sourceForms": [{"xmlFormId": f.xml_form_id, "name": titles[f.xml_form_id]} for f, _xml in sources],
        "linkedForms": [{"xmlFormId": f.xml_form_id, "name": titles[f.xml_form_id]} for f in linked],
        "properties": [
            {
                "name": p.name,
                "publishedAt": iso(p.published_at),
                "odataName": odata_name(p.name),
                "forms": [form_id for form_id, names in saved.items() if p.name in names],
            }
            for p in dataset.properties
            if p.published_at is not None
        ],
    }


def _title(session: Session, form: Form) -> str:
    version = current_version(session, form)
    return version.title if version is not None else form.xml_form_id


def odata_name(name: str) -> str:
    """Return a property name as an OData identifier, as Central does (each run of other characters: `_`)."""
    return re.sub(r"[^A-Za-z0-9_]+", "_", name)


#: The names of a list's published properties, in the order they were added.
properties_of = published_properties


# --- entities --------------------------------------------------------------------------------------------


def _live(query, deleted: bool):
    return query.where(Entity.deleted_at.is_not(None) if deleted else Entity.deleted_at.is_(None))


def find_entity(session: Session, dataset: Dataset, uuid: str, *, deleted: bool = False) -> Entity | None:
    """Return the entity `uuid` of the list if the caller may see it (None otherwise, as for no entity);
    a deleted entity only with `deleted`."""
    scope.require_caller(session)
    query = select(Entity).where(Entity.dataset_id == dataset.id, Entity.uuid == uuid)
    return session.scalar(query if deleted else _live(query, False))


def creator_names(session: Session, rows: Iterable[Entity | EntityVersion]) -> dict[tuple[str, int], str]:
    """Return the display names of the users and devices that made `rows`, keyed ("user"|"device", id)."""
    rows = list(rows)
    users = {r.creator_user_id for r in rows if r.creator_user_id is not None}
    devices = {r.creator_device_id for r in rows if r.creator_device_id is not None}
    names: dict[tuple[str, int], str] = {}
    if users:
        for id_, name, email in session.execute(
            select(User.id, User.display_name, User.email).where(User.id.in_(users))
        ):
            names["user", id_] = name or email
    if devices:
        for id_, name in session.execute(select(Device.id, Device.display_name).where(Device.id.in_(devices))):
            names["device", id_] = name
    return names


def creator_id(row: Entity | EntityVersion) -> int:
    """Central's creatorId: the user's id, else the device's (as a record's submitterId), 0 for the server."""
    if row.creator_user_id is not None:
        return row.creator_user_id
    return row.creator_device_id if row.creator_device_id is not None else 0


def creator_name(names: dict[tuple[str, int], str], row: Entity | EntityVersion) -> str:
    if row.creator_user_id is not None:
        return names.get(("user", row.creator_user_id), "")
    if row.creator_device_id is not None:
        return names.get(("device", row.creator_device_id), "")
    return "server"


def _data(data: dict | None, names: list[str], hidden: bool) -> dict:
    """Return the properties as Central shows them: every published property, "" when never given."""
    data = data or {}
    return {n: (None if hidden else data.get(n, "")) for n in names} | {
        k: (None if hidden else v) for k, v in data.items() if k not in names
    }


def entity_json(
    entity: Entity,
    current: EntityVersion | None,
    names: list[str],
    hidden: bool,
    creators: dict[tuple[str, int], str],
    *,
    with_data: bool,
) -> dict:
    """Describe an entity as Central does (pyodk's Entity): its metadata and `current` version; the data only
    for one entity (`with_data`), as Central's list leaves it out."""
    made = current if current is not None else entity
    version = {
        "label": REDACTED if hidden else entity.label,
        "current": True,
        "createdAt": iso(current.created_at if current is not None else entity.updated_at or entity.created_at),
        "creatorId": creator_id(made),
        "userAgent": (current.user_agent if current is not None else None) or "",
        "version": entity.version,
        "baseVersion": current.base_version if current is not None else None,
        "conflictingProperties": current.conflicting_properties if current is not None else None,
        "conflict": current.conflict if current is not None else None,
    }
    if with_data:
        version["data"] = _data(entity.data, names, hidden)
    return {
        "uuid": entity.uuid,
        "creatorId": creator_id(entity),
        "creatorName": creator_name(creators, entity),
        "createdAt": iso(entity.created_at),
        "updatedAt": iso(entity.updated_at),
        "deletedAt": iso(entity.deleted_at),
        "conflict": entity.conflict,
        "province": entity.province_code,
        "currentVersion": version,
    }


def hides(session: Session) -> bool:
    return hides_identities(scope.require_caller(session))


def list_entities(session: Session, dataset: Dataset, *, deleted: bool = False) -> list[dict]:
    """Return the list's entities the caller may see, oldest first (only the deleted ones with `deleted`,
    as Central's `?deleted=true`); audited once (`entity.list`) with their count."""
    hidden = hides(session)
    query = _live(select(Entity).where(Entity.dataset_id == dataset.id), deleted).order_by(Entity.id)
    rows = list(session.scalars(query))
    versions = current_versions(session, rows)
    creators = creator_names(session, [*rows, *versions.values()])
    names = properties_of(dataset)
    body = [entity_json(row, versions.get(row.id), names, hidden, creators, with_data=False) for row in rows]
    audit.record(session, "entity.list", f"dataset:{dataset.name}", count=len(body), format="json")
    return body


def current_versions(session: Session, rows: list[Entity]) -> dict[int, EntityVersion]:
    """Return the current version of each entity, by entity id, in one query per thousand entities."""
    found: dict[int, EntityVersion] = {}
    ids = [r.id for r in rows]
    # `rows` were read in the caller's scope, so their versions are too: read as the server, the versions skip
    # the scope's per-row check (a correlated EXISTS on their entity), which cost more than the read itself.
    with scope.acting_as(session, SYSTEM):
        for start in range(0, len(ids), 1000):
            query = (
                select(EntityVersion)
                .join(Entity, Entity.id == EntityVersion.entity_id)
                .where(Entity.id.in_(ids[start : start + 1000]), EntityVersion.version == Entity.version)
            )
            found.update((v.entity_id, v) for v in session.scalars(query))
    return found


def read_entity(session: Session, dataset: Dataset, entity: Entity) -> dict:
    """Return one entity with its current data, hidden as the caller's redaction says; audited
    (`entity.read`)."""
    hidden = hides(session)
    current = current_versions(session, [entity]).get(entity.id)
    creators = creator_names(session, [entity, *([current] if current is not None else [])])
    body = entity_json(entity, current, properties_of(dataset), hidden, creators, with_data=True)
    audit.record(session, "entity.read", f"entity:{entity.uuid}", dataset=dataset.name)
    return body


def version_json(
    version: EntityVersion, entity: Entity, names: list[str], hidden: bool, creators: dict[tuple[str, int], str]
) -> dict:
    """Describe one version of an entity as Central lists them (its data, what the change sent, its source)."""
    received = version.data_received or {}
    return {
        "version": version.version,
        "baseVersion": version.base_version,
        "label": REDACTED if hidden else version.label,
        "current": version.version == entity.version,
        "createdAt": iso(version.created_at),
        "creatorId": creator_id(version),
        "creatorName": creator_name(creators, version),
        "userAgent": version.user_agent or "",
        "data": _data(version.data, names, hidden),
        "dataReceived": {k: (None if hidden else v) for k, v in received.items()},
        "conflict": version.conflict,
        "conflictingProperties": version.conflicting_properties,
        "branchId": version.branch_id,
        "trunkVersion": version.trunk_version,
        "branchBaseVersion": version.branch_base_version,
        "source": {"type": "submission" if version.submission_id is not None else "api"},
    }


def read_versions(session: Session, dataset: Dataset, entity: Entity) -> list[dict]:
    """Return every version of an entity, oldest first, as the caller may see them; audited
    (`entity.read_versions`)."""
    hidden = hides(session)
    versions = list(
        session.scalars(
            select(EntityVersion).where(EntityVersion.entity_id == entity.id).order_by(EntityVersion.version)
        )
    )
    creators = creator_names(session, versions)
    names = properties_of(dataset)
    body = [version_json(v, entity, names, hidden, creators) for v in versions]
    audit.record(session, "entity.read_versions", f"entity:{entity.uuid}", dataset=dataset.name, count=len(body))
    return body


#: Central's columns of entities.csv after the properties.
CSV_SYSTEM = ("__createdAt", "__creatorId", "__creatorName", "__updates", "__updatedAt", "__version")


def entities_csv(session: Session, dataset: Dataset) -> str:
    """Return the list's entities the caller may see as Central's entities.csv (`__id`, `label`, each
    property, then its system columns), spreadsheet-safe; labels and properties empty for a caller who may
    not see identities; audited (`entity.list`, format csv)."""
    hidden = hides(session)
    names = properties_of(dataset)
    rows = list(
        session.scalars(_live(select(Entity).where(Entity.dataset_id == dataset.id), False).order_by(Entity.id))
    )
    creators = creator_names(session, rows)
    out = io.StringIO()
    writer = Writer(out)
    writer.writerow(["__id", "label", *names, *CSV_SYSTEM])
    for row in rows:
        data = row.data or {}
        cells = ["" if hidden else neutralise(row.label)]
        cells += ["" if hidden else neutralise(str(data.get(n, "") or "")) for n in names]
        writer.writerow(
            [
                row.uuid,
                *cells,
                iso(row.created_at) or "",
                str(creator_id(row)),
                neutralise(creator_name(creators, row)),
                str(row.version - 1),
                iso(row.updated_at) or "",
                str(row.version),
            ]
        )
    audit.record(session, "entity.list", f"dataset:{dataset.name}", count=len(rows), format="csv")
    return out.getvalue()
