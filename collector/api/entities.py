"""Entity lists (Central's datasets) and their entities over the JSON API as Central serves them, so that pyodk's
`entity_lists` and `entities` calls work unchanged (their OData: collector.api.entity_odata). Every staff role
reads the lists and their properties (their shape, like a form's); the roles that read records read the entities,
in their provinces (ingest.scope), audited; the roles that send records create and update them; administrators
delete them; the roles that manage forms create lists and properties and set `approvalRequired`. Writes go
through ingest.entities.store, the one write module.
"""

from __future__ import annotations

from typing import NoReturn

from flask import Response, abort, jsonify, request

from collector.api.common import READERS, STAFF, SUBMITTERS, TRAINERS, api_blueprint, flag, get_project, json_body
from collector.api.entity_schemas import (
    DatasetPatchSchema,
    DatasetSchema,
    EntityPatchSchema,
    EntitySchema,
    PropertySchema,
)
from collector.api.openapi import Param, accepts, takes
from collector.auth import current_actor, roles_required
from collector.db import get_session
from collector.errors import refuse
from ingest import audit
from ingest.access import Caller
from ingest.db import begin_write
from ingest.entities import reads, store
from ingest.entities.datasets import EntityError, clean_name, ensure_dataset, find_dataset
from ingest.entity_models import Dataset, Entity
from ingest.errors import (
    ALREADY_EXISTS,
    CONFLICT,
    INVALID_ENTITY,
    MISSING_PARAMETER,
    OUTSIDE_SCOPE,
    TOO_LARGE,
    UNEXPECTED_VALUE,
)

bp = api_blueprint("entities", __name__)

_LIST = "/projects/<int:project_id>/datasets/<name>"


def get_dataset(project_id: int, name: str) -> Dataset:
    """:raise 404: no such project or entity list."""
    get_project(project_id)
    found = find_dataset(get_session(), project_id, name)
    if found is None:
        abort(404, f"No entity list '{name[:64]}' in project {project_id}.")
    return found


def get_entity(dataset: Dataset, uuid: str, *, deleted: bool = False) -> Entity:
    """:raise 404: not a UUID, no such entity, or one outside the caller's scope (answered alike)."""
    parsed = reads.parse_uuid(uuid)
    found = reads.find_entity(get_session(), dataset, parsed, deleted=deleted) if parsed else None
    if found is None:
        abort(404, "No such entity.")
    return found


@bp.get("/projects/<int:project_id>/datasets")
@roles_required(*STAFF)
def datasets(project_id: int):
    """List a project's entity lists (Central's datasets; with the `X-Extended-Metadata: true` header, also the
    count of entities the caller may see, the newest one's creation time and the count in conflict).

    :raise 404: no such project.
    """
    get_project(project_id)
    session = get_session()
    rows = reads.list_datasets(session, project_id)
    extended = request.headers.get("X-Extended-Metadata", "").lower() == "true"
    return jsonify([reads.dataset_json(d) | (reads.dataset_counts(session, d) if extended else {}) for d in rows])


@bp.get(_LIST)
@roles_required(*STAFF)
def dataset(project_id: int, name: str):
    """Describe one entity list: the forms that write it and read it, and its properties with the forms that
    save to each.

    :raise 404: no such project or entity list.
    """
    return jsonify(reads.dataset_metadata(get_session(), get_dataset(project_id, name)))


@bp.get(f"{_LIST}/entities")
@roles_required(*READERS)
@takes(Param("deleted", "true: list the deleted entities instead.", "boolean"))
def entities(project_id: int, name: str):
    """List the entities of a list that the caller may see (their province's; consent respected), oldest first,
    each with its current version's metadata (Central's shape: no data); audited once.

    :raise 404: no such project or entity list.
    """
    session = get_session()
    body = reads.list_entities(session, get_dataset(project_id, name), deleted=flag("deleted"))
    session.commit()
    return jsonify(body)


@bp.get(f"{_LIST}/entities/<uuid>")
@roles_required(*READERS)
def entity(project_id: int, name: str, uuid: str):
    """Return one entity with its current version and data (audited); label and properties hidden from a role
    that does not see identities.

    :raise 404: no such list or entity, or one outside the caller's scope.
    """
    session = get_session()
    found_list = get_dataset(project_id, name)
    body = reads.read_entity(session, found_list, get_entity(found_list, uuid))
    session.commit()
    return jsonify(body)


@bp.get(f"{_LIST}/entities/<uuid>/versions")
@roles_required(*READERS)
def entity_versions(project_id: int, name: str, uuid: str):
    """List every version of an entity, oldest first, each with its data, what the change sent and its
    conflict (audited).

    :raise 404: no such list or entity, or one outside the caller's scope.
    """
    session = get_session()
    found_list = get_dataset(project_id, name)
    body = reads.read_versions(session, found_list, get_entity(found_list, uuid))
    session.commit()
    return jsonify(body)


@bp.get(f"{_LIST}/entities.csv")
@roles_required(*READERS)
def entities_csv(project_id: int, name: str):
    """Download the entities the caller may see as Central's entities.csv (audited).

    :raise 404: no such project or entity list.
    """
    session = get_session()
    found = get_dataset(project_id, name)
    body = reads.entities_csv(session, found)
    session.commit()
    return Response(
        body,
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{found.name}.csv"'},
    )


# --- writes ----------------------------------------------------------------------------------------------

#: Largest JSON body of an entity write (a bulk create of some ten thousand rows fits).
MAX_BODY_BYTES = 8 * 1024 * 1024
#: Most entities one bulk create may hold.
MAX_BULK = 10_000
#: Who deletes entities (as records: administrators only).
DELETERS = ("admin",)


def _refuse_oversize() -> None:
    """:raise 413: a body over MAX_BODY_BYTES."""
    if (request.content_length or 0) > MAX_BODY_BYTES:
        refuse(TOO_LARGE, f"An entity request holds at most {MAX_BODY_BYTES // (1024 * 1024)} MiB.")


def _invalid(exc: EntityError) -> NoReturn:
    """Re-raise a refusal of the store as Central's invalid entity (400.28), other codes as they are."""
    if exc.code == UNEXPECTED_VALUE:
        raise EntityError(exc.message, INVALID_ENTITY) from None
    raise exc


def _bool(body: dict, key: str, required: bool = False) -> bool | None:
    """:raise 400: the key is missing (when required) or not a JSON boolean."""
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, bool):
        refuse(UNEXPECTED_VALUE if key in body else MISSING_PARAMETER, f"{key} must be true or false.")
    return value


def _province(caller: Caller, body: dict) -> str | None:
    """Return the province a new entity is placed in: `province` of the body, else the caller's province (the
    first in code order for an officer of several; none for a national caller).

    :raise 400: not two digits.  :raise 403: a province outside the caller's.
    """
    given = body.get("province")
    if given is None:
        # As for records: an officer of several provinces places it in the first, in code order.
        return min(caller.provinces) if caller.provinces else None
    if not (isinstance(given, str) and len(given) == 2 and given.isascii() and given.isdigit()):
        refuse(INVALID_ENTITY, "province must be a province code (two digits).")
    if caller.provinces is not None and given not in caller.provinces:
        refuse(OUTSIDE_SCOPE, f"Province {given} is outside your provinces.")
    return given


def _writable(project_id: int, name: str) -> Dataset:
    """Return a list the API may change.

    :raise 404: no such list.  :raise 409: a list the server keeps itself (the hand-off cases), changed only
        by the records it follows.
    """
    found = get_dataset(project_id, name)
    if found.kind == "system":
        refuse(CONFLICT, f"The entity list '{found.name}' is kept by the server from the records; change those.")
    return found


def _written(dataset: Dataset, entity: Entity) -> dict:
    """Describe an entity just written, with its data, for its writer (who sees identities)."""
    session = get_session()
    current = reads.current_versions(session, [entity]).get(entity.id)
    creators = reads.creator_names(session, [entity, *([current] if current is not None else [])])
    hidden = reads.hides(session)
    return reads.entity_json(entity, current, reads.properties_of(dataset), hidden, creators, with_data=True)


@bp.post("/projects/<int:project_id>/datasets")
@roles_required(*TRAINERS)
@accepts(DatasetSchema)
def create_dataset(project_id: int):
    """Create an entity list (pyodk's `entity_lists.create`); forms that declare one create it too.

    :raise 400: a bad name or approvalRequired.  :raise 404: no such project.  :raise 409: a list of that name
        exists.
    """
    _refuse_oversize()
    body = json_body()
    get_project(project_id)
    approval = _bool(body, "approvalRequired")
    session = get_session()
    begin_write(session)
    name = clean_name(body.get("name") if isinstance(body.get("name"), str) else "")
    if find_dataset(session, project_id, name) is not None:
        refuse(ALREADY_EXISTS, f"An entity list named '{name}' already exists in this project.")
    found = ensure_dataset(session, project_id, name)
    found.approval_required = bool(approval)
    session.commit()
    return jsonify(reads.dataset_metadata(session, found))


@bp.patch(_LIST)
@roles_required(*TRAINERS)
@accepts(DatasetPatchSchema)
def update_dataset(project_id: int, name: str):
    """Set whether the list's entities wait for their submission's approval (approvalRequired); audited.

    :raise 400: approvalRequired missing or not true/false.  :raise 404: no such list.  :raise 409: a list the
        server keeps.
    """
    _refuse_oversize()
    body = json_body()
    approval = _bool(body, "approvalRequired", required=True)
    session = get_session()
    begin_write(session)
    found = _writable(project_id, name)
    found.approval_required = bool(approval)
    audit.record(session, "dataset.update", f"dataset:{project_id}:{found.name}", approval_required=approval)
    session.commit()
    return jsonify(reads.dataset_metadata(session, found))


@bp.post(f"{_LIST}/properties")
@roles_required(*TRAINERS)
@accepts(PropertySchema)
def create_property(project_id: int, name: str):
    """Add a published property to an entity list (pyodk's `entity_lists.add_property`); audited.

    :raise 400: not a valid property name (an XML name; not name, label or __...).  :raise 404: no such list.
        :raise 409: the list has that property.
    """
    _refuse_oversize()
    body = json_body()
    session = get_session()
    begin_write(session)
    found = _writable(project_id, name)
    prop = clean_name(body.get("name") if isinstance(body.get("name"), str) else "", "property")
    if prop in reads.properties_of(found):
        refuse(ALREADY_EXISTS, f"The entity list already has a property '{prop}'.")
    ensure_dataset(session, project_id, found.name, [prop])
    session.commit()
    return jsonify({"success": True})


@bp.post(f"{_LIST}/entities")
@roles_required(*SUBMITTERS)
@accepts(EntitySchema)
def create_entities(project_id: int, name: str):
    """Create one entity (`uuid`, `label`, `data`: answered with the entity) or many (`entities`, each with a
    `label` and `data`, and `source`: all or none, answered `{"success": true}`), placed in `province` or the
    caller's (first) province; each audited as `entity.create`.

    :raise 400: a bad UUID, label, property (not in the list) or value; more than MAX_BULK entities.
        :raise 403: a province outside the caller's.  :raise 404: no such list.  :raise 409: the UUID is taken.
        :raise 413: a body over MAX_BODY_BYTES.
    """
    _refuse_oversize()
    body = json_body()
    session = get_session()
    caller = current_actor().caller
    found = _writable(project_id, name)
    province = _province(caller, body)
    agent = request.headers.get("User-Agent")
    many = body.get("entities")
    try:
        if many is not None:
            if not isinstance(many, list) or not all(isinstance(e, dict) for e in many):
                refuse(INVALID_ENTITY, "entities must be a list of objects, each with a label and data.")
            if not many or len(many) > MAX_BULK:
                refuse(INVALID_ENTITY, f"entities must hold from 1 to {MAX_BULK} entities.")
            for item in many:
                _create(session, found, item, province, agent)
            session.commit()
            return jsonify({"success": True})
        entity = _create(session, found, body, province, agent)
    except EntityError as exc:
        session.rollback()
        _invalid(exc)
    session.commit()
    return jsonify(_written(found, entity))


def _create(session, dataset: Dataset, item: dict, province: str | None, agent: str | None) -> Entity:
    """:raise EntityError: a bad entity.  :raise 400: data is not an object."""
    data = item.get("data", {})
    if not isinstance(data, dict):
        raise EntityError("data must be an object of property names and text values.", INVALID_ENTITY)
    return store.create_entity(
        session,
        dataset,
        label=item.get("label"),
        data=data,
        entity_uuid=item.get("uuid"),
        province_code=province,
        user_agent=agent,
    )


def _base_version() -> int | None:
    """:raise 400: baseVersion is not a whole number."""
    text = request.args.get("baseVersion")
    if text is None:
        return None
    if not (text.isascii() and text.isdigit() and len(text) < 10):
        refuse(UNEXPECTED_VALUE, "baseVersion must be a whole number: the version the change was made from.")
    return int(text)


@bp.patch(f"{_LIST}/entities/<uuid>")
@roles_required(*SUBMITTERS)
@accepts(EntityPatchSchema)
@takes(
    Param("baseVersion", "The version the change was made from (required unless force=true).", "integer"),
    Param("force", "true: apply the change whatever the current version.", "boolean"),
    Param("resolve", "true: mark the entity's conflict resolved (with or without a change).", "boolean"),
)
def update_entity(project_id: int, name: str, uuid: str):
    """Change an entity's label or properties as a new version (audited `entity.update.version`), made from
    `?baseVersion=` (refused if the entity has moved on since) or with `?force=true`; `?resolve=true` marks
    its conflict resolved.

    :raise 400: no baseVersion nor force, a bad property or value.  :raise 404: no such list or entity (or one
        outside the caller's scope).  :raise 409: baseVersion is not the current version (409.15).
    """
    _refuse_oversize()
    body = json_body()
    session = get_session()
    found = _writable(project_id, name)
    get_entity(found, uuid)
    base = _base_version()
    label, data = body.get("label"), body.get("data")
    if label is not None and not isinstance(label, str):
        refuse(INVALID_ENTITY, "label must be text.")
    if data is not None and not isinstance(data, dict):
        refuse(INVALID_ENTITY, "data must be an object of property names and text values.")
    entity_uuid = reads.parse_uuid(uuid) or uuid
    try:
        if flag("resolve") and label is None and data is None:
            entity = store.resolve_conflict(session, found, entity_uuid, base_version=base)
        else:
            entity = store.update_entity(
                session,
                found,
                entity_uuid,
                label=label,
                data=data,
                base_version=base,
                force=flag("force"),
                user_agent=request.headers.get("User-Agent"),
            )
            if flag("resolve"):
                entity = store.resolve_conflict(session, found, entity_uuid)
    except EntityError as exc:
        session.rollback()
        _invalid(exc)
    session.commit()
    return jsonify(_written(found, entity))


@bp.delete(f"{_LIST}/entities/<uuid>")
@roles_required(*DELETERS)
def delete_entity(project_id: int, name: str, uuid: str):
    """Delete an entity: it leaves every list, read and tablet; its versions are kept (audited).

    :raise 404: no such list or entity.  :raise 409: a list the server keeps.
    """
    session = get_session()
    found = _writable(project_id, name)
    entity = get_entity(found, uuid)
    store.delete_entity(session, found, entity.uuid)
    session.commit()
    return jsonify({"success": True})
