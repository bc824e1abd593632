"""The API's OpenAPI 3 document at /v1/openapi.json, built from the routes themselves so it cannot drift.

Paths and methods come from the app's URL map; a path's parameters from its converters; an operation's
summary and description from the view's docstring, and its error answers from the docstring's
`:raise NNN: reason` lines (the same lines the house style asks every view to carry); request bodies from
the marshmallow schema named by `accepts`; query parameters from `takes`; who may call it from
`roles_required`. apispec's marshmallow plugin turns the schemas into components.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, current_app, jsonify

from collector.errors import OPENROSA_BLUEPRINTS

#: Rules of the app documented here: the JSON API (its copies below /v1/key/<token>/ are said once, in
#: the description, not repeated per path). The OpenRosa routes for tablets follow the OpenRosa spec instead.
_DOCUMENTED = re.compile(r"\A/v1/(?!key/)")


def documented(rule) -> bool:
    """Say whether a URL rule belongs in the document."""

    return bool(_DOCUMENTED.match(rule.rule)) and rule.endpoint.split(".")[0] not in OPENROSA_BLUEPRINTS


_CONVERTER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
_RAISES = re.compile(r":raise (\d{3}):\s*(.*?)(?=(?::raise \d{3}:)|\Z)", re.S)
_TYPES = {"int": {"type": "integer", "minimum": 0}, "path": {"type": "string"}, None: {"type": "string"}}

bp = Blueprint("openapi", __name__)


@dataclass(frozen=True)
class Param:
    """A query parameter of a view, for the document."""

    name: str
    description: str
    type: str = "string"
    repeatable: bool = False

    def spec(self) -> dict:
        schema = {"type": self.type}
        if self.repeatable:
            schema = {"type": "array", "items": schema}
        return {
            "name": self.name,
            "in": "query",
            "required": False,
            "description": self.description,
            "schema": schema,
            **({"explode": True} if self.repeatable else {}),
        }


def accepts(schema):
    """Name the marshmallow schema a view loads its JSON body with (for the document)."""

    def mark(view):
        view.openapi_body = schema
        return view

    return mark


def takes(*params: Param):
    """Name a view's query parameters (for the document)."""

    def mark(view):
        view.openapi_query = params
        return view

    return mark


#: The filters every listing and export of records takes (collector.api.common.record_filters).
RECORD_FILTERS = (
    Param("province", "Only records of this province code (two digits).", repeatable=True),
    Param("reviewState", "received, hasIssues, edited, approved or rejected.", repeatable=True),
    Param("device", "Only records sent by this device id.", "integer", repeatable=True),
    Param(
        "claimedProvince",
        "Only records whose answer named this province (two digits; `any`: every one) "
        "outside their sender's provinces; they are placed in the sender's province.",
        repeatable=True,
    ),
    Param(
        "foreignCase",
        "true: only records whose case code names a case of other provinces (kept in their own "
        "province, joined to no case); false: none of them.",
        "boolean",
    ),
    Param("district", "Only records whose answer tagged scope_district is this district code.", repeatable=True),
    Param(
        "text",
        "Free text in a typed answer, letter case aside (sensitive answers only for roles that see identities).",
    ),
    Param("start", "Submitted at or after this ISO 8601 date or moment."),
    Param("end", "Submitted before this moment; a bare date includes its day."),
    Param(
        "q",
        "An answer condition: field:value (a choice of several holds it), field!=value, field>value, "
        "field>=value, field<value, field<=value or field~text; field is a question's name or path. "
        "Typed by the form; an unknown field is 422, a sensitive one 403 for redacted roles.",
        repeatable=True,
    ),
)


def _operation(rule, method: str, view) -> dict:
    doc = inspect.getdoc(view) or ""
    raises = {code: " ".join(reason.split()) for code, reason in _RAISES.findall(doc)}
    text = _RAISES.split(doc)[0].strip() if raises else doc.strip()
    summary, _, description = text.partition("\n")
    roles = getattr(view, "roles", None)
    if roles is not None:
        description = f"{description.strip()}\n\nRoles: {', '.join(roles) or 'any signed-in user'}.".strip()
    responses = {"200": {"description": "Success."}}
    responses.update(
        {
            code: {
                "description": reason or "Refused.",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            }
            for code, reason in raises.items()
        }
    )
    operation = {
        "operationId": f"{rule.endpoint}.{method.lower()}",
        "summary": " ".join(summary.split()),
        "description": description.strip(),
        "tags": [rule.endpoint.split(".")[0]],
        "responses": responses,
    }
    parameters = [
        {"name": name, "in": "path", "required": True, "schema": _TYPES.get(kind, _TYPES[None])}
        for kind, name in _CONVERTER.findall(rule.rule)
    ]
    parameters += [p.spec() for p in getattr(view, "openapi_query", ())]
    if parameters:
        operation["parameters"] = parameters
    body = getattr(view, "openapi_body", None)
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return operation


def build(app) -> dict:
    """Return the OpenAPI 3.1 document of an app's JSON API."""
    spec = APISpec(
        title="Lao PDR anti-trafficking case server",
        version="1",
        openapi_version="3.1.0",
        plugins=[MarshmallowPlugin()],
        info={
            "description": "ODK Central-shaped JSON API. Every path also answers below "
            "/v1/key/{token}/, where devices are refused on staff paths."
        },
    )
    spec.components.security_scheme("basic", {"type": "http", "scheme": "basic"})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.schema(
        "Error",
        {
            "type": "object",
            "properties": {
                "ok": {"type": "boolean"},
                "status": {"type": "integer"},
                "error": {"type": "string"},
                "errors": {"type": "array", "items": {}},
                "fields": {"type": "object"},
            },
        },
    )
    paths: dict[str, dict] = {}
    seen: set[str] = set()
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not documented(rule):
            continue
        view = app.view_functions[rule.endpoint]
        path = _CONVERTER.sub(lambda m: "{" + m.group(2) + "}", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            operation = _operation(rule, method, view)
            # One view may answer two paths (with and without a trailing slash): ids stay unique.
            while operation["operationId"] in seen:
                operation["operationId"] += "_"
            seen.add(operation["operationId"])
            paths.setdefault(path, {})[method.lower()] = operation
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    document = spec.to_dict()
    document["security"] = [{"basic": []}, {"bearer": []}]
    return document


@bp.get("/openapi.json")
def openapi():
    """Return the API's OpenAPI document (public: it describes the API, never data)."""
    if "openapi" not in current_app.extensions:
        current_app.extensions["openapi"] = build(current_app)
    return jsonify(current_app.extensions["openapi"])
