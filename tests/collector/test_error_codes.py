"""Stable error codes: the table's rules, and the code each kind of JSON error carries (issue 17, item 3)."""

from __future__ import annotations

import pytest

from ingest.errors import CODES, GENERIC, ErrorCode, code_for_status
from tests.conftest import make_instance

SUBMISSIONS = "/v1/projects/1/forms/sample_case/submissions"


def test_every_code_is_its_own_json_number_and_names_its_status():
    """A code sent as a JSON number reads back as the same text (no 409.10, which would be 409.1), and its
    whole part is its HTTP status, as in ODK Central."""
    numbers = [code.number for code in CODES.values()]
    assert len(set(numbers)) == len(numbers)
    for text, code in CODES.items():
        assert str(code.number) == text == code.code
        assert 400 <= code.status < 600 and int(code.number) == code.status
        assert code.meaning.endswith(".") and code.meaning[0].isupper()


def test_generic_codes_are_in_the_table_under_their_own_status():
    assert all(code.code in CODES and code.status == status for status, code in GENERIC.items())
    # A status no code is declared for falls back to the generic client or server error, still in the table.
    assert code_for_status(418).code == "400.8" and code_for_status(505).code == "500.1"


def _json_error(response, status: int, code: str) -> dict:
    """Assert `response` is the JSON error shape with `status` and `code`; return the body."""
    assert response.status_code == status, response.data[:300]
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"ok", "status", "code", "message", "error", "errors", "fields"}
    assert (body["ok"], body["status"], body["code"]) == (False, status, CODES[code].number)
    assert body["message"] == body["error"] and body["error"].strip()
    return body


def _submit(client, admin, xml: bytes):
    return client.post(SUBMISSIONS, data=xml, content_type="application/xml", auth=admin)


CASES = [
    # (id, status, code, how): `how` sends one request and returns its response.
    ("bad-query-value", 400, "400.8", lambda c, a, d: c.get(f"{SUBMISSIONS}?limit=many", auth=a)),
    (
        "body-not-json",
        400,
        "400.1",
        lambda c, a, d: c.post("/v1/sessions", data="not json", content_type="application/json"),
    ),
    ("xlsform-missing", 400, "400.2", lambda c, a, d: c.post("/v1/projects/1/forms", data=b"", auth=a)),
    (
        "instance-of-another-form",
        400,
        "400.8",
        lambda c, a, d: _submit(c, a, make_instance("uuid:other", form_id="referral")),
    ),
    (
        "odata-filter-unparseable",
        400,
        "400.18",
        lambda c, a, d: c.get("/v1/projects/1/forms/sample_case.svc/Submissions?$filter=((", auth=a),
    ),
    (
        "odata-unknown-property",
        400,
        "400.23",
        lambda c, a, d: c.get("/v1/projects/1/forms/sample_case.svc/Submissions?$orderby=nothing_here", auth=a),
    ),
    ("no-credentials", 401, "401.4", lambda c, a, d: c.get("/v1/projects")),
    ("wrong-password", 401, "401.2", lambda c, a, d: c.get("/v1/projects", auth=(a[0], "wrong"))),
    ("unknown-bearer", 401, "401.2", lambda c, a, d: c.get("/v1/projects", headers={"Authorization": "Bearer nope"})),
    (
        "device-reads-data",
        403,
        "403.1",
        lambda c, a, d: c.get(f"/v1/key/{d.token}/projects/1/forms/sample_case/submissions"),
    ),
    (
        "password-over-http-from-afar",
        403,
        "403.53",
        lambda c, a, d: c.get("/v1/projects", auth=a, environ_base={"REMOTE_ADDR": "192.0.2.7"}),
    ),
    ("unknown-form", 404, "404.1", lambda c, a, d: c.get("/v1/projects/1/forms/nothing/submissions", auth=a)),
    ("no-such-route", 404, "404.1", lambda c, a, d: c.get("/v1/nothing-here", auth=a)),
    ("method-not-allowed", 405, "405.1", lambda c, a, d: c.put("/v1/sessions", auth=a)),
    (
        "email-taken",
        409,
        "409.3",
        lambda c, a, d: c.post("/v1/users", json={"email": a[0], "password": "long enough password"}, auth=a),
    ),
    (
        "same-instance-id-other-xml",
        409,
        "409.1",
        lambda c, a, d: (
            _submit(c, a, make_instance("uuid:twice")),
            _submit(c, a, make_instance("uuid:twice", age="31")),
        )[1],
    ),
    (
        "xlsform-too-large",
        413,
        "413.1",
        lambda c, a, d: c.post("/v1/projects/1/forms", data=b"x" * (2 * 1024 * 1024), auth=a),
    ),
    ("body-not-valid", 422, "422.1", lambda c, a, d: c.post("/v1/sessions", json={"email": "x@y.la"})),
    (
        "odata-expand-other-than-star",
        501,
        "501.6",
        lambda c, a, d: c.get("/v1/projects/1/forms/sample_case.svc/Submissions?$expand=children", auth=a),
    ),
]


@pytest.mark.parametrize("status, code, how", [pytest.param(*case[1:], id=case[0]) for case in CASES])
def test_each_kind_of_json_error_carries_its_code(app, client, admin, device, status, code, how):
    app.config["MAX_XLSFORM_BYTES"] = 1024 * 1024
    _json_error(how(client, admin, device), status, code)


def test_range_outside_a_file_is_416_with_its_code(client, admin, published_form):
    assert _submit(client, admin, make_instance("uuid:ranged")).status_code == 201
    path = f"{SUBMISSIONS}/uuid:ranged/attachments/photo.jpg"
    assert client.post(path, data=b"\xff\xd8\xff" + bytes(100), content_type="image/jpeg", auth=admin).status_code < 300
    _json_error(client.get(path, headers={"Range": "bytes=5000-"}, auth=admin), 416, "416.1")


def test_too_many_failed_sign_ins_is_429_with_its_code(app, client, admin):
    app.config["SIGNIN_MAX_FAILURES"] = 1
    _json_error(client.post("/v1/sessions", json={"email": admin[0], "password": "wrong"}), 401, "401.2")
    response = client.post("/v1/sessions", json={"email": admin[0], "password": "wrong"})
    _json_error(response, 429, "429.1")
    assert response.headers["Retry-After"]


@pytest.mark.parametrize(
    "raised, code",
    [(RuntimeError("secret victim name"), "500.1"), (None, "500.51")],
    ids=["unexpected", "read-without-caller"],
)
def test_server_errors_carry_a_code_and_no_details(client, admin, monkeypatch, raised, code):
    import collector.api.projects
    from ingest.scope import ScopeMissing

    def explode(*_a, **_k):
        raise raised or ScopeMissing("a query on records ran without a caller: secret victim name")

    monkeypatch.setattr(collector.api.projects, "get_project", explode)
    body = _json_error(client.get("/v1/projects/1", auth=admin), 500, code)
    assert "secret" not in body["error"]


def test_a_code_given_to_an_ingest_error_overrides_its_class():
    from ingest.errors import FORM_CLOSED, Conflict

    assert (Conflict("x").code.code, Conflict("x").status) == ("409.51", 409)
    assert (Conflict("x", FORM_CLOSED).code, Conflict("x", FORM_CLOSED).status) == (FORM_CLOSED, 409)
    assert isinstance(FORM_CLOSED, ErrorCode)


def test_openrosa_errors_keep_their_xml_without_a_code(client, device, published_form):
    """Collect reads the OpenRosaResponse XML: the code is for JSON clients only."""
    response = client.get(f"/v1/key/{device.token}/projects/1/forms/nothing.xml")
    assert response.status_code == 404 and response.mimetype == "text/xml"
    assert response.data == (
        b'<OpenRosaResponse xmlns="http://openrosa.org/http/response"><message nature="error">'
        b"The form 'nothing' is not on this server.</message></OpenRosaResponse>"
    )
