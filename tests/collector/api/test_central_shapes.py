"""Central's shapes that pyodk's writes read, through the Flask client: form creation (XForm XML, the form-ID
fallback header, ?publish), drafts from the published version, publish?version=, the media lists, form
assignments of app users, and edits by PUT (tests/system/test_pyodk_calls.py drives pyodk itself)."""

from __future__ import annotations

from sqlalchemy import select

from ingest.models import AuditEvent
from tests.conftest import DATA, make_instance
from tests.support.central import HTCDS_STYLE, without_form_id

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PROVINCES = (DATA / "media" / "provinces.csv").read_bytes()
FORMS = "/v1/projects/1/forms"


def test_an_xlsform_without_form_id_takes_the_fallback_header_and_a_second_is_no_409(
    client, admin, published_form_project, tmp_path
):
    sheet = without_form_id(HTCDS_STYLE, tmp_path / "x.xlsx").read_bytes()
    for name in ("htcds_case_form", "htcds%20copy_2"):
        response = client.post(
            FORMS,
            data=sheet,
            content_type=XLSX,
            auth=admin,
            headers={"X-XlsForm-FormId-Fallback": name},
            query_string={"publish": "true"},
        )
        if name == "htcds_case_form":
            assert response.status_code == 201, response.get_json()
            form = response.get_json()
            assert (form["xmlFormId"], form["projectId"], form["state"], form["draftToken"]) == (name, 1, "open", None)
            assert form["publishedAt"] and len(form["sha256"]) == 64 and form["keyId"] is None
        else:  # a fallback that is no form ID is refused as a form_id would be
            assert response.status_code == 400 and "form_id" in response.get_json()["errors"][0]["message"]


def test_an_xform_as_xml_makes_a_draft_then_a_copy_and_a_new_version_on_publish(client, admin, published_form):
    xml = client.get(f"{FORMS}/sample_case.xml", auth=admin).data.replace(b'id="sample_case"', b'id="case_xml"', 1)
    created = client.post(FORMS, data=xml, content_type="application/xml", auth=admin)
    assert created.status_code == 201, created.get_json()
    draft = created.get_json()
    assert (draft["xmlFormId"], draft["publishedAt"], draft["missingMedia"]) == ("case_xml", None, ["provinces.csv"])
    assert draft["draftToken"] and draft["testUrl"]
    [media] = client.get(f"{FORMS}/case_xml/draft/attachments", auth=admin).get_json()
    assert media == {
        "name": "provinces.csv",
        "type": "file",
        "hash": None,
        "exists": False,
        "blobExists": False,
        "datasetExists": False,
        "updatedAt": None,
    }
    uploaded = client.post(
        f"{FORMS}/case_xml/draft/attachments/provinces.csv", data=PROVINCES, content_type="text/csv", auth=admin
    ).get_json()
    assert uploaded["exists"] and uploaded["updatedAt"] and len(uploaded["hash"]) == 32
    published = client.post(f"{FORMS}/case_xml/draft/publish", auth=admin).get_json()
    assert published["success"] is True and published["version"] == "2026112901"
    # No body: the draft is a copy of the published version, media carried over; published under a new version.
    again = client.post(f"{FORMS}/case_xml/draft", auth=admin, content_type=XLSX)
    assert again.status_code == 201 and again.get_json()["success"] is True
    assert again.get_json()["missingMedia"] == []
    renamed = client.post(f"{FORMS}/case_xml/draft/publish", auth=admin, query_string={"version": "v2"})
    assert renamed.get_json()["version"] == "v2"
    assert b'version="v2"' in client.get(f"{FORMS}/case_xml.xml", auth=admin).data
    [listed] = client.get(f"{FORMS}/case_xml/attachments", auth=admin).get_json()
    assert listed["name"] == "provinces.csv" and listed["exists"] is True


def test_assigning_a_form_narrows_a_device_that_held_every_form(client, admin, published_form, device):
    client.post(FORMS, data=(DATA / "sample_case_v2.xlsx").read_bytes(), content_type=XLSX, auth=admin)
    made = client.post("/v1/projects/1/app-users", json={"displayName": "Desk"}, auth=admin).get_json()
    assert (made["type"], made["deletedAt"], made["forms"]) == ("field_key", None, ["sample_case"])
    url = f"{FORMS}/sample_case/assignments/2/{made['id']}"
    assert client.post(url, auth=admin).get_json() == {"success": True}
    assert client.post(f"{FORMS}/sample_case/assignments/1/{made['id']}", auth=admin).status_code == 404
    client.delete(f"/v1/projects/1/app-users/{made['id']}", auth=admin)
    [revoked] = [u for u in client.get("/v1/projects/1/app-users", auth=admin).get_json() if u["id"] == made["id"]]
    assert revoked["token"] is None and revoked["updatedAt"] == revoked["revokedAt"] is not None


def test_an_edit_by_put_is_stored_once_and_audited(client, admin, published_form, db_session):
    base = f"{FORMS}/sample_case/submissions"
    post = client.post(base, data=make_instance("uuid:put-1"), content_type="application/xml", auth=admin)
    assert post.status_code == 201
    edit = make_instance("uuid:put-2", age="44", deprecated_id="uuid:put-1")
    first = client.put(f"{base}/uuid:put-1", data=edit, content_type="application/xml", auth=admin)
    assert first.status_code == 201 and first.get_json()["instanceId"] == "uuid:put-1"
    assert client.put(f"{base}/uuid:put-1", data=edit, content_type="application/xml", auth=admin).status_code == 200
    assert len(client.get(f"{base}/uuid:put-1/versions", auth=admin).get_json()) == 2
    actions = db_session.scalars(select(AuditEvent.action).where(AuditEvent.action == "submission.edit")).all()
    assert actions == ["submission.edit"]
    plain = client.put(
        f"{base}/uuid:put-1", data=make_instance("uuid:put-3"), content_type="application/xml", auth=admin
    )
    assert plain.status_code == 400 and plain.get_json()["code"] == 400.2
    client.post(base, data=make_instance("uuid:other"), content_type="application/xml", auth=admin)
    stray = make_instance("uuid:put-4", deprecated_id="uuid:other")
    wrong = client.put(f"{base}/uuid:put-1", data=stray, content_type="application/xml", auth=admin)
    assert wrong.status_code == 400 and wrong.get_json()["code"] == 400.8
