"""OData for entity lists (Central's `/datasets/<name>.svc`): the service document, the metadata and the
`Entities` set, read by the roles that read records, in their provinces (ingest.scope), audited once a page.

The query options, paging and headers are those of the submissions' OData (collector.api.odata); the filter
compiler and the page reads are ingest.odata.entities'.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Response, jsonify, request

from collector.api.common import READERS, api_blueprint, flag
from collector.api.entities import get_dataset
from collector.api.odata import odata_response, refuse_unknown_options, service_url, whole
from collector.api.openapi import Param, takes
from collector.auth import roles_required
from collector.db import get_session
from ingest import odata as odata_core
from ingest.entities import reads
from ingest.odata import NoSuchEntity
from ingest.odata import entities as entity_odata

bp = api_blueprint("entity_odata", __name__)

_SVC = "/projects/<int:project_id>/datasets/<name>.svc"
#: The system query options an entity list's OData reads.
_OPTIONS = frozenset({"$format", "$count", "$skip", "$top", "$filter", "$select", "$orderby"})


@bp.get(_SVC)
@bp.get(f"{_SVC}/")
@roles_required(*READERS)
def service_document(project_id: int, name: str):
    """Return the OData service document of an entity list (one entity set: Entities).

    :raise 404: no such entity list.  :raise 501: an unknown system query option.
    """
    refuse_unknown_options(_OPTIONS)
    get_dataset(project_id, name)
    return odata_response(jsonify(entity_odata.service_document(service_url())))


@bp.get(f"{_SVC}/$metadata")
@roles_required(*READERS)
def metadata(project_id: int, name: str):
    """Return the EDMX 4.0 metadata document of an entity list: `__id`, `label`, `__system` and each property.

    :raise 404: no such entity list.
    """
    return odata_response(Response(entity_odata.edmx(get_dataset(project_id, name)), content_type="application/xml"))


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
    refuse_unknown_options(_OPTIONS)
    found = get_dataset(project_id, name)
    session = get_session()
    query = entity_odata.Query(top=min(whole("$top", odata_core.MAX_TOP), odata_core.MAX_TOP), skip=whole("$skip", 0))
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
    body: dict = {"@odata.context": f"{service_url()}/$metadata#Entities", "value": rows}
    if more:
        args = [(k, v) for k, v in request.args.items(multi=True) if k != "$skip"]
        args.append(("$skip", str(query.skip + query.top)))
        body["@odata.nextLink"] = f"{request.host_url.rstrip('/')}{request.script_root}{request.path}?{urlencode(args)}"
    if total is not None:
        body["@odata.count"] = total
    return odata_response(jsonify(body))
