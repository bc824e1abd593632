"""JSON API: sessions, Basic auth, submissions with normalised data, devices locked out of reads."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from ingest.models import AuditEvent
from tests.conftest import make_instance
from tests.support.openrosa import JPEG, base, post
from tests.support.s3 import STORES


def bearer(client, admin) -> dict:
    response = client.post("/v1/sessions", json={"email": admin[0], "password": admin[1]})
    assert response.status_code == 200
    body = response.get_json()
    assert body["expiresAt"] > body["createdAt"]
    return {"Authorization": f"Bearer {body['token']}"}


def test_session_token_reads_submissions_with_repeats_as_child_rows(client, device, admin, published_form, db_session):
    assert post(client, device, make_instance("uuid:api-1"), {"photo.jpg": JPEG}).status_code == 201
    response = client.get("/v1/projects/1/forms/sample_case/submissions", headers=bearer(client, admin))
    assert response.status_code == 200
    [record] = response.get_json()
    assert record["instanceId"] == "uuid:api-1"
    assert record["deviceId"] == "collect:abc123"
    assert record["currentVersion"]["formVersion"] == "2026112901"
    assert (record["attachmentsExpected"], record["attachmentsPresent"]) == (1, 1)
    data = record["data"]
    assert data["full_name"] == "Test Person" and data["age"] == 30
    assert data["route"] == [
        {"place": "Vientiane", "days": 2, "place_photo": None},
        {"place": "Bangkok", "days": 10, "place_photo": None},
    ]
    # Reading identifiable data leaves a trace naming who read what, and not the data itself.
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "submission.list"))
    assert event.resource == "form:sample_case" and event.details == {"count": 1}


@pytest.mark.parametrize("media_settings", STORES, indirect=True)
def test_basic_auth_reads_one_submission_its_xml_and_files(client, device, admin, published_form):
    xml = make_instance("uuid:api-2")
    post(client, device, xml, {"photo.jpg": JPEG})
    url = "/v1/projects/1/forms/sample_case/submissions/uuid:api-2"
    assert client.get(url, auth=admin).get_json()["data"]["province"] == "01"
    assert client.get(url + ".xml", auth=admin).data == xml
    assert client.get(url + "/attachments", auth=admin).get_json() == [{"name": "photo.jpg", "exists": True}]
    with client.get(url + "/attachments/photo.jpg", auth=admin) as photo:
        assert photo.data == JPEG


def test_signing_out_revokes_the_bearer_token(client, admin):
    headers = bearer(client, admin)
    assert client.get("/v1/users/current", headers=headers).get_json()["email"] == admin[0]
    assert client.delete("/v1/sessions/current", headers=headers).status_code == 200
    assert client.get("/v1/users/current", headers=headers).status_code == 401
    assert client.delete("/v1/sessions/current", auth=admin).status_code == 400


def test_wrong_password_is_401_with_json_error(client, admin):
    response = client.post("/v1/sessions", json={"email": admin[0], "password": "wrong"})
    assert response.status_code == 401
    wrong = "The email or password is wrong."
    assert response.get_json() == {
        "ok": False,
        "status": 401,
        "code": 401.2,
        "message": wrong,
        "error": wrong,
        "errors": [],
        "fields": {},
    }
    assert client.get("/v1/projects", auth=(admin[0], "wrong")).status_code == 401


def test_session_body_is_validated(client):
    response = client.post("/v1/sessions", json={"email": "x@y.la"})
    assert response.status_code == 422
    assert response.get_json()["fields"] == {"password": ["Missing data for required field."]}
    assert client.post("/v1/sessions", data="not json").status_code == 400


def test_no_credentials_is_401_json(client, published_form):
    response = client.get("/v1/projects/1/forms/sample_case/submissions")
    assert response.status_code == 401
    assert response.get_json()["ok"] is False
    assert "Basic" in response.headers["WWW-Authenticate"]


def test_device_can_submit_but_never_read_data_back(client, device, published_form):
    post(client, device, make_instance("uuid:dev"))
    for path in ("/forms/sample_case/submissions", "/forms/sample_case/submissions/uuid:dev", "/forms"):
        response = client.get(f"{base(device)}{path}")
        assert response.status_code == 403
        assert response.get_json()["status"] == 403


def test_expired_or_unknown_bearer_is_401(client):
    response = client.get("/v1/projects", headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert "Sign in again" in response.get_json()["error"]


def test_forms_list_is_central_shaped(client, admin, published_form):
    [form] = client.get("/v1/projects/1/forms", auth=admin).get_json()
    assert form["xmlFormId"] == "sample_case" and form["version"] == "2026112901" and form["state"] == "open"
    assert form["hash"] == published_form.xml_md5


def test_unknown_form_is_404_json(client, admin, published_form):
    response = client.get("/v1/projects/1/forms/nothing/submissions", auth=admin)
    assert response.status_code == 404
    assert response.get_json()["error"] == "No form 'nothing' in project 1."


def test_app_user_endpoint_returns_token_url_and_qr(client, admin, published_form):
    from collector.devices import decode_payload

    response = client.post(
        "/v1/projects/1/app-users", json={"displayName": "Savannakhet tablet 3", "province": "13"}, auth=admin
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["serverUrl"] == f"http://localhost/v1/key/{body['token']}/projects/1"
    settings = decode_payload(body["qrPayload"])
    assert settings["general"]["server_url"] == body["serverUrl"]
    assert settings["project"]["name"]
    assert client.get(f"/v1/key/{body['token']}/projects/1/formList").status_code == 200


def test_unexpected_error_is_500_without_details(app, client, admin, monkeypatch):
    import collector.api.projects

    def explode(*_a, **_k):
        raise RuntimeError("secret victim name")

    monkeypatch.setattr(collector.api.projects, "get_project", explode)
    response = client.get("/v1/projects/1", auth=admin)
    assert response.status_code == 500
    assert b"secret" not in response.data
    assert response.get_json()["status"] == 500


def test_openrosa_post_by_web_user_records_user(client, admin, published_form, db_session):
    from ingest.models import SubmissionVersion

    data = {"xml_submission_file": (io.BytesIO(make_instance("uuid:user")), "x.xml", "text/xml")}
    response = client.post("/v1/projects/1/submission", data=data, auth=admin, content_type="multipart/form-data")
    assert response.status_code == 201
    assert db_session.scalar(select(SubmissionVersion)).user_id is not None
