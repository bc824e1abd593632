"""The OpenAPI document at /v1/openapi.json: valid OpenAPI 3.1, and in step with the routes, their request
bodies, query parameters, roles and error answers (issue 9)."""

from __future__ import annotations

import inspect
import re

from openapi_spec_validator import validate

from collector.api.openapi import RECORD_FILTERS, documented

_CONVERTER = re.compile(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>")


def documented_routes(app) -> set[tuple[str, str]]:
    assert sum(documented(r) for r in app.url_map.iter_rules()) > 40  # the JSON API, not the OpenRosa routes
    return {
        (_CONVERTER.sub(r"{\1}", rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if documented(rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def view_of(app, path: str, method: str):
    for rule in app.url_map.iter_rules():
        if _CONVERTER.sub(r"{\1}", rule.rule) == path and method.upper() in rule.methods:
            return app.view_functions[rule.endpoint]
    raise AssertionError(f"{method} {path} is not a route")


def test_the_document_is_public_and_valid(client):
    response = client.get("/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    validate(document)
    assert document["openapi"].startswith("3.1")


def test_every_route_is_documented_and_every_documented_path_is_a_route(client, app):
    document = client.get("/v1/openapi.json").get_json()
    in_document = {(path, method) for path, operations in document["paths"].items() for method in operations}
    assert in_document == documented_routes(app)
    for path, operations in document["paths"].items():
        for method in operations:
            view_of(app, path, method)


def test_bodies_errors_roles_and_filters_follow_the_views(client, app):
    document = client.get("/v1/openapi.json").get_json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            view = view_of(app, path, method)
            source = inspect.getsource(inspect.unwrap(view))
            where = f"{method.upper()} {path}"
            assert ("json_body()" in source) == ("requestBody" in operation), f"{where}: body not documented"
            for code in re.findall(r":raise (\d{3}):", inspect.getdoc(view) or ""):
                assert code in operation["responses"], f"{where}: {code} not documented"
            if getattr(view, "roles", None):
                assert "Roles:" in operation["description"], where
            names = {p["name"] for p in operation.get("parameters", ()) if p["in"] == "query"}
            if "record_filters(" in source:
                assert {p.name for p in RECORD_FILTERS} <= names, f"{where}: record filters not documented"
            for name in re.findall(r"(?:request\.args\.get(?:list)?|flag|_number|_moment)\(\"([\w$]+)\"", source):
                assert name in names, f"{where}: ?{name}= not documented"


def test_the_schemas_come_from_marshmallow(client):
    document = client.get("/v1/openapi.json").get_json()
    review = document["paths"]["/v1/projects/{project_id}/forms/{xml_form_id}/submissions/{instance_id}"]["patch"]
    schema = review["requestBody"]["content"]["application/json"]["schema"]
    name = schema["$ref"].rsplit("/", 1)[-1]
    states = document["components"]["schemas"][name]["properties"]["reviewState"]
    assert "approved" in states["enum"]
    listing = document["paths"]["/v1/projects/{project_id}/forms/{xml_form_id}/submissions"]["get"]
    assert {"q", "limit", "cursor", "province"} <= {p["name"] for p in listing["parameters"]}
