"""Devices (app users): assignment, revocation, QR codes, and versions that keep accepting data."""

from __future__ import annotations

import io

from sqlalchemy import select

from collector.devices import collect_settings, decode_payload, settings_payload
from ingest.models import SubmissionVersion
from tests.conftest import DATA, make_instance
from tests.support.openrosa import post


def test_settings_payload_is_zlib_base64_json_with_project_and_update_mode():
    settings = collect_settings("https://atip.example.la/v1/key/abc/projects/1", "ຄະດີ Lao cases")
    decoded = decode_payload(settings_payload(settings))
    assert decoded == settings
    assert decoded["general"]["form_update_mode"] == "match_exactly"
    assert decoded["project"]["name"] == "ຄະດີ Lao cases"


def test_app_users_are_listed_reassigned_and_revoked(client, admin, device, db_session):
    [listed] = client.get("/v1/projects/1/app-users", auth=admin).get_json()
    assert listed["displayName"] == "Test tablet" and listed["forms"] == ["sample_case"]
    assigned = client.put(f"/v1/projects/1/app-users/{device.id}/forms", json={"forms": []}, auth=admin)
    assert assigned.status_code == 200 and assigned.get_json()["forms"] == []
    assert b"<xform>" not in client.get(f"/v1/key/{device.token}/projects/1/formList").data
    unknown = client.put(f"/v1/projects/1/app-users/{device.id}/forms", json={"forms": ["nope"]}, auth=admin)
    assert unknown.status_code == 400 and "nope" in unknown.get_json()["error"]
    assert client.delete(f"/v1/projects/1/app-users/{device.id}", auth=admin).status_code == 200
    assert client.get(f"/v1/key/{device.token}/projects/1/formList").status_code == 403


def test_qr_code_is_served_as_png_and_svg(client, admin, device):
    png = client.get(f"/v1/projects/1/app-users/{device.id}/qr.png", auth=admin)
    assert png.status_code == 200 and png.data.startswith(b"\x89PNG") and png.mimetype == "image/png"
    svg = client.get(f"/v1/projects/1/app-users/{device.id}/qr.svg", auth=admin)
    assert svg.mimetype == "image/svg+xml" and b"<svg" in svg.data
    assert client.get("/v1/projects/1/app-users/999/qr.png", auth=admin).status_code == 404


def test_viewer_may_not_manage_devices(client, db_session, device):
    from ingest.accounts.users import create_user

    create_user(db_session, "viewer@example.la", "viewer password", "analyst")
    db_session.commit()
    response = client.post(
        "/v1/projects/1/app-users", json={"displayName": "x"}, auth=("viewer@example.la", "viewer password")
    )
    assert response.status_code == 403


def test_every_published_version_keeps_accepting(client, runner, device, db_session, app):
    from forms.compiler import compile_xlsform
    from ingest.publishing.versions import publish

    publish(
        db_session,
        app.extensions["collector.store"],
        1,
        compile_xlsform(DATA / "sample_case_v2.xlsx"),
        {"provinces.csv": (DATA / "media" / "provinces.csv").read_bytes()},
    )
    db_session.commit()
    listing = client.get(f"/v1/key/{device.token}/projects/1/formList").data
    assert b"<version>2026120101</version>" in listing
    assert post(client, device, make_instance("uuid:old", version="2026112901")).status_code == 201
    assert post(client, device, make_instance("uuid:new", version="2026120101")).status_code == 201
    stored = {
        v.instance_id: (v.version_string, v.unknown_version, v.form_version.version)
        for v in db_session.scalars(select(SubmissionVersion))
    }
    assert stored == {"uuid:old": ("2026112901", False, "2026112901"), "uuid:new": ("2026120101", False, "2026120101")}


def test_forwarded_headers_shape_device_urls(client, admin, published_form):
    response = client.post(
        "/v1/projects/1/app-users",
        json={"displayName": "Behind nginx"},
        auth=admin,
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "atip.example.la"},
    )
    assert response.get_json()["serverUrl"].startswith("https://atip.example.la/v1/key/")


def test_json_post_by_device_to_submission_records_device(client, device, db_session):
    data = {"xml_submission_file": (io.BytesIO(make_instance("uuid:dev-1")), "x.xml", "text/xml")}
    response = client.post(
        f"/v1/key/{device.token}/projects/1/submission", data=data, content_type="multipart/form-data"
    )
    assert response.status_code == 201
    assert db_session.scalar(select(SubmissionVersion)).device_id == device.id
