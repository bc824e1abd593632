"""One province rule for every sender (issue 16), over real HTTP: gunicorn, the CLI, requests as tablet and staff.

A case identified in province 01 owes province 05 a follow-up. A province-01 tablet, and a province-01
officer, send a follow-up that names province 05: each is kept (201), in province 01 where its sender works,
with 05 kept as its claim; it neither closes province 05's task nor moves the case, and province 01's officers
still see both. Only a follow-up of province 05 closes the task. Replay gives the same result.

A case opened in province 05 (home 13) is named by a province-01 tablet's intake and follow-up: both are kept in
province 01, flagged `foreignCase`, and change neither the case, nor its task, nor its identity for the matcher,
on receipt, after `collector ingest replay` and after `collector tasks sync`; province 13's follow-up closes it.
"""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET

import pytest
import requests
from sqlalchemy import create_engine, text

from forms import BUNDLED_FORMS_DIR
from tests.support.cases import instance
from tests.support.live import LiveServer
from tests.support.tasks import compiled

COLLECT = {"X-OpenRosa-Version": "1.0"}
PASSWORD = "a long enough password"
CODE = "01-c0ffee16"
INTAKE = {
    "case_code": CODE,
    "event_date": "2026-11-22",
    "scope_province": "01",
    "consent_sharing": "yes",
    "home_province": "05",
    "home_district": "0501",
}
FOLLOWUP = {"case_code": CODE, "event_date": "2026-11-28", "case_status": "Active"}


@pytest.fixture
def live(clean_db, tmp_path):
    server = LiveServer(clean_db, tmp_path / "instance").start()
    for form in ("case_intake", "followup"):
        server.cli("forms", "publish", str(BUNDLED_FORMS_DIR / f"{form}.xlsx"))
    server.devices = {
        p: server.device_url(server.cli("devices", "create", f"Tablet {p}", "--province", p).stdout)
        for p in ("01", "05", "13")
    }
    for email, role, provinces in (
        ("admin@example.la", "admin", ()),
        ("officer01@example.la", "provincial-officer", ("01",)),
        ("officer05@example.la", "provincial-officer", ("05",)),
    ):
        server.cli(
            "users",
            "create",
            email,
            "--role",
            role,
            *(a for p in provinces for a in ("--province", p)),
            COLLECTOR_PASSWORD=PASSWORD,
        )
    yield server
    server.stop()


def xml_of(form: str, answers: dict) -> tuple[str, bytes]:
    """Write a record of a bundled form answering `answers` (by tag); return its instanceID and XML."""
    form_def = compiled(BUNDLED_FORMS_DIR / f"{form}.xlsx")
    iid = f"uuid:{uuid.uuid4()}"
    xml = instance(form, form_def.fields, iid, answers)
    return iid, xml.replace(b'version="2026112901"', f'version="{form_def.version}"'.encode())


def send(url: str, xml: bytes, auth=None) -> requests.Response:
    return requests.post(
        f"{url}/submission",
        files={"xml_submission_file": ("submission.xml", xml, "text/xml")},
        headers=COLLECT,
        auth=auth,
        timeout=30,
    )


def message(response: requests.Response) -> str:
    return ET.fromstring(response.content).findtext("{http://openrosa.org/http/response}message")


def get(live: LiveServer, email: str, path: str) -> requests.Response:
    return requests.get(f"{live.url}/v1/projects/1{path}", auth=(email, PASSWORD), timeout=30)


def the_task(live: LiveServer) -> dict:
    [task] = get(live, "admin@example.la", "/tasks").json()["tasks"]
    return task


def record(live: LiveServer, email: str, iid: str) -> requests.Response:
    return get(live, email, f"/forms/followup/submissions/{iid}")


@pytest.mark.parametrize("sender", ["device", "user"])
def test_a_followup_naming_another_province_is_kept_at_home_and_does_not_close_its_task(live, sender):
    assert send(live.devices["01"], xml_of("case_intake", INTAKE)[1]).status_code == 201
    assert (the_task(live)["status"], the_task(live)["homeProvince"], the_task(live)["originProvince"]) == (
        "open",
        "05",
        "01",
    )

    forged_id, forged = xml_of("followup", {**FOLLOWUP, "scope_province": "05"})
    if sender == "device":
        sent = send(live.devices["01"], forged)
    else:  # the same record from a province-01 officer, through Collect signed in as the officer
        sent = send(f"{live.url}/v1/projects/1", forged, auth=("officer01@example.la", PASSWORD))
    assert sent.status_code == 201, sent.text
    # Province 05's task stays open: only a record of the province it is owed to closes it.
    assert (the_task(live)["status"], the_task(live)["closedBy"]) == ("open", None)
    assert "names province 05" in message(sent) and "kept in province 01" in message(sent)
    # The record is in province 01, where its sender works, with the claim kept for a supervisor.
    shown = record(live, "officer01@example.la", forged_id)
    assert shown.status_code == 200
    assert (shown.json()["province"], shown.json()["claimedProvince"]) == ("01", "05")
    assert record(live, "officer05@example.la", forged_id).status_code == 404
    flagged = get(live, "officer01@example.la", "/forms/followup/submissions?claimedProvince=any").json()
    assert [r["instanceId"] for r in flagged] == [forged_id]
    # The case stays in province 01, seen by its officers.
    [case] = get(live, "officer01@example.la", "/cases").json()["cases"]
    assert (case["caseCode"], case["province"]) == (CODE, "01")
    audits = requests.get(
        f"{live.url}/v1/audits?action=submission.province_claim", auth=("admin@example.la", PASSWORD), timeout=30
    ).json()
    assert [(a["details"]["claimed"], a["details"]["placed"]) for a in audits] == [("05", "01")]

    # Replay derives the same placement from what was stored with the record.
    live.cli("ingest", "replay")
    assert (the_task(live)["status"], record(live, "officer01@example.la", forged_id).json()["province"]) == (
        "open",
        "01",
    )

    # The home province's own follow-up closes the task.
    home_id, home = xml_of("followup", {**FOLLOWUP, "scope_province": "05"})
    assert send(live.devices["05"], home).status_code == 201
    assert (the_task(live)["status"], the_task(live)["closedBy"]) == ("closed", home_id)


CODE05 = "05-0ddba115"
INTAKE05 = {
    "case_code": CODE05,
    "event_date": "2026-11-20",
    "scope_province": "05",
    "consent_sharing": "yes",
    "gender": "Feminine",
    "person_given_latin": "Noy",
    "birth_year": "2001",
    "home_province": "13",
    "home_district": "1305",
    "case_status": "Active",
}
#: What a province-01 tablet that learnt the code sends: its own province, other answers, another identity.
INTRUDER = {
    **INTAKE05,
    "scope_province": "01",
    "event_date": "2026-11-25",
    "gender": "Masculine",
    "person_given_latin": "Somchai",
    "birth_year": "1980",
    "home_province": "01",
    "home_district": "0101",
    "case_status": "Closed",
}


def the_case(live: LiveServer) -> dict:
    [case] = [c for c in get(live, "admin@example.la", "/cases").json()["cases"] if c["caseCode"] == CODE05]
    return case


def identity(live: LiveServer) -> dict:
    """The matcher's identity row of the province-05 case, as the server stored it (without its build time)."""
    engine = create_engine(live.env["DATABASE_URL"])
    try:
        with engine.connect() as db:
            row = db.execute(text("SELECT * FROM case_identities WHERE case_code = :c"), {"c": CODE05}).mappings().one()
    finally:
        engine.dispose()
    return {k: v for k, v in row.items() if k != "built_at"}


def test_a_record_naming_another_provinces_case_is_kept_in_its_own_and_changes_nothing_of_that_case(live):
    assert send(live.devices["05"], xml_of("case_intake", INTAKE05)[1]).status_code == 201
    before = (the_case(live), the_task(live), identity(live))
    assert (before[1]["originProvince"], before[1]["homeProvince"], before[1]["status"]) == ("05", "13", "open")
    assert (before[2]["given_latin"], before[2]["sex"], before[2]["province_code"]) == ("Noy", "F", "05")

    intake_id, intake = xml_of("case_intake", INTRUDER)
    follow_id, follow = xml_of(
        "followup", {**FOLLOWUP, "case_code": CODE05, "scope_province": "01", "case_status": "Closed"}
    )
    for xml in (intake, follow):
        sent = send(live.devices["01"], xml)
        assert sent.status_code == 201, sent.text
        assert "05" not in message(sent)  # Collect is not told that the code names another province's case
    # Nothing of the case changed: its register row, its task (origin, home, status) and its identity.
    assert (the_case(live), the_task(live), identity(live)) == before
    # Province 01's officers see their records, flagged for a supervisor; province 05's do not see them.
    for form, iid in (("case_intake", intake_id), ("followup", follow_id)):
        shown = get(live, "officer01@example.la", f"/forms/{form}/submissions/{iid}")
        assert shown.status_code == 200
        assert (shown.json()["province"], shown.json()["claimedProvince"], shown.json()["foreignCase"]) == (
            "01",
            None,
            True,
        )
        assert get(live, "officer05@example.la", f"/forms/{form}/submissions/{iid}").status_code == 404
        flagged = get(live, "officer01@example.la", f"/forms/{form}/submissions?foreignCase=true").json()
        assert [r["instanceId"] for r in flagged] == [iid]
    assert get(live, "officer01@example.la", "/cases").json()["cases"] == []
    assert get(live, "officer01@example.la", "/forms/followup/submissions?foreignCase=maybe").status_code == 400

    # Replay and the task sync rebuild from the raw records and keep them out the same way.
    live.cli("ingest", "replay")
    live.cli("tasks", "sync")
    assert (the_case(live), the_task(live), identity(live)) == before
    assert get(live, "officer01@example.la", f"/forms/case_intake/submissions/{intake_id}").json()["foreignCase"]

    # The home province's follow-up joins the case and closes its task.
    home_id, home = xml_of("followup", {**FOLLOWUP, "case_code": CODE05, "scope_province": "13"})
    assert send(live.devices["13"], home).status_code == 201
    assert (the_task(live)["status"], the_task(live)["closedBy"]) == ("closed", home_id)
    assert (the_case(live)["records"], the_case(live)["caseStatus"]) == (2, "Active")
    assert get(live, "admin@example.la", f"/forms/followup/submissions/{home_id}").json()["foreignCase"] is False
