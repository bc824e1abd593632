"""OData v4 over a form's records, as ODK Central names it (service document, $metadata, Submissions).

The URLs, query options and JSON are Central's, so pyodk's `submissions.get_table`, Excel and Power BI read
them unchanged; `ingest.odata` builds the model, compiles `$filter`/`$orderby` and reads the pages. `$top` is
the page size, as in Central, capped at `ingest.odata.MAX_TOP`: a page cut by the cap (or by the default
page size when no `$top` is given) ends with `@odata.nextLink` and says so in a `Preference-Applied:
odata.maxpagesize=<cap>` header.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from flask import Response, jsonify, request

from collector.api.common import READERS, TRAINERS, api_blueprint, flag, get_form
from collector.api.openapi import Param, takes
from collector.auth import roles_required
from collector.db import get_session
from ingest import odata
from ingest.errors import ODATA_EXPAND_UNSUPPORTED, ODATA_SELECT_WITH_EXPAND
from ingest.models import Form
from ingest.odata import NoSuchEntity, NotImplementedHere, ODataError, Options
from ingest.odata.service import filter_compiler, read_entities
from ingest.publishing.versions import current_draft

bp = api_blueprint("odata", __name__)

_SVC = "/projects/<int:project_id>/forms/<xml_form_id>.svc"
_DRAFT_SVC = "/projects/<int:project_id>/forms/<xml_form_id>/draft.svc"
_SET = re.compile(r"Submissions(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_RECORD = re.compile(r"Submissions\('((?:[^']|'')+)'\)((?:/[^/]+)*)")
_SEGMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:\('([0-9a-f]{40})'\))?")


#: The system query options this server reads (Central's, less $search, which Central reads for entities only).
_OPTIONS = {"$format", "$count", "$skip", "$top", "$filter", "$wkt", "$expand", "$select", "$skiptoken", "$orderby"}
#: Central's media type of OData JSON (OData 4.0 JSON format, section 3.1).
JSON_TYPE = "application/json; odata.metadata=minimal"


def refuse_unknown_options(options: frozenset[str] | set[str] = _OPTIONS) -> None:
    """Answer 501 for a system query option this server does not read (not in `options`), as Central does
    (section 11.2.1).

    :raise NotImplementedHere: $search, or any other unknown `$` option.
    """
    for key in request.args:
        if key == "$search":
            raise NotImplementedHere(
                "The requested feature $search is not supported by this server: free-text search over records "
                "would read every sensitive answer. Use $filter with contains() on the fields you may see."
            )
        if key.startswith("$") and key not in options:
            raise NotImplementedHere(f"The requested feature {key[:40]} is not supported by this server.")


def odata_response(response: Response) -> Response:
    """Add OData 4.0's headers (and Central's JSON media type) to an answer."""
    response.headers["OData-Version"] = "4.0"
    if response.mimetype == "application/json":
        response.headers["Content-Type"] = JSON_TYPE
    return response


def service_url() -> str:
    """Return the absolute URL of this request's service root (`.../<formId>.svc`), key prefix included."""
    path = request.path
    return request.host_url.rstrip("/") + request.script_root + path[: path.index(".svc") + 4]


def _model(project_id: int, xml_form_id: str, draft: bool) -> tuple[Form, odata.Model]:
    """Return the form and its OData model: of every published version, or (`draft`) of its draft.

    :raise 404: no such form, or (`draft`) no draft.
    """
    form = get_form(project_id, xml_form_id)
    session = get_session()
    if not draft:
        return form, odata.model_of(session, form)
    found = current_draft(session, form)
    if found is None:
        raise NoSuchEntity(f"The form '{xml_form_id}' has no draft.")
    return form, odata.model_of(session, form, found)


@bp.get(_SVC)
@bp.get(f"{_SVC}/")
@roles_required(*READERS)
def service_document(project_id: int, xml_form_id: str):
    """Return the OData service document: Submissions and one entity set per repeat.

    :raise 404: no such form.  :raise 501: an unknown system query option (as Central).
    """
    return _service_document(project_id, xml_form_id, draft=False)


@bp.get(_DRAFT_SVC)
@bp.get(f"{_DRAFT_SVC}/")
@roles_required(*TRAINERS)
def draft_service_document(project_id: int, xml_form_id: str):
    """Return the OData service document of the form's draft (its test records).

    :raise 404: no such form or draft.  :raise 501: an unknown system query option.
    """
    return _service_document(project_id, xml_form_id, draft=True)


def _service_document(project_id: int, xml_form_id: str, *, draft: bool):
    refuse_unknown_options()
    _form, model = _model(project_id, xml_form_id, draft)
    return odata_response(jsonify(model.service_document(service_url())))


@bp.get(f"{_SVC}/$metadata")
@roles_required(*READERS)
def metadata(project_id: int, xml_form_id: str):
    """Return the EDMX 4.0 metadata document of a form: every field of every published version.

    :raise 404: no such form.
    """
    return odata_response(Response(_model(project_id, xml_form_id, False)[1].edmx(), content_type="application/xml"))


@bp.get(f"{_DRAFT_SVC}/$metadata")
@roles_required(*TRAINERS)
def draft_metadata(project_id: int, xml_form_id: str):
    """Return the EDMX 4.0 metadata document of the form's draft.

    :raise 404: no such form or draft.
    """
    return odata_response(Response(_model(project_id, xml_form_id, True)[1].edmx(), content_type="application/xml"))


@bp.get(f"{_SVC}/<path:resource>")
@roles_required(*READERS)
@takes(
    Param(
        "$filter",
        "OData filter on __system fields and answers: eq ne gt ge lt le and or not, contains(), "
        "year(), month(), day(), hour(), minute(), second(), now(); "
        "$root/Submissions/__system/... in a repeat's filter; "
        "literals text, number, date, date-time, null.",
    ),
    Param("$orderby", "Property paths, each optionally followed by asc or desc, comma-separated."),
    Param("$select", "Property paths to keep (__id, __system, __system/<property>), comma-separated."),
    Param("$expand", "* inlines every repeat."),
    Param("$top", "Page size (capped).", "integer"),
    Param("$skip", "Entities to skip.", "integer"),
    Param("$count", "Add @odata.count.", "boolean"),
    Param("$skiptoken", "The position @odata.nextLink carries."),
    Param("$wkt", "Places as Well-Known Text instead of GeoJSON.", "boolean"),
)
def entities(project_id: int, xml_form_id: str, resource: str):
    """Return a page of an entity set (`Submissions`, `Submissions.<repeat>`), one record
    (`Submissions('<instanceId>')`) or the rows of a repeat of one record (a navigation link), scoped and
    redacted for the caller, audited once.

    :raise 400: a malformed or unknown query option, property or $skiptoken.  :raise 403: a filter or sort on
        a sensitive field by a role that does not see identities.  :raise 404: no such form, entity set or
        record.  :raise 501: $expand other than *, or $select with $expand (as Central).
    """
    return _entities(project_id, xml_form_id, resource, draft=False)


@bp.get(f"{_DRAFT_SVC}/<path:resource>")
@roles_required(*TRAINERS)
def draft_entities(project_id: int, xml_form_id: str, resource: str):
    """Return entities of the form's draft: its test records (never real, so never redacted nor audited), with
    the same query options as the form's own `.svc`.

    :raise 400: a malformed query option.  :raise 404: no such form, draft, entity set or record.
    :raise 501: an unsupported query option.
    """
    return _entities(project_id, xml_form_id, resource, draft=True)


def _entities(project_id: int, xml_form_id: str, resource: str, *, draft: bool):
    refuse_unknown_options()
    form, model = _model(project_id, xml_form_id, draft)
    session = get_session()
    record = _RECORD.fullmatch(resource)
    if record is not None:
        segments = _segments(record.group(2))
        name = ".".join(["Submissions", *(s for s, _ in segments)])
        options = _options(session, form, model, name, in_record=True)
        page = read_entities(session, form, model, options, record.group(1).replace("''", "'"), segments)
    elif _SET.fullmatch(resource):
        options = _options(session, form, model, resource)
        page = read_entities(session, form, model, options)
    else:
        raise NoSuchEntity("Could not find the resource you were looking for.")
    session.commit()
    body = {"value": page.entities, "@odata.context": f"{service_url()}/$metadata#{options.entity_set.name}"}
    if page.after is not None:
        body["@odata.nextLink"] = _next_link(page.after)
    if page.count is not None:
        body["@odata.count"] = page.count
    response = odata_response(jsonify(body))
    if page.after is not None and options.top == odata.MAX_TOP and request.args.get("$top") != str(odata.MAX_TOP):
        response.headers["Preference-Applied"] = f"odata.maxpagesize={odata.MAX_TOP}"
    return response


def _segments(text: str) -> list[tuple[str, str | None]]:
    """Read the path after `Submissions('<id>')`: names, each maybe with a repeat row's id.

    :raise NoSuchEntity: a segment of another shape.
    """
    segments = []
    for part in text.split("/")[1:]:
        match = _SEGMENT.fullmatch(part)
        if match is None:
            raise NoSuchEntity("Could not find the resource you were looking for.")
        segments.append((match.group(1), match.group(2)))
    return segments


def whole(name: str, default: int | None) -> int | None:
    """Return the query option `name` as a whole number (`default` when absent).

    :raise ODataError: not a whole number from 0 (of at most 18 digits).
    """
    text = request.args.get(name)
    if text is None:
        return default
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise ODataError(f"{name} must be a whole number from 0; got '{text[:40]}'.")
    return int(text)


def _options(session, form, model, name: str, in_record: bool = False) -> Options:
    """Read the request's query options for entity set `name`.

    :raise ODataError: a malformed option.  :raise NoSuchEntity: no such entity set.
    :raise NotImplementedHere: $expand other than *, or with $select.
    """
    entity_set = model.entity_set(name)
    top = whole("$top", None)
    options = Options(
        entity_set,
        top=odata.MAX_TOP if top is None else min(top, odata.MAX_TOP),
        skip=whole("$skip", 0),
        count=flag("$count"),
        wkt=flag("$wkt"),
    )
    expand = request.args.get("$expand", "").strip()
    if expand not in ("", "*"):
        raise NotImplementedHere(
            f'The given OData expand expression is not supported by this server: "{expand}".'
            f' Currently, only "$expand=*" is supported.',
            ODATA_EXPAND_UNSUPPORTED,
        )
    options.expand = expand == "*"
    if "$select" in request.args:
        if options.expand:
            raise NotImplementedHere(
                "This server doesn't support $select query parameter with $expand.", ODATA_SELECT_WITH_EXPAND
            )
        options.select, options.ids = odata.read_select(model, entity_set, request.args["$select"])
    if in_record:
        if "$filter" in request.args or "$orderby" in request.args:
            raise ODataError(
                "$filter and $orderby apply to entity sets: ask Submissions or Submissions.<repeat> with them."
            )
        return options
    compiler = filter_compiler(session, form, model, entity_set)
    if request.args.get("$filter", "").strip():
        options.where = compiler.filter(request.args["$filter"])
    if request.args.get("$orderby", "").strip():
        options.order = odata.read_orderby(compiler, request.args["$orderby"])
    if "$skiptoken" in request.args:
        options.token = odata.read_skiptoken(request.args["$skiptoken"])
    return options


def _next_link(after: dict) -> str:
    """Return this request's URL continued after `after`: $skip dropped, $skiptoken set (as Central)."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k not in ("$skip", "$skiptoken")]
    args.append(("$skiptoken", odata.skiptoken(after)))
    return f"{request.host_url.rstrip('/')}{request.script_root}{request.path}?{urlencode(args)}"
