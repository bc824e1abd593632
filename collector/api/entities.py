"""Entity lists (Central's datasets) and their entities over the JSON API and OData, as ODK Central serves them,
so that pyodk's `entity_lists` and `entities` calls work unchanged.

Every staff role reads the lists and their properties (their shape, like a form's); the roles that read
records read the entities, in their provinces (ingest.scope), audited; the roles that send records create and
update them; administrators delete them; the roles that manage forms create lists and properties and set
`approvalRequired`. Writes go through ingest.entities.store, the one write module.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Response, abort, jsonify, request

from collector.api.common import READERS, STAFF, api_blueprint, flag, get_project
from collector.api.openapi import Param, takes
from collector.auth import roles_required
from collector.db import get_session
from ingest import odata as odata_core
from ingest.entities import odata as entity_odata
from ingest.entities import reads
from ingest.entity_models import Dataset, Entity
from ingest.odata import NoSuchEntity, NotImplementedHere, ODataError

bp = api_blueprint("entities", __name__)

_LIST = "/projects/<int:project_id>/datasets/<name>"
_SVC = "/projects/<int:project_id>/datasets/<name>.svc"
#: Central's media type of OData JSON.
JSON_TYPE = "application/json; odata.metadata=minimal"


def get_dataset(project_id: int, name: str) -> Dataset:
    """:raise 404: no such project or entity list."""
    get_project(project_id)
    found = reads.find_dataset(get_session(), project_id, name)
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


# --- OData -----------------------------------------------------------------------------------------------

_OPTIONS = {"$format", "$count", "$skip", "$top", "$filter", "$select", "$orderby"}


def _refuse_unknown_options() -> None:
    """:raise NotImplementedHere: $search, $expand or another `$` option this server does not read (501)."""
    for key in request.args:
        if key == "$search":
            raise NotImplementedHere(
                "The requested feature $search is not supported by this server: use $filter with contains()."
            )
        if key.startswith("$") and key not in _OPTIONS:
            raise NotImplementedHere(f"The requested feature {key[:40]} is not supported by this server.")


def _odata(response: Response) -> Response:
    response.headers["OData-Version"] = "4.0"
    if response.mimetype == "application/json":
        response.headers["Content-Type"] = JSON_TYPE
    return response


def _service_url() -> str:
    path = request.path
    return request.host_url.rstrip("/") + request.script_root + path[: path.index(".svc") + 4]


def _whole(name: str, default: int) -> int:
    """:raise ODataError: not a whole number from 0."""
    text = request.args.get(name)
    if text is None:
        return default
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise ODataError(f"{name} must be a whole number from 0; got '{text[:40]}'.")
    return int(text)


@bp.get(_SVC)
@bp.get(f"{_SVC}/")
@roles_required(*READERS)
def service_document(project_id: int, name: str):
    """Return the OData service document of an entity list (one entity set: Entities).

    :raise 404: no such entity list.  :raise 501: an unknown system query option.
    """
    _refuse_unknown_options()
    get_dataset(project_id, name)
    return _odata(jsonify(entity_odata.service_document(_service_url())))


@bp.get(f"{_SVC}/$metadata")
@roles_required(*READERS)
def metadata(project_id: int, name: str):
    """Return the EDMX 4.0 metadata document of an entity list: `__id`, `label`, `__system` and each property.

    :raise 404: no such entity list.
    """
    return _odata(Response(entity_odata.edmx(get_dataset(project_id, name)), content_type="application/xml"))


@bp.get(f"{_SVC}/<path:resource>")
@roles_required(*READERS)
@takes(
    Param(
        "$filter",
        "OData filter on __id, label, __system/<createdAt|updatedAt|creatorId|version|conflict|deletedAt> "
        "and properties: eq ne gt ge lt le and or not, contains(), year() ... second(), now().",
    ),
    Param("$orderby", "Property paths, each optionally followed by asc or desc, comma-separated."),
    Param("$select", "Properties to keep (__id, label, __system, __system/<property>, a property)."),
    Param("$top", "Page size (capped).", "integer"),
    Param("$skip", "Entities to skip.", "integer"),
    Param("$count", "Add @odata.count.", "boolean"),
)
def odata_entities(project_id: int, name: str, resource: str):
    """Return a page of `Entities` (or one entity, `Entities('<uuid>')`) that the caller may see, label and
    properties null for a role that does not see identities; audited once.

    :raise 400: a malformed query option or an unknown property.  :raise 403: a filter or sort on the label or a
        property by a role that does not see identities.  :raise 404: no such list, entity set or entity.
        :raise 501: an unsupported query option or function.
    """
    _refuse_unknown_options()
    found = get_dataset(project_id, name)
    session = get_session()
    query = entity_odata.Query(top=min(_whole("$top", odata_core.MAX_TOP), odata_core.MAX_TOP), skip=_whole("$skip", 0))
    query.count = flag("$count")
    if resource.startswith("Entities('") and resource.endswith("')"):
        query.uuid = reads.parse_uuid(resource[10:-2])
        if query.uuid is None:
            raise NoSuchEntity("Could not find the resource you were looking for.")
    elif resource != "Entities":
        raise NoSuchEntity("Could not find the resource you were looking for.")
    compiler = entity_odata.EntityFilterCompiler(found, reads.hides(session))
    if request.args.get("$filter", "").strip():
        query.where.append(compiler.filter(request.args["$filter"]))
    if request.args.get("$orderby", "").strip():
        query.order = odata_core.read_orderby(compiler, request.args["$orderby"])
    if "$select" in request.args:
        query.select = entity_odata.read_select(found, request.args["$select"])
    rows, total, more = entity_odata.read_page(session, found, query)
    session.commit()
    if query.uuid is not None and not rows:
        raise NoSuchEntity("Could not find the resource you were looking for.")
    body: dict = {"@odata.context": f"{_service_url()}/$metadata#Entities", "value": rows}
    if more:
        args = [(k, v) for k, v in request.args.items(multi=True) if k != "$skip"]
        args.append(("$skip", str(query.skip + query.top)))
        body["@odata.nextLink"] = f"{request.host_url.rstrip('/')}{request.script_root}{request.path}?{urlencode(args)}"
    if total is not None:
        body["@odata.count"] = total
    return _odata(jsonify(body))
