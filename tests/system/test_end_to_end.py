"""The whole loop over real HTTP: gunicorn, the CLI, and requests as the tablet and as staff."""

from __future__ import annotations

import hashlib
import http.client
import re
import uuid

import pytest
import requests
from lxml import etree

from tests.conftest import DATA, make_instance
from tests.support.live import LiveServer

NS = {"x": "http://openrosa.org/xforms/xformsList", "m": "http://openrosa.org/xforms/xformsManifest"}
COLLECT_HEADERS = {"X-OpenRosa-Version": "1.0", "User-Agent": "org.odk.collect.android/v2024.3.1 Dalvik/2.1.0"}
PHOTO = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 64


@pytest.fixture
def live(clean_db, tmp_path):
    server = LiveServer(clean_db, tmp_path / "instance").start()
    yield server
    server.stop()


def test_publish_list_download_submit_and_read_back_over_http(live):
    published = live.cli("forms", "publish", str(DATA / "sample_case.xlsx"))
    assert "sample_case version 2026112901 published" in published.stdout
    base = live.device_url(live.cli("devices", "create", "E2E tablet").stdout)
    live.cli("users", "create", "staff@example.la", "--role", "admin", COLLECTOR_PASSWORD="staff password 123")
    device = "?deviceID=collect:e2e0001"

    listing = requests.get(f"{base}/formList{device}", headers=COLLECT_HEADERS, timeout=10)
    assert listing.status_code == 200 and listing.headers["X-OpenRosa-Version"] == "1.0"
    xform = etree.fromstring(listing.content).find("x:xform", NS)
    download = xform.findtext("x:downloadUrl", namespaces=NS)
    assert download.startswith(base)
    form = requests.get(download, headers=COLLECT_HEADERS, timeout=10)
    assert xform.findtext("x:hash", namespaces=NS) == "md5:" + hashlib.md5(form.content).hexdigest()
    assert b'<data id="sample_case" version="2026112901">' in form.content

    manifest = requests.get(xform.findtext("x:manifestUrl", namespaces=NS), headers=COLLECT_HEADERS, timeout=10)
    media = etree.fromstring(manifest.content).find("m:mediaFile", NS)
    csv = requests.get(media.findtext("m:downloadUrl", namespaces=NS), headers=COLLECT_HEADERS, timeout=10)
    assert (
        csv.status_code == 200
        and media.findtext("m:hash", namespaces=NS) == "md5:" + hashlib.md5(csv.content).hexdigest()
    )

    head = requests.head(f"{base}/submission{device}", headers=COLLECT_HEADERS, timeout=10)
    assert head.status_code == 204 and int(head.headers["X-OpenRosa-Accept-Content-Length"]) == 100 * 1024 * 1024

    instance_id = f"uuid:{uuid.uuid4()}"
    files = {
        "xml_submission_file": ("submission.xml", make_instance(instance_id, photo="1700000000000.jpg"), "text/xml"),
        "1700000000000.jpg": ("1700000000000.jpg", PHOTO, "image/jpeg"),
    }
    posted = requests.post(f"{base}/submission{device}", files=files, headers=COLLECT_HEADERS, timeout=30)
    assert posted.status_code == 201, posted.text
    assert b'nature="submit_success"' in posted.content

    token = requests.post(
        f"{live.url}/v1/sessions", json={"email": "staff@example.la", "password": "staff password 123"}, timeout=10
    ).json()["token"]
    records = requests.get(
        f"{live.url}/v1/projects/1/forms/sample_case/submissions",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    ).json()
    [record] = records
    assert record["instanceId"] == instance_id and record["deviceId"] == "collect:e2e0001"
    assert record["data"]["route"] == [
        {"place": "Vientiane", "days": 2, "place_photo": None},
        {"place": "Bangkok", "days": 10, "place_photo": None},
    ]
    assert (record["attachmentsExpected"], record["attachmentsPresent"]) == (1, 1)
    photo = requests.get(
        f"{live.url}/v1/projects/1/forms/sample_case/submissions/{instance_id}/attachments/1700000000000.jpg",
        auth=("staff@example.la", "staff password 123"),
        timeout=10,
    )
    assert photo.content == PHOTO

    listed = live.cli("submissions", "list", "sample_case").stdout
    assert instance_id in listed

    # Device tokens are credentials: the access log must not hold them.
    log = (live.log.parent / "access.log").read_text()
    assert "/v1/key/<token>/projects/<int:project_id>/formList?deviceID " in log
    assert re.search(r"/key/(?!\*\*\*)[A-Za-z0-9_-]{20,}/", log) is None
    assert "collect:e2e0001" not in log


def test_hostile_requests_over_http_store_nothing(live):
    live.cli("forms", "publish", str(DATA / "sample_case.xlsx"))
    base = live.device_url(live.cli("devices", "create", "Hostile").stdout)
    laughs = (
        b"<?xml version='1.0'?><!DOCTYPE l [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;'>]>"
        b"<data id='sample_case'>&b;</data>"
    )
    bad = requests.post(f"{base}/submission", files={"xml_submission_file": ("s.xml", laughs, "text/xml")}, timeout=10)
    assert bad.status_code == 400 and b"DOCTYPE" in bad.content
    assert requests.get(f"{live.url}/v1/key/nope/projects/1/formList", timeout=10).status_code == 403
    assert requests.get(f"{live.url}/v1/projects/1/formList", timeout=10).status_code == 401
    # Announce 200 MB and send 1 KB: the answer must come from the header alone, before any body is read.
    conn = http.client.HTTPConnection("127.0.0.1", live.port, timeout=10)
    conn.putrequest("POST", base.split(str(live.port), 1)[1] + "/submission")
    conn.putheader("Content-Type", "multipart/form-data; boundary=x")
    conn.putheader("Content-Length", str(200 * 1024 * 1024))
    conn.endheaders(b"x" * 1024)
    huge = conn.getresponse()
    assert huge.status == 413 and b"100 MB" in huge.read()
    conn.close()
    assert "0 submission(s)" in live.cli("submissions", "list", "sample_case").stderr
