"""Every row of Central's outcome table, driven by the Collect emulator over real HTTP (gunicorn)."""

from __future__ import annotations

import re
import uuid

import pytest
import requests

from tests.conftest import DATA, make_instance
from tests.support.collect import Collect
from tests.support.live import LiveServer

STAFF = ("staff@example.la", "staff password 123")
PHOTO = b"\xff\xd8\xff\xe0" + b"\x01\x02" * 4000


@pytest.fixture(scope="module")
def server(database_url, tmp_path_factory):
    """A live server with the sample form and the bundled referral form, a device and a staff user."""
    from tests.conftest import truncate

    truncate(database_url)
    live = LiveServer(database_url, tmp_path_factory.mktemp("outcomes") / "instance", workers=2).start()
    live.cli("forms", "publish", str(DATA / "sample_case.xlsx"))
    live.cli("forms", "publish", "forms/xlsforms/referral.xlsx")
    live.cli("users", "create", STAFF[0], "--role", "admin", COLLECTOR_PASSWORD=STAFF[1])
    live.tablet = Collect(live.device_url(live.cli("devices", "create", "Outcome tablet").stdout))
    yield live
    live.stop()
    truncate(database_url)


def new_id() -> str:
    return f"uuid:{uuid.uuid4()}"


def message(response) -> str:
    assert response.headers["X-OpenRosa-Version"] == "1.0"
    assert response.headers["Content-Type"].startswith("text/xml")
    return re.search(r"<message nature=\"\w+\">(.*)</message>", response.text, re.S).group(1)


def record(server, instance_id: str, form: str = "sample_case") -> dict:
    response = requests.get(
        f"{server.url}/v1/projects/1/forms/{form}/submissions/{instance_id}", auth=STAFF, timeout=10
    )
    assert response.status_code == 200, response.text
    return response.json()


def set_state(server, form: str, state: str) -> None:
    response = requests.patch(f"{server.url}/v1/projects/1/forms/{form}", json={"state": state}, auth=STAFF, timeout=10)
    assert response.status_code == 200 and response.json()["state"] == state


def referral_instance(instance_id: str) -> bytes:
    return (
        f'<data xmlns:orx="http://openrosa.org/xforms" id="referral" version="2026112901"><case_code>13-3f9a2c1b'
        f"</case_code><orx:meta><orx:instanceID>{instance_id}</orx:instanceID></orx:meta></data>"
    ).encode()


def test_probe_and_headers(server):
    head = server.tablet.head_submission()
    assert head.status_code == 204 and head.content == b""
    assert head.headers["X-OpenRosa-Accept-Content-Length"] == str(100 * 1024 * 1024)
    assert "Date" in head.headers


def test_new_instance_of_open_form_is_201_and_keeps_device_and_agent(server):
    instance_id = new_id()
    response = server.tablet.submit(make_instance(instance_id), {"photo.jpg": PHOTO})
    assert response.status_code == 201
    assert message(response) == "Your record was received."
    got = record(server, instance_id)
    assert got["deviceId"] == server.tablet.device_id
    assert got["userAgent"].startswith("org.odk.collect.android/v2024.3.1")
    assert (got["attachmentsExpected"], got["attachmentsPresent"]) == (1, 1)


def test_identical_retry_is_201_and_adds_attachments(server):
    instance_id = new_id()
    xml = make_instance(instance_id)
    assert server.tablet.submit(xml).status_code == 201
    assert record(server, instance_id)["attachmentsPresent"] == 0
    assert server.tablet.submit(xml, {"photo.jpg": PHOTO}).status_code == 201
    assert record(server, instance_id)["attachmentsPresent"] == 1


def test_split_upload_is_completed_by_the_next_batch(server):
    instance_id = new_id()
    xml = make_instance(instance_id, place_photos=("vte.jpg", "bkk.jpg"))
    first = server.tablet.submit(xml, {"photo.jpg": PHOTO, "vte.jpg": PHOTO[:100]}, incomplete=True)
    assert first.status_code == 201
    got = record(server, instance_id)
    assert (got["attachmentsExpected"], got["attachmentsPresent"]) == (3, 2)
    assert server.tablet.submit(xml, {"bkk.jpg": PHOTO[:200], "unexpected.jpg": PHOTO}).status_code == 201
    got = record(server, instance_id)
    assert (got["attachmentsExpected"], got["attachmentsPresent"]) == (3, 3)
    names = requests.get(
        f"{server.url}/v1/projects/1/forms/sample_case/submissions/{instance_id}/attachments", auth=STAFF, timeout=10
    ).json()
    assert sorted(a["name"] for a in names) == ["bkk.jpg", "photo.jpg", "vte.jpg"]


def test_same_instance_id_with_different_xml_is_409(server):
    instance_id = new_id()
    assert server.tablet.submit(make_instance(instance_id)).status_code == 201
    response = server.tablet.submit(make_instance(instance_id, age="31"))
    assert response.status_code == 409
    assert "same instance ID" in message(response)
    assert record(server, instance_id)["data"]["age"] == 30


def test_instance_id_of_deleted_submission_is_409(server):
    instance_id = new_id()
    xml = make_instance(instance_id)
    assert server.tablet.submit(xml).status_code == 201
    deleted = requests.delete(
        f"{server.url}/v1/projects/1/forms/sample_case/submissions/{instance_id}", auth=STAFF, timeout=10
    )
    assert deleted.status_code == 200
    response = server.tablet.submit(xml)
    assert response.status_code == 409 and "deleted" in message(response)


def test_missing_xml_part_or_not_multipart_is_400(server):
    from tests.support.collect import multipart

    boundary, body = multipart([("photo.jpg", "photo.jpg", "image/jpeg", PHOTO)])
    url = f"{server.tablet.server_url}/submission"
    response = requests.post(
        url, data=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}, timeout=10
    )
    assert response.status_code == 400 and "xml_submission_file" in message(response)
    response = requests.post(url, data=make_instance(), headers={"Content-Type": "text/xml"}, timeout=10)
    assert response.status_code == 400


@pytest.mark.parametrize(
    "xml", [b"<data id='sample_case'><oops></data>", b"<data><meta/></data>"], ids=["unparseable", "root_without_id"]
)
def test_bad_xml_is_400(server, xml):
    assert server.tablet.submit(xml).status_code == 400


def test_unknown_form_is_404(server):
    response = server.tablet.submit(make_instance(form_id="not_a_form"))
    assert response.status_code == 404 and "not_a_form" in message(response)


def test_version_never_published_is_accepted_and_flagged(server):
    # Better than Central's 404: a refused record would sit stuck on a tablet in a province.
    instance_id = new_id()
    assert server.tablet.submit(make_instance(instance_id, version="1999010101")).status_code == 201
    got = record(server, instance_id)
    assert got["currentVersion"]["unknownVersion"] is True
    assert got["currentVersion"]["formVersion"] == "1999010101"
    assert got["data"]["age"] == 30  # normalised against the nearest known version


def test_closing_form_is_hidden_but_accepts_and_closed_form_is_409(server):
    try:
        set_state(server, "referral", "closing")
        assert b"<formID>referral</formID>" not in server.tablet.form_list().content
        assert server.tablet.submit(referral_instance(new_id())).status_code == 201
        set_state(server, "referral", "closed")
        response = server.tablet.submit(referral_instance(new_id()))
        assert response.status_code == 409 and "closed" in message(response)
    finally:
        set_state(server, "referral", "open")
    assert b"<formID>referral</formID>" in server.tablet.form_list().content


def test_edit_replaces_and_keeps_history_and_carries_files(server):
    first, second = new_id(), new_id()
    assert server.tablet.submit(make_instance(first), {"photo.jpg": PHOTO}).status_code == 201
    edit = make_instance(second, age="31", deprecated_id=first)
    assert server.tablet.submit(edit).status_code == 201
    got = record(server, first)
    assert got["versions"] == 2 and got["currentVersion"]["instanceId"] == second
    assert got["data"]["age"] == 31 and got["attachmentsPresent"] == 1
    history = requests.get(
        f"{server.url}/v1/projects/1/forms/sample_case/submissions/{first}/versions", auth=STAFF, timeout=10
    ).json()
    assert [(v["instanceId"], v["current"], v["data"]["age"]) for v in history] == [
        (second, True, 31),
        (first, False, 30),
    ]
    old_xml = requests.get(
        f"{server.url}/v1/projects/1/forms/sample_case/submissions/{first}/versions/{first}.xml", auth=STAFF, timeout=10
    )
    assert old_xml.content == make_instance(first)


def test_edit_of_unknown_instance_is_404(server):
    response = server.tablet.submit(make_instance(new_id(), deprecated_id=new_id()))
    assert response.status_code == 404


def test_edit_of_superseded_version_is_409(server):
    first, second, third = new_id(), new_id(), new_id()
    server.tablet.submit(make_instance(first))
    assert server.tablet.submit(make_instance(second, age="31", deprecated_id=first)).status_code == 201
    response = server.tablet.submit(make_instance(third, age="32", deprecated_id=first))
    assert response.status_code == 409 and "already replaced" in message(response)


def test_edit_whose_new_id_exists_is_409(server):
    first, other = new_id(), new_id()
    server.tablet.submit(make_instance(first))
    server.tablet.submit(make_instance(other))
    assert server.tablet.submit(make_instance(other, age="40", deprecated_id=first)).status_code == 409


def test_no_credentials_is_401(server):
    response = requests.post(f"{server.url}/v1/projects/1/submission", data=b"", timeout=10)
    assert response.status_code == 401


def test_bad_or_revoked_token_is_403(server):
    bad = Collect(f"{server.url}/v1/key/not-a-real-token/projects/1")
    assert bad.submit(make_instance()).status_code == 403
    tablet = Collect(server.device_url(server.cli("devices", "create", "Soon revoked").stdout))
    assert tablet.form_list().status_code == 200
    listing = server.cli("devices", "list").stdout
    revoked_id = [line.split("\t")[0] for line in listing.splitlines() if "Soon revoked" in line][0]
    server.cli("devices", "revoke", revoked_id)
    response = tablet.submit(make_instance())
    assert response.status_code == 403 and "revoked" in message(response)


def test_device_without_the_form_assigned_is_403_and_does_not_see_it(server):
    tablet = Collect(server.device_url(server.cli("devices", "create", "Referral only", "--form", "referral").stdout))
    listing = tablet.form_list().content
    assert b"<formID>referral</formID>" in listing and b"sample_case" not in listing
    response = tablet.submit(make_instance())
    assert response.status_code == 403 and "assign" in message(response)
    assert tablet.submit(referral_instance(new_id())).status_code == 201


def test_missing_instance_id_is_generated(server):
    xml = make_instance("PLACEHOLDER").replace(b"<instanceID>PLACEHOLDER</instanceID>", b"")
    assert server.tablet.submit(xml).status_code == 201
    records = requests.get(f"{server.url}/v1/projects/1/forms/sample_case/submissions", auth=STAFF, timeout=10).json()
    assert any(r["data"].get("meta/instanceID") is None and r["instanceId"].startswith("uuid:") for r in records)
