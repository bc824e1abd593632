"""The case register, hand-offs and the duplicate-person queue in a real browser: two interviews of one woman
sent through the OpenRosa endpoint by tablets of provinces 01 and 05, the matcher run by the CLI, the pair
confirmed by a case officer, gone from the queue and in the audit log; the register and the tasks show the
cases; a provincial officer of 05 sees the other province's side hidden. Screenshots of the four pages."""

from __future__ import annotations

import re
import uuid

import pytest
import requests

from forms import BUNDLED_FORMS_DIR
from tests.support.browser import PASSWORD, ROLE_USERS, assert_clean, open_console, screenshots
from tests.support.cases import instance
from tests.support.tasks import compiled

PROJECT = "/console/projects/1"
#: One woman interviewed twice: in province 01 (her home is 05, so 05 owes a follow-up) and in province 05.
PERSON = {
    "person_given_lo": "ສົມພອນ",
    "person_family_lo": "ວົງສາ",
    "gender": "Female",
    "birth_date": "1998-03-14",
    "birth_year": "1998",
    "phone": "020 5555 1234",
    "home_province": "05",
    "home_district": "0501",
    "home_village": "ບ້ານໂພນສະຫວ່າງ",
    "consent": "yes",
    "consent_sharing": "yes",
    "exploitation_type": "ForcedLabour",
    "trafficking_status": "Presumed",
    "age_band": "age_25_29",
}
INTERVIEWS = (
    ("01", "01-b10a0001", {"person_given_latin": "Somphone", "person_family_latin": "Vongsa"}),
    ("05", "05-b10a0002", {"person_given_latin": "Sompone", "person_family_latin": "Wongsa"}),
)


def intake(province: str, code: str, more: dict) -> bytes:
    form = compiled(BUNDLED_FORMS_DIR / "case_intake.xlsx")
    answers = {**PERSON, **more, "case_code": code, "scope_province": province, "event_date": "2026-11-22"}
    xml = instance("case_intake", form.fields, f"uuid:{uuid.uuid4()}", answers)
    return xml.replace(b'version="2026112901"', f'version="{form.version}"'.encode())


@pytest.fixture(scope="module")
def pair(console_server):
    """Send the two interviews from a tablet of each province, run the matcher; return the queue's pair link."""
    server = console_server
    for province, code, more in INTERVIEWS:
        url = server.device_url(server.cli("devices", "create", f"Tablet {province}", "--province", province).stdout)
        sent = requests.post(
            f"{url}/submission",
            files={"xml_submission_file": ("submission.xml", intake(province, code, more), "text/xml")},
            headers={"X-OpenRosa-Version": "1.0"},
            timeout=30,
        )
        assert sent.status_code == 201, sent.text
    server.cli("persons", "match")
    return server


def queued_codes(page) -> list[str]:
    return page.eval_on_selector_all("table.pairs code", "codes => codes.map(c => c.textContent)")


def test_two_interviews_of_one_woman_are_confirmed_as_one_person(chromium, pair):
    # An officer of 05 sees the pair (one side is theirs) with the side of province 01 hidden.
    page = open_console(chromium, pair, "provincial-officer", lang="en")
    page.goto(f"{PROJECT}/persons")
    assert queued_codes(page) == ["01-b10a0001", "05-b10a0002"]
    link = page.locator("a.review").get_attribute("href")
    page.goto(link)
    assert page.locator("table.pair .redacted").count() >= 5 and "Somphone" not in page.content()
    assert "Sompone" in page.content()
    assert_clean(page)
    page.context.close()
    for role, path, name in (
        ("provincial-officer", f"{PROJECT}/persons", "persons"),
        ("case-officer", link, "persons-pair"),
    ):
        shots = screenshots(chromium, pair, role, path, name)
        assert all(shot.stat().st_size > 10_000 for shot in shots)

    # A national case officer sees both sides, what agrees and what differs, and confirms by keyboard.
    page = open_console(chromium, pair, "case-officer", lang="en")
    page.goto(f"{PROJECT}/persons")
    page.click("a.review")
    page.wait_for_load_state()
    assert re.search(r"/persons/pairs/\d+$", page.url)
    labels = page.locator("table.pair tbody th").all_inner_texts()
    states = page.locator("table.pair tbody tr").evaluate_all("rows => rows.map(r => r.className)")
    rows = dict(zip(labels, states, strict=True))
    assert rows["Given name (Lao)"] == "agree" and rows["Given name (Latin)"] == "alike"
    assert rows["Phone"] == "agree" and rows["Province of the case"] == "differ"
    page.focus("form.decide button[value=confirm]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith(f"{PROJECT}/persons")
    assert "confirmed as one person" in page.locator("p.flash").inner_text()
    assert queued_codes(page) == []
    # The register shows both cases to a national officer.
    page.goto(f"{PROJECT}/cases")
    assert page.locator("table.cases code").all_inner_texts() == ["01-b10a0001", "05-b10a0002"]
    assert_clean(page)
    page.context.close()
    audits = requests.get(
        f"{pair.url}/v1/audits?action=person.confirm", auth=(ROLE_USERS["admin"][0], PASSWORD), timeout=30
    ).json()
    assert [a["resource"] for a in audits] == ["project:1/persons/01-b10a0001/05-b10a0002"]

    # Province 05 sees its own case only, and the follow-up it owes for the case met in province 01.
    page = open_console(chromium, pair, "provincial-officer", lang="en")
    page.goto(f"{PROJECT}/cases")
    assert page.locator("table.cases code").all_inner_texts() == ["05-b10a0002"]
    page.goto(f"{PROJECT}/tasks")
    assert page.locator("table.tasks code").all_inner_texts() == ["01-b10a0001"]
    assert_clean(page)
    page.context.close()
    for role, path, name in (
        ("case-officer", f"{PROJECT}/cases", "cases"),
        ("provincial-officer", f"{PROJECT}/tasks", "tasks"),
    ):
        shots = screenshots(chromium, pair, role, path, name)
        assert all(shot.stat().st_size > 10_000 for shot in shots)
