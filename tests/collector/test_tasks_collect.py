"""Hand-off tasks as ODK Collect sees them (issue 10): the follow-up form's `pending_followups.csv`, made per
device from the open tasks of its province, and a formList hash that changes with it."""

from __future__ import annotations

import csv
import hashlib
import io
import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import select

from ingest.models import AuditEvent
from tests.support.tasks import CODE, FOLLOWUP, HOME, NAME, ORIGIN, OTHER, SCREENING, one_task, publish_handoff, send


@pytest.fixture
def handoff(app, db_session):
    """The hand-off forms published, and a device in each of three provinces."""
    return publish_handoff(app, db_session)


HEADERS = {"X-OpenRosa-Version": "1.0"}
LIST = "{http://openrosa.org/xforms/xformsList}"
MANIFEST = "{http://openrosa.org/xforms/xformsManifest}"


def base(handoff, province: str) -> str:
    return f"/v1/key/{handoff.devices[province].token}/projects/1"


def followup_entry(client, handoff, province: str) -> dict:
    """Return the follow-up form's <xform> entry of a device's formList as a dict of its children."""
    response = client.get(f"{base(handoff, province)}/formList", headers=HEADERS)
    assert response.status_code == 200
    for xform in ET.fromstring(response.data).iter(f"{LIST}xform"):
        entry = {child.tag.removeprefix(LIST): child.text for child in xform}
        if entry["formID"] == "followup":
            return entry
    raise AssertionError("no followup form in the list")


def manifest(client, handoff, province: str) -> dict[str, tuple[str, str]]:
    """Return a device's follow-up manifest: file name -> (hash, download URL)."""
    response = client.get(f"{base(handoff, province)}/forms/followup/manifest", headers=HEADERS)
    assert response.status_code == 200
    return {
        f.findtext(f"{MANIFEST}filename"): (f.findtext(f"{MANIFEST}hash"), f.findtext(f"{MANIFEST}downloadUrl"))
        for f in ET.fromstring(response.data).iter(f"{MANIFEST}mediaFile")
    }


def pending(client, handoff, province: str) -> tuple[bytes, list[dict]]:
    """Download a device's pending_followups.csv as Collect does (from the manifest's URL); check its hash."""
    md5, url = manifest(client, handoff, province)["pending_followups.csv"]
    response = client.get(url.removeprefix("http://localhost"), headers=HEADERS)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert md5 == f"md5:{hashlib.md5(response.data).hexdigest()}"
    return response.data, list(csv.DictReader(io.StringIO(response.data.decode("utf-8"))))


def test_the_home_province_gets_the_task_and_a_followup_through_openrosa_closes_it(client, handoff, db_session):
    send(client, handoff, ORIGIN, "screening", "uuid:s1", {**SCREENING, "full_name": NAME})
    task = one_task(db_session)
    assert (task.case_code, task.home_province, task.status) == (CODE, HOME, "open")
    body, rows = pending(client, handoff, HOME)
    assert [r["name"] for r in rows] == [CODE]
    assert rows[0]["label"].startswith(f"{CODE}: Female") and rows[0]["home_district"] == "1305"
    assert NAME.encode() not in body
    # The officer of the home province picks the case (the form copies its code) and sends the follow-up.
    send(client, handoff, HOME, "followup", "uuid:f1", FOLLOWUP)
    assert one_task(db_session).status == "closed"
    assert [r["name"] for r in pending(client, handoff, HOME)[1]] == []


def test_another_provinces_device_does_not_get_the_case(client, handoff):
    send(client, handoff, ORIGIN, "screening", "uuid:s1", SCREENING)
    for province in (ORIGIN, OTHER):
        body, rows = pending(client, handoff, province)
        assert rows == [] and CODE.encode() not in body


def test_an_empty_list_is_a_header_alone(client, handoff):
    body, rows = pending(client, handoff, HOME)
    assert body == b"name,label,home_district,opened\n" and rows == []


def test_a_case_whose_consent_was_refused_is_not_on_any_tablet(client, handoff):
    send(client, handoff, ORIGIN, "screening", "uuid:s1", {**SCREENING, "consent_sharing": "no"})
    assert pending(client, handoff, HOME)[1] == []


def test_the_form_list_hash_changes_with_the_list_and_matches_the_served_form(client, handoff):
    def served_md5(province):
        entry = followup_entry(client, handoff, province)
        xml = client.get(entry["downloadUrl"].removeprefix("http://localhost"), headers=HEADERS)
        assert xml.status_code == 200
        # Collect checks the hash against the bytes it downloads: they must agree.
        assert (
            entry["hash"] == f"md5:{hashlib.md5(xml.data).hexdigest()}" == f"md5:{xml.headers['ETag'].strip(chr(34))}"
        )
        assert entry["manifestUrl"]
        return entry["hash"], entry["version"]

    empty, version = served_md5(HOME)
    other_before = served_md5(OTHER)
    send(client, handoff, ORIGIN, "screening", "uuid:s1", SCREENING)
    opened = served_md5(HOME)
    assert opened[0] != empty and opened[1] == version  # same version: only the list changed
    assert served_md5(OTHER) == other_before  # nothing changed for another province's tablets
    send(client, handoff, HOME, "followup", "uuid:f1", FOLLOWUP)
    assert served_md5(HOME)[0] == empty  # the list is empty again, and so is the form as served


def test_the_list_answers_conditional_requests_and_downloads_are_audited(client, handoff, db_session):
    send(client, handoff, ORIGIN, "screening", "uuid:s1", SCREENING)
    _md5, url = manifest(client, handoff, HOME)["pending_followups.csv"]
    first = client.get(url.removeprefix("http://localhost"), headers=HEADERS)
    again = client.get(
        url.removeprefix("http://localhost"), headers={**HEADERS, "If-None-Match": first.headers["ETag"]}
    )
    assert again.status_code == 304 and first.headers["X-OpenRosa-Version"] == "1.0"
    db_session.rollback()
    [event] = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "task.media")).all()
    assert event.device_id == handoff.devices[HOME].id and event.details == {
        "file": "pending_followups.csv",
        "count": 1,
    }


def test_other_forms_media_are_served_as_stored(client, handoff):
    files = manifest(client, handoff, HOME)
    md5, url = files["provinces.csv"]
    response = client.get(url.removeprefix("http://localhost"), headers=HEADERS)
    assert md5 == f"md5:{hashlib.md5(response.data).hexdigest()}"
    response.close()  # a stored file is sent from disk
    entry = client.get(f"{base(handoff, HOME)}/formList", headers=HEADERS, query_string={"formID": "screening"})
    [xform] = ET.fromstring(entry.data).iter(f"{LIST}xform")
    xml = client.get(xform.findtext(f"{LIST}downloadUrl").removeprefix("http://localhost"), headers=HEADERS)
    assert xform.findtext(f"{LIST}hash") == f"md5:{hashlib.md5(xml.data).hexdigest()}"
    assert b"<!-- media" not in xml.data
