"""The trainer's workflow over the JSON API: drafts, test tokens, media, publish, versions, bad uploads."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from ingest.models import Form, FormVersion, Submission
from tests.conftest import DATA, make_instance
from tests.support.forms import workbook_bytes
from tests.support.s3 import STORES

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SAMPLE = (DATA / "sample_case.xlsx").read_bytes()
SAMPLE_V2 = (DATA / "sample_case_v2.xlsx").read_bytes()
PROVINCES = (DATA / "media" / "provinces.csv").read_bytes()


def upload(client, admin, body: bytes, path: str = "/v1/projects/1/forms", **query):
    return client.post(path, data=body, content_type=XLSX, auth=admin, query_string=query)


@pytest.mark.parametrize("media_settings", STORES, indirect=True)
def test_upload_makes_a_draft_with_test_url_and_missing_media(client, admin, published_form_project):
    response = upload(client, admin, SAMPLE)
    assert response.status_code == 201, response.get_json()
    draft = response.get_json()
    assert draft["xmlFormId"] == "sample_case" and draft["version"] == "2026112901"
    assert draft["missingMedia"] == ["provinces.csv"]
    assert "/v1/test/" in draft["testUrl"] and draft["testUrl"].endswith("/projects/1/forms/sample_case/draft")
    # A draft is not offered to tablets.
    assert client.get("/v1/projects/1/formList", auth=admin).data.count(b"<xform>") == 0


def test_draft_test_token_serves_the_form_and_keeps_test_data_apart(client, admin, published_form_project, db_session):
    draft = upload(client, admin, SAMPLE).get_json()
    client.post(
        "/v1/projects/1/forms/sample_case/draft/attachments/provinces.csv",
        data=PROVINCES,
        content_type="text/csv",
        auth=admin,
    )
    base = draft["testUrl"]
    listing = client.get(f"{base}/formList")
    assert listing.status_code == 200 and b"<formID>sample_case</formID>" in listing.data
    assert client.get(f"{base}.xml").data.startswith(b"<?xml")
    assert b"provinces.csv" in client.get(f"{base}/manifest").data
    assert client.head(f"{base}/submission").status_code == 204
    data = {"xml_submission_file": (io.BytesIO(make_instance("uuid:test-1")), "x.xml", "text/xml")}
    assert client.post(f"{base}/submission", data=data, content_type="multipart/form-data").status_code == 201
    assert len(client.get("/v1/projects/1/forms/sample_case/draft/submissions", auth=admin).get_json()) == 1
    assert client.get("/v1/projects/1/forms/sample_case/submissions", auth=admin).get_json() == []
    # Publishing discards the test data and retires the test token.
    published = client.post("/v1/projects/1/forms/sample_case/draft/publish", auth=admin)
    assert published.status_code == 200 and published.get_json()["version"] == "2026112901"
    db_session.expire_all()
    assert db_session.scalar(select(func.count()).select_from(Submission)) == 0
    expired = client.get(f"{base}/formList")
    assert expired.status_code == 403 and b"expired" in expired.data
    assert b"<formID>sample_case</formID>" in client.get("/v1/projects/1/formList", auth=admin).data


def test_publish_is_refused_until_media_are_uploaded_or_forced(client, admin, published_form_project):
    upload(client, admin, SAMPLE)
    refused = client.post("/v1/projects/1/forms/sample_case/draft/publish", auth=admin)
    assert refused.status_code == 409 and "provinces.csv" in refused.get_json()["error"]
    assert client.post("/v1/projects/1/forms/sample_case/draft/publish?force=true", auth=admin).status_code == 200


@pytest.mark.parametrize("media_settings", STORES, indirect=True)
def test_media_carry_forward_to_the_next_draft_and_replacement_changes_the_manifest(
    client, admin, published_form_project
):
    upload(client, admin, SAMPLE)
    client.post("/v1/projects/1/forms/sample_case/draft/attachments/provinces.csv", data=PROVINCES, auth=admin)
    client.post("/v1/projects/1/forms/sample_case/draft/publish", auth=admin)
    first_manifest = client.get("/v1/projects/1/forms/sample_case/manifest", auth=admin).data
    draft = upload(client, admin, SAMPLE_V2, path="/v1/projects/1/forms/sample_case/draft").get_json()
    assert draft["missingMedia"] == [] and draft["attachments"] == [{"name": "provinces.csv", "exists": True}]
    changed = PROVINCES + b"99,Test province\n"
    client.post("/v1/projects/1/forms/sample_case/draft/attachments/provinces.csv", data=changed, auth=admin)
    assert client.post("/v1/projects/1/forms/sample_case/draft/publish", auth=admin).status_code == 200
    second_manifest = client.get("/v1/projects/1/forms/sample_case/manifest", auth=admin).data
    assert second_manifest != first_manifest
    import hashlib

    assert hashlib.md5(changed).hexdigest().encode() in second_manifest


def test_media_the_form_does_not_use_is_404(client, admin, published_form_project):
    upload(client, admin, SAMPLE)
    response = client.post("/v1/projects/1/forms/sample_case/draft/attachments/other.csv", data=b"x", auth=admin)
    assert response.status_code == 404 and "provinces.csv" in response.get_json()["error"]


def test_republishing_a_published_version_string_is_refused(client, admin, published_form_project):
    upload(client, admin, SAMPLE)
    client.post("/v1/projects/1/forms/sample_case/draft/publish?force=true", auth=admin)
    clash = workbook_bytes(
        [("type", "name", "label"), ("text", "other", "Other")],
        settings=(("form_id", "version"), ("sample_case", "2026112901")),
    )
    assert upload(client, admin, clash, path="/v1/projects/1/forms/sample_case/draft").status_code == 201
    refused = client.post("/v1/projects/1/forms/sample_case/draft/publish?force=true", auth=admin)
    assert refused.status_code == 409 and "already published" in refused.get_json()["error"]


def test_form_id_clash_is_409_and_wrong_form_id_for_a_draft_is_400(client, admin, published_form_project):
    assert upload(client, admin, SAMPLE).status_code == 201
    clash = upload(client, admin, SAMPLE)
    assert clash.status_code == 409 and "already exists" in clash.get_json()["error"]
    other = workbook_bytes([("type", "name", "label"), ("text", "a", "A")], settings=(("form_id",), ("other",)))
    wrong = upload(client, admin, other, path="/v1/projects/1/forms/sample_case/draft")
    assert wrong.status_code == 400 and "'other', not 'sample_case'" in wrong.get_json()["error"]


def test_previous_versions_stay_downloadable(client, admin, published_form_project):
    upload(client, admin, SAMPLE)
    client.post("/v1/projects/1/forms/sample_case/draft/publish?force=true", auth=admin)
    upload(client, admin, SAMPLE_V2, path="/v1/projects/1/forms/sample_case/draft")
    client.post("/v1/projects/1/forms/sample_case/draft/publish?force=true", auth=admin)
    versions = client.get("/v1/projects/1/forms/sample_case/versions", auth=admin).get_json()
    assert [v["version"] for v in versions] == ["2026120101", "2026112901"]
    old = client.get("/v1/projects/1/forms/sample_case/versions/2026112901.xml", auth=admin)
    assert b'version="2026112901"' in old.data
    assert client.get("/v1/projects/1/forms/sample_case/versions/2026112901.xlsx", auth=admin).data == SAMPLE


def test_pyxform_errors_come_back_with_sheet_and_row(client, admin, published_form_project, db_session):
    broken = workbook_bytes([("type", "name", "label", "relevant"), ("text", "a", "A", "${nowhere} = 1")])
    response = upload(client, admin, broken)
    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "pyxform could not convert the form."
    assert body["errors"][0]["row"] == 2 and "nowhere" in body["errors"][0]["message"]
    assert db_session.scalar(select(func.count()).select_from(Form)) == 0


def test_warnings_are_returned_and_block_only_in_strict_mode(client, admin, published_form_project):
    warned = workbook_bytes([("type", "name", "label"), ("image", "photo", "Photo")])
    assert upload(client, admin, warned, strict="true").status_code == 400
    accepted = upload(client, admin, warned)
    assert accepted.status_code == 201 and accepted.get_json()["warnings"]


def test_bad_uploads_are_refused_and_store_nothing(client, admin, published_form_project, db_session):
    assert upload(client, admin, b"this is a text file").get_json()["error"] == "This file is not an .xlsx spreadsheet."
    assert upload(client, admin, b"").status_code == 400
    too_big = upload(client, admin, b"PK" + b"\0" * (10 * 1024 * 1024))
    assert too_big.status_code == 413
    formula = workbook_bytes([("type", "name", "label"), ("text", "a", "=1+1")])
    body = upload(client, admin, formula).get_json()
    assert body["errors"][0]["sheet"] == "survey" and "formula" in body["errors"][0]["message"]
    assert db_session.scalar(select(func.count()).select_from(FormVersion)) == 0


def test_devices_and_viewers_cannot_upload(client, device, db_session):
    from ingest.accounts.users import create_user

    create_user(db_session, "viewer@example.la", "viewer password", "analyst")
    db_session.commit()
    response = client.post(
        "/v1/projects/1/forms", data=SAMPLE, content_type=XLSX, auth=("viewer@example.la", "viewer password")
    )
    assert response.status_code == 403
    assert client.post(f"/v1/key/{device.token}/projects/1/forms", data=SAMPLE).status_code in (403, 405)


def test_draft_can_be_discarded(client, admin, published_form_project):
    upload(client, admin, SAMPLE)
    assert client.delete("/v1/projects/1/forms/sample_case/draft", auth=admin).status_code == 200
    assert client.get("/v1/projects/1/forms/sample_case/draft", auth=admin).status_code == 404
