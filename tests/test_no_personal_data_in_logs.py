"""No personal value reaches a log line or the audit table, whatever path it travels.

Records with distinctive identities (a Lao name, a Latin name, a phone number, an ID number) are submitted
through the OpenRosa endpoint (accepted, edited, refused as a conflict, refused as malformed), read back
through every JSON read path as an administrator and as an analyst, listed by `collector submissions
list`; sign-ins fail with a distinctive password and email. Every log line, at DEBUG, is then scanned.
"""

from __future__ import annotations

import base64
import json

import pytest
from sqlalchemy import select

from ingest.models import AuditEvent
from tests.support.openrosa import JPEG, post
from tests.support.retention import intake_instance

IDENTITY = {
    "prs_FirstName": "ສົມພອນ",
    "prs_SecondName": "ວົງສະຫວັນ",
    "first_name_latin": "Somphone-Scanned",
    "second_name_latin": "Vongsavanh-Scanned",
    "prs_MobilePhone": "+856 20 7788 9911",
    "prs_IdentityNumber": "LAO-0192837465",
    "perpetrator_name": "Perp Xaysana-Scanned",
}
PASSWORD = "Wr0ng-Horse-Battery-Staple-7781"
STAFF_PASSWORD = "a long enough password"
FORM = "/v1/projects/1/forms/case_intake"


def basic(email: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{email}:{password}".encode()).decode()}


@pytest.fixture
def readers(db_session):
    from ingest.accounts.users import create_user

    for role in ("admin", "analyst"):
        create_user(db_session, f"{role}@example.la", STAFF_PASSWORD, role)
    db_session.commit()
    return {role: basic(f"{role}@example.la", STAFF_PASSWORD) for role in ("admin", "analyst")}


def test_personal_values_reach_no_log_line_and_no_audit_event(
    app, client, runner, db_session, device, intake, intake_fields, readers, log_scan
):
    secrets = [*IDENTITY.values(), PASSWORD, "scanned.victim@example.la"]
    fields = intake_fields.fields

    # Submissions: accepted, edited, a conflicting resend, a malformed one.
    intake("uuid:scan-1", values=IDENTITY)
    intake("uuid:scan-2", values=IDENTITY, deprecated_id="uuid:scan-1")
    conflict = intake_instance(fields, "uuid:scan-2", values={**IDENTITY, "prs_MobilePhone": "+856 20 0000 0001"})
    assert post(client, device, conflict, {"passport.jpg": JPEG}).status_code == 409
    broken = intake_instance(fields, "uuid:scan-3", values=IDENTITY)[:-40]
    assert post(client, device, broken).status_code == 400
    secrets.append("+856 20 0000 0001")

    # Reads, as an administrator (identities) and as an analyst (redacted).
    one = f"{FORM}/submissions/uuid:scan-1"
    for auth in readers.values():
        for path in (
            f"{FORM}/submissions",
            one,
            f"{one}.xml",
            f"{one}/versions",
            f"{one}/versions/uuid:scan-2",
            f"{one}/versions/uuid:scan-2.xml",
            f"{one}/attachments",
            f"{one}/attachments/passport.jpg",
        ):
            response = client.get(path, headers=auth)
            assert response.status_code in (200, 403), (path, response.status_code)
            response.close()
    listed = client.get(f"{FORM}/submissions", headers=readers["admin"]).get_data(as_text=True)
    assert IDENTITY["first_name_latin"] in listed  # the values did travel through the app
    assert IDENTITY["first_name_latin"] not in client.get(one, headers=readers["analyst"]).get_data(as_text=True)

    # Failed sign-ins: Basic auth and a session, a known and an unknown account.
    for email in ("admin@example.la", "scanned.victim@example.la"):
        assert client.get("/v1/projects", headers=basic(email, PASSWORD)).status_code == 401
        assert client.post("/v1/sessions", json={"email": email, "password": PASSWORD}).status_code == 401

    # The command line, as the server and as the analyst.
    for args in (
        ["submissions", "list", "case_intake"],
        ["submissions", "list", "case_intake", "--as", "analyst@example.la"],
    ):
        result = runner.invoke(args)
        assert result.exit_code == 0, result.output
    assert IDENTITY["first_name_latin"] in runner.invoke(["submissions", "list", "case_intake"]).stdout

    assert log_scan.lines, "nothing was logged: the scan would prove nothing"
    assert log_scan.leaks(secrets) == []
    db_session.rollback()
    events = db_session.scalars(select(AuditEvent)).all()
    assert {e.action for e in events} >= {
        "submission.list",
        "submission.read",
        "submission.read_xml",
        "attachment.read",
        "session.failed",
    }
    stored = [json.dumps(e.details, ensure_ascii=False) + e.resource + (e.address or "") for e in events]
    assert [(s, text) for s in secrets for text in stored if s in text] == []


def test_the_scanner_finds_a_value_that_is_logged(log_scan):
    import logging

    logging.getLogger("collector.anything").debug("stored %s", IDENTITY["prs_FirstName"])
    assert log_scan.leaks([IDENTITY["prs_FirstName"], PASSWORD]) == [
        (IDENTITY["prs_FirstName"], f"DEBUG collector.anything stored {IDENTITY['prs_FirstName']}")
    ]
