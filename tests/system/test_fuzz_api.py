"""Fuzz every JSON API route (issue 7): never a 5xx, and every error in the one JSON error shape.

The routes are read from the app's url_map (the OpenRosa blueprints, which answer in XML, are fuzzed by
tests/system/test_fuzz_submission.py). Hypothesis picks a route and a method, then path parameters (valid ones,
0, 2**31, 2**63, 2**64, Unicode digits, NULs, lone surrogates, very long strings), a query string, a body
(JSON of the right and wrong types, nested 10,000 levels, lone surrogates; raw bytes, spreadsheets and
zips for the upload routes), credentials (none, admin Basic, a bearer token, hostile Basic user names) and
headers with NULs. Every answer must be below 500, and every 4xx must be
`{"ok": false, "status": N, "error": str, "errors": list, "fields": dict}` (collector/errors.py).

`COLLECTOR_FUZZ_EXAMPLES` sets the number of cases per test (default 100; full size 100000). The minimal
reproducers of the 5xx found in issue 7 stay below as explicit regression cases (REPRODUCERS).
"""

from __future__ import annotations

import base64
import io
import json
import zipfile

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from collector.errors import OPENROSA_BLUEPRINTS
from ingest.errors import CODES
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, DATA, make_instance
from tests.support.collect import multipart
from tests.support.fuzzing import CONVERTER, FUZZ, encode, hostile, path_param, tolerating_open_findings

INSTANCE_ID = "uuid:6f1f2f9e-fuzz-4a1b-9c1d-000000000001"


def json_routes(app) -> list[tuple[str, str, str]]:
    """Return (endpoint, method, rule) for every JSON API route of the app."""
    routes = []
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.rsplit(".", 1)[0] if "." in rule.endpoint else None
        if blueprint is None or blueprint in OPENROSA_BLUEPRINTS or blueprint == "console":
            continue  # Flask's static route, the XML endpoints and the console's HTML pages, fuzzed elsewhere
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((rule.endpoint, method, rule.rule))
    return routes


@pytest.fixture
def routes(app):
    return json_routes(app)


@pytest.fixture
def api(server_errors, app, device, admin):
    """The sample form with one stored submission, a device, an admin; return the client and its secrets."""
    app.config["VALIDATE_FORMS"] = False  # an uploaded XLSForm would otherwise start Java for each case
    # Drawn wrong passwords would soon lock the admin out (429); the limit itself is tested in test_signin.py.
    app.config["SIGNIN_MAX_FAILURES"] = 1_000_000
    client = app.test_client()
    boundary, body = multipart(
        [
            ("xml_submission_file", "a.xml", "text/xml", make_instance(INSTANCE_ID)),
            ("photo.jpg", "photo.jpg", "image/jpeg", b"\xff\xd8\xff\xe0 photo"),
        ]
    )
    response = client.post(
        f"/v1/key/{device.token}/projects/1/submission",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert response.status_code == 201
    return {"client": client, "token": device.token, "errors": server_errors}


# --- values ------------------------------------------------------------------------------------------------


def valid_values(token: str) -> dict[str, list[str]]:
    return {
        "project_id": ["1"],
        "device_id": ["1"],
        "xml_form_id": ["sample_case"],
        "instance_id": [INSTANCE_ID],
        "version_id": [INSTANCE_ID],
        "version": ["2026112901"],
        "name": ["photo.jpg", "provinces.csv"],
        "kind": ["png", "svg"],
        "token": [token, "not-a-token"],
    }


def deep_json(kind: str, depth: int) -> bytes:
    if kind == "array":
        return b"[" * depth + b"]" * depth
    if kind == "object":
        return b'{"a":' * depth + b"1" + b"}" * depth
    return b'{"email": ' + b"[" * depth + b"]" * depth + b', "password": "x"}'


def xlsx_without_workbook() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "not a workbook")
    return out.getvalue()


json_scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), hostile)
json_value = st.recursive(
    json_scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(hostile, inner, max_size=4)),
    max_leaves=12,
)
# Bodies shaped like what each route reads, with right and wrong types in each field.
shaped = st.one_of(
    st.fixed_dictionaries(
        {
            "email": st.one_of(st.just(ADMIN_EMAIL), hostile, json_value),
            "password": st.one_of(st.just(ADMIN_PASSWORD), hostile, json_value),
        }
    ),
    st.fixed_dictionaries({"state": st.one_of(st.sampled_from(["open", "closing", "closed"]), hostile, json_value)}),
    st.fixed_dictionaries(
        {"displayName": st.one_of(st.just("Tablet"), hostile, json_value)},
        optional={
            "province": st.one_of(st.sampled_from(["05", "05\n", "5", "\u0660\u0665"]), hostile, json_value),
            "forms": st.one_of(st.lists(st.sampled_from(["sample_case", "nope", "\x00"])), json_value),
        },
    ),
    st.fixed_dictionaries({"forms": st.one_of(st.lists(st.one_of(st.just("sample_case"), hostile)), json_value)}),
)
body = st.one_of(
    st.none(),
    st.tuples(st.just("json"), st.one_of(shaped, json_value)),
    st.tuples(
        st.just("raw"),
        st.one_of(
            st.builds(
                deep_json, st.sampled_from(["array", "object", "field"]), st.sampled_from([10, 999, 1000, 10_000])
            ),
            st.sampled_from(
                [
                    b'{"email": "\\ud800@example.la", "password": "correct horse battery"}',
                    b'{"email": "admin@example.la", "password": "\\ud800"}',
                    b'{"email": "a\\u0000b@x.la", "password": "x"}',
                    b"{",
                    b"",
                    b"NaN",
                    b"\xff\xfe{\x00}\x00",
                    b'{"state": "open"',
                    b"[1e999999]",
                    b'{"a": 1, "a": 2}',
                    b"PK\x03\x04 not really a zip",
                    b"%PDF-1.4",
                ]
            ),
            st.sampled_from(["sample", "no-workbook", "bundled"]),
            st.binary(max_size=64),
        ),
    ),
)
content_types = st.sampled_from(
    [
        None,
        "application/json",
        "application/json; charset=utf-16",
        "text/plain",
        "application/octet-stream",
        "multipart/form-data; boundary=x",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "text/csv",
    ]
)
auth = st.one_of(
    st.sampled_from(["none", "basic", "bearer", "basic-wrong", "garbage"]), st.tuples(st.just("basic-user"), hostile)
)
extra_headers = st.dictionaries(
    st.sampled_from(
        ["X-Fuzz", "User-Agent", "Accept", "X-Forwarded-Host", "X-Forwarded-Proto", "Accept-Language", "If-None-Match"]
    ),
    st.one_of(
        st.sampled_from(["a\x00b", "\x00", "x" * 8000, "é", "*", ""]),
        st.text(alphabet=st.characters(max_codepoint=255, exclude_characters="\r\n"), max_size=20),
    ),
    max_size=3,
)
query = st.lists(
    st.tuples(st.one_of(st.sampled_from(["formID", "force", "strict", "deviceID", "limit", "$top"]), hostile), hostile),
    max_size=3,
)


def materialise(payload, token: str) -> tuple[bytes | None, str | None]:
    """Turn a drawn body into bytes and a default content type."""
    if payload is None:
        return None, None
    kind, value = payload
    if kind == "json":
        return json.dumps(value).encode(), "application/json"
    if value == "sample":
        return (DATA / "sample_case.xlsx").read_bytes(), None
    if value == "bundled":
        from forms import BUNDLED_FORMS_DIR

        return (BUNDLED_FORMS_DIR / "referral.xlsx").read_bytes(), None
    if value == "no-workbook":
        return xlsx_without_workbook(), None
    return value, "application/json"


def credentials(how, client) -> dict[str, str]:
    def basic(user: bytes, password: bytes) -> str:
        return "Basic " + base64.b64encode(user + b":" + password).decode()

    if how == "basic":
        return {"Authorization": basic(ADMIN_EMAIL.encode(), ADMIN_PASSWORD.encode())}
    if how == "basic-wrong":
        return {"Authorization": basic(ADMIN_EMAIL.encode(), b"wrong password")}
    if how == "garbage":
        return {"Authorization": "Basic !!!"}
    if how == "bearer":
        signed_in = client.post("/v1/sessions", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        assert signed_in.status_code == 200
        return {"Authorization": f"Bearer {signed_in.get_json()['token']}"}
    if isinstance(how, tuple):
        return {"Authorization": basic(how[1].encode("utf-8", "surrogatepass"), ADMIN_PASSWORD.encode())}
    return {}


def check_answer(response, errors, what: str) -> None:
    """Assert no 5xx, and that an error is the API's one JSON error shape."""
    status = response.status_code
    assert status < 500, f"{what} -> {status}: {errors.lines}"
    if status >= 400:
        assert response.mimetype == "application/json", f"{what} -> {status} as {response.mimetype}"
        payload = response.get_json()
        assert isinstance(payload, dict) and set(payload) == {
            "ok",
            "status",
            "code",
            "message",
            "error",
            "errors",
            "fields",
        }, payload
        assert payload["ok"] is False and payload["status"] == status, payload
        assert str(payload["code"]) in CODES and CODES[str(payload["code"])].status == status, payload
        assert isinstance(payload["error"], str) and payload["error"].strip(), payload
        assert payload["message"] == payload["error"], payload
        assert isinstance(payload["errors"], list) and isinstance(payload["fields"], dict), payload


def send(api, route, params, query_pairs, payload, content_type, how, headers):
    """Build and send one request; return (description, response)."""
    _endpoint, method, rule = route
    path = CONVERTER.sub(lambda m: encode(params[m.group(2)]), rule)
    if query_pairs:
        path += "?" + "&".join(f"{encode(k)}={encode(v)}" for k, v in query_pairs)
    data, default_type = materialise(payload, api["token"])
    all_headers = {**headers, **credentials(how, api["client"])}
    api["errors"].lines.clear()
    response = api["client"].open(
        path, method=method, data=data, headers=all_headers, content_type=content_type or default_type, buffered=True
    )
    return f"{method} {path[:200]}", response


@st.composite
def requests_(draw, routes, token):
    route = draw(st.sampled_from(routes))
    names = {m.group(2): m.group(1) for m in CONVERTER.finditer(route[2])}
    params = {
        name: draw(path_param(converter, valid_values(token).get(name, ["x"]))) for name, converter in names.items()
    }
    return route, params, draw(query), draw(body), draw(content_types), draw(auth), draw(extra_headers)


@pytest.mark.slow
@FUZZ
@given(data=st.data())
def test_every_json_route_answers_below_500_in_the_error_shape(api, routes, data):
    """Any route, parameters, body, credentials and headers: below 500, and errors in the JSON error shape."""
    what, response = send(api, *data.draw(requests_(routes, api["token"])))
    tolerating_open_findings(check_answer, response, api["errors"], what)


SESSIONS = ("sessions.create_session", "POST", "/v1/sessions")


@pytest.mark.slow
@FUZZ
@given(payload=body, content_type=content_types, headers=extra_headers)
@example(payload=("raw", deep_json("array", 999)), content_type="application/json", headers={})
@example(payload=("json", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}), content_type=None, headers={})
@example(payload=("json", {"email": ["x"], "password": {"a": 1}}), content_type=None, headers={})
@example(payload=("json", {"email": "a\x00b@x.la", "password": "x"}), content_type=None, headers={})
def test_sign_in_answers_below_500_in_the_error_shape(api, payload, content_type, headers):
    """POST /v1/sessions (no login needed) with any body: a token or a JSON error, never a 5xx."""
    what, response = send(api, SESSIONS, {}, [], payload, content_type, "none", headers)
    tolerating_open_findings(check_answer, response, api["errors"], what)
    if response.status_code == 200:
        assert response.get_json()["token"]


# Minimal reproducers of the 5xx the fuzzers and issue 7 (item 4) found, each a 4xx now, on both databases.
REPRODUCERS = [
    pytest.param(
        ("POST", "/v1/sessions", {}, ("raw", deep_json("array", 10_000)), "none"),
        id="sessions-json-nested-10000-RecursionError",
    ),
    pytest.param(
        ("POST", "/v1/sessions", {}, ("raw", b'{"email": "\\ud800@example.la", "password": "long enough"}'), "none"),
        id="sessions-lone-surrogate-email",
    ),
    pytest.param(
        ("POST", "/v1/sessions", {}, ("raw", b'{"email": "admin@example.la", "password": "\\ud800"}'), "none"),
        id="sessions-lone-surrogate-password",
    ),
    pytest.param(
        ("GET", "/v1/projects/<int:project_id>", {"project_id": str(2**63)}, None, "basic"), id="project-id-2**63"
    ),
    pytest.param(
        ("GET", "/v1/projects/<int:project_id>", {"project_id": str(2**31)}, None, "basic"), id="project-id-2**31"
    ),
    pytest.param(
        (
            "DELETE",
            "/v1/projects/<int:project_id>/app-users/<int:device_id>",
            {"project_id": "1", "device_id": str(2**64)},
            None,
            "basic",
        ),
        id="device-id-2**64",
    ),
    pytest.param(("GET", "/v1/projects", {}, None, ("basic-user", "a\x00b@x.la")), id="basic-user-with-NUL"),
    pytest.param(
        (
            "GET",
            "/v1/projects/<int:project_id>/forms/<xml_form_id>",
            {"project_id": "1", "xml_form_id": "a\x00b"},
            None,
            "basic",
        ),
        id="form-id-with-NUL",
    ),
    pytest.param(("GET", "/v1/key/<token>/projects", {"token": "a\x00b"}, None, "none"), id="token-with-NUL"),
    pytest.param(
        ("POST", "/v1/projects/<int:project_id>/forms", {"project_id": "1"}, ("raw", "no-workbook"), "basic"),
        id="xlsx-without-valid-workbook-part",
    ),
    pytest.param(
        (
            "POST",
            "/v1/projects/<int:project_id>/app-users",
            {"project_id": "1"},
            ("json", {"displayName": "Tablet", "province": "05\n"}),
            "basic",
        ),
        id="province-with-newline",
    ),
]


@pytest.mark.parametrize("case", REPRODUCERS)
def test_hostile_requests_of_issue_7_are_refused_cleanly(api, case):
    """Each reproducer is refused with a 4xx in the JSON error shape."""
    method, rule, params, payload, how = case
    what, response = send(api, ("known", method, rule), params, [], payload, None, how, {})
    check_answer(response, api["errors"], what)
    assert 400 <= response.status_code < 500, what


def test_unicode_digits_are_not_ids(api):
    """`/v1/projects/١` is not project 1."""
    response = api["client"].get("/v1/projects/\u0661", headers=credentials("basic", api["client"]))
    check_answer(response, api["errors"], "GET /v1/projects/\u0661")
    assert response.status_code == 404


def test_province_with_a_newline_is_refused(api):
    """A province code "05\\n" is refused (422), on SQLite as on PostgreSQL."""
    response = api["client"].post(
        "/v1/projects/1/app-users",
        json={"displayName": "Tablet", "province": "05\n"},
        headers=credentials("basic", api["client"]),
    )
    check_answer(response, api["errors"], "POST app-users province 05\\n")
    assert response.status_code == 422


def test_route_list_covers_the_api(routes):
    """The fuzzer sees every JSON resource (a new blueprint is fuzzed without editing this file)."""
    endpoints = {e for e, _m, _r in routes}
    assert {
        "sessions.create_session",
        "projects.project",
        "submissions.submission",
        "app_users.app_user_qr",
        "drafts.publish",
        "submissions_key.submission",
    } <= endpoints
    assert not any(e.startswith(("openrosa", "drafts_test")) for e in endpoints)
