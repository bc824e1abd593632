"""OpenRosa endpoints as ODK Collect uses them: list, download, manifest, media, HEAD and POST."""

from __future__ import annotations

import hashlib
import io

import pytest
from sqlalchemy import select

from ingest.models import Submission, SubmissionAttachment, SubmissionVersion
from tests.conftest import make_instance
from tests.support.openrosa import JPEG, base, count, openrosa_message, post
from tests.support.s3 import STORES

NS = {"x": "http://openrosa.org/xforms/xformsList", "m": "http://openrosa.org/xforms/xformsManifest"}


def test_form_list_offers_published_form_with_exact_hash(client, device, published_form):
    from lxml import etree

    response = client.get(f"{base(device)}/formList", headers={"X-OpenRosa-Version": "1.0"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert response.headers["X-OpenRosa-Version"] == "1.0"
    assert "Date" in response.headers
    doc = etree.fromstring(response.data)
    forms = doc.findall("x:xform", NS)
    assert [f.findtext("x:formID", namespaces=NS) for f in forms] == ["sample_case"]
    xform = forms[0]
    assert xform.findtext("x:name", namespaces=NS) == "Sample case"
    assert xform.findtext("x:version", namespaces=NS) == "2026112901"
    download = xform.findtext("x:downloadUrl", namespaces=NS)
    assert download == f"http://localhost{base(device)}/forms/sample_case.xml"
    body = client.get(download).data
    assert xform.findtext("x:hash", namespaces=NS) == "md5:" + hashlib.md5(body).hexdigest()
    assert xform.findtext("x:manifestUrl", namespaces=NS).endswith("/forms/sample_case/manifest")


def test_form_list_filters_by_form_id(client, device, published_form):
    response = client.get(f"{base(device)}/formList?formID=other")
    assert response.status_code == 200
    assert b"<xform>" not in response.data


def test_form_list_urls_honour_forwarded_headers(client, device, published_form):
    response = client.get(
        f"{base(device)}/formList", headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "atip.gov.la"}
    )
    assert f"https://atip.gov.la{base(device)}/forms/sample_case.xml".encode() in response.data


@pytest.mark.parametrize("media_settings", STORES, indirect=True)
def test_manifest_lists_media_with_md5_and_media_downloads(client, device, published_form):
    from lxml import etree

    response = client.get(f"{base(device)}/forms/sample_case/manifest")
    assert response.status_code == 200
    assert response.headers["X-OpenRosa-Version"] == "1.0"
    files = etree.fromstring(response.data).findall("m:mediaFile", NS)
    assert [f.findtext("m:filename", namespaces=NS) for f in files] == ["provinces.csv"]
    url = files[0].findtext("m:downloadUrl", namespaces=NS)
    with client.get(url) as media:
        assert media.status_code == 200
        assert media.data.startswith(b"name,label")
        digest = hashlib.md5(media.data).hexdigest()
        assert files[0].findtext("m:hash", namespaces=NS) == f"md5:{digest}"
        assert media.headers["ETag"] == f'"{digest}"'
    with client.get(url, headers={"If-None-Match": f'"{digest}"'}) as cached:
        assert cached.status_code == 304


def test_unknown_media_is_404_in_openrosa_xml(client, device, published_form):
    response = client.get(f"{base(device)}/forms/sample_case/attachments/nothing.csv")
    assert response.status_code == 404
    assert "nothing.csv" in openrosa_message(response)


@pytest.mark.parametrize("method", ["HEAD", "GET"])
def test_submission_probe_is_204_with_accepted_length(client, device, method):
    response = client.open(f"{base(device)}/submission", method=method, headers={"X-OpenRosa-Version": "1.0"})
    assert response.status_code == 204
    assert response.data == b""
    assert response.headers["X-OpenRosa-Accept-Content-Length"] == str(5 * 1024 * 1024)
    assert response.headers["X-OpenRosa-Version"] == "1.0"


@pytest.mark.parametrize("media_settings", STORES, indirect=True)
def test_submission_with_photo_is_stored_raw_and_normalised(client, device, published_form, db_session):
    xml = make_instance("uuid:first")
    response = post(client, device, xml, {"photo.jpg": JPEG})
    assert response.status_code == 201
    assert openrosa_message(response) == "Your record was received."
    version = db_session.scalar(select(SubmissionVersion))
    assert version.xml == xml
    assert version.device_ident == "collect:abc123"
    assert version.user_agent.startswith("org.odk.collect.android")
    assert version.device_id == device.id
    [attachment] = version.attachments
    assert (attachment.name, attachment.blob.size) == ("photo.jpg", len(JPEG))
    root = next(r for r in version.rows if r.parent_id is None)
    assert root.data["age"] == 30 and root.data["indicators"] == ["deception", "debt"]
    assert [r.data["place"] for r in version.rows if r.path == "/data/route"] == ["Vientiane", "Bangkok"]


@pytest.mark.parametrize("media_settings", STORES, indirect=True)
def test_retry_with_identical_xml_is_201_and_adds_late_files(client, device, published_form, db_session):
    xml = make_instance("uuid:retry")
    assert post(client, device, xml).status_code == 201
    response = post(client, device, xml, {"photo.jpg": JPEG})
    assert response.status_code == 201
    assert count(db_session, Submission) == 1
    assert db_session.scalar(select(SubmissionAttachment)).blob_id is not None


def test_submission_duplicate_with_different_xml_is_409(client, device, published_form, db_session):
    assert post(client, device, make_instance("uuid:dup")).status_code == 201
    response = post(client, device, make_instance("uuid:dup", name="Someone Else"))
    assert response.status_code == 409
    assert "same instance ID" in openrosa_message(response)
    assert count(db_session, SubmissionVersion) == 1


def test_unexpected_parts_are_ignored(client, device, published_form, db_session):
    assert post(client, device, make_instance(photo=None), {"extra.jpg": JPEG}).status_code == 201
    assert count(db_session, SubmissionAttachment) == 0


@pytest.mark.parametrize("media_settings", STORES, indirect=True)
def test_attachment_part_named_as_a_path_is_stored_under_a_safe_name(
    client, device, published_form, db_session, app, instance_path
):
    xml = make_instance("uuid:traversal", photo="passwd")
    data = {
        "xml_submission_file": (io.BytesIO(xml), "xml_submission_file.xml", "text/xml"),
        "passwd": (io.BytesIO(JPEG), "../../etc/passwd", "image/jpeg"),
    }
    response = client.post(f"{base(device)}/submission", data=data, content_type="multipart/form-data")
    assert response.status_code == 201
    [attachment] = db_session.scalar(select(SubmissionVersion)).attachments
    assert attachment.name == "passwd" and attachment.blob is not None
    store, sha256 = app.extensions["collector.store"], attachment.blob.sha256
    with store.open(sha256) as blob:
        assert blob.read() == JPEG
    stored = store.local_path(sha256)
    if stored is None:  # object storage: under its digest, whatever the part's name
        assert store.key(sha256) == f"{sha256[:2]}/{sha256}"
    else:
        assert stored.resolve().is_relative_to((instance_path / "media").resolve())


BAD_XML = {
    "malformed": b"<data id='sample_case'><unclosed></data>",
    "doctype": b"<?xml version='1.0'?><!DOCTYPE data [<!ELEMENT data ANY>]><data id='sample_case'/>",
    "external_entity": (
        b"<?xml version='1.0'?><!DOCTYPE data [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>"
        b"<data id='sample_case'><full_name>&x;</full_name></data>"
    ),
    "billion_laughs": (
        b"<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'>"
        b"<!ENTITY lol2 '&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;'>"
        b"<!ENTITY lol3 '&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;'>]>"
        b"<data id='sample_case'><full_name>&lol3;</full_name></data>"
    ),
    "no_form_id": b"<data><meta><instanceID>uuid:x</instanceID></meta></data>",
    "too_deep": b"<data id='sample_case'>" + b"<a>" * 100 + b"</a>" * 100 + b"</data>",
}


@pytest.mark.parametrize("case", sorted(BAD_XML))
def test_bad_xml_is_400_and_nothing_is_stored(client, device, published_form, db_session, case):
    response = post(client, device, BAD_XML[case])
    assert response.status_code == 400
    message = openrosa_message(response)
    assert "passwd" not in message and "lollol" not in message
    assert count(db_session, Submission) == 0


def test_post_without_xml_part_is_400(client, device, published_form, db_session):
    response = client.post(
        f"{base(device)}/submission",
        data={"photo.jpg": (io.BytesIO(JPEG), "photo.jpg")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "xml_submission_file" in openrosa_message(response)


def test_post_that_is_not_multipart_is_400(client, device, published_form):
    response = client.post(f"{base(device)}/submission", data=make_instance(), content_type="text/xml")
    assert response.status_code == 400
    assert "multipart" in openrosa_message(response)


def test_body_over_advertised_length_is_413_before_reading(client, device, published_form, db_session):
    body = (
        b'--b\r\nContent-Disposition: form-data; name="xml_submission_file"; filename="x.xml"\r\n\r\n'
        + make_instance()
        + b'\r\n--b\r\nContent-Disposition: form-data; name="photo.jpg"; filename="photo.jpg"\r\n\r\n'
        + b"x" * (6 * 1024 * 1024)
        + b"\r\n--b--\r\n"
    )
    response = client.post(f"{base(device)}/submission", data=body, content_type="multipart/form-data; boundary=b")
    assert response.status_code == 413
    assert "MB" in openrosa_message(response)
    assert count(db_session, Submission) == 0


def test_unknown_form_is_404(client, device, published_form, db_session):
    response = post(client, device, make_instance(form_id="no_such_form"))
    assert response.status_code == 404
    assert "no_such_form" in openrosa_message(response)
    assert count(db_session, Submission) == 0


def test_no_credentials_is_401_in_xml(client, published_form):
    response = client.get("/v1/projects/1/formList")
    assert response.status_code == 401
    assert "Sign in" in openrosa_message(response)


def test_unknown_token_is_403(client, published_form):
    response = client.get("/v1/key/not-a-token/projects/1/formList")
    assert response.status_code == 403
    assert "QR code" in openrosa_message(response)


def test_revoked_token_is_403_at_once(client, device, published_form, db_session):
    from ingest.accounts.users import revoke_device

    assert client.get(f"{base(device)}/formList").status_code == 200
    revoke_device(db_session, db_session.merge(device))
    db_session.commit()
    assert client.get(f"{base(device)}/formList").status_code == 403
    assert post(client, device, make_instance()).status_code == 403
    assert count(db_session, Submission) == 0


def test_web_user_with_basic_auth_can_list_forms(client, admin, published_form):
    response = client.get("/v1/projects/1/formList", auth=admin)
    assert response.status_code == 200
    assert b"<formID>sample_case</formID>" in response.data
