"""`collector export-ctdc` end to end: records sent by a tablet, the register, a k-anonymous CSV read back."""

from __future__ import annotations

import csv
from collections import Counter

import pytest
from sqlalchemy import select

from ingest.stats.ctdc import QUASI_IDENTIFIERS, VARIABLES
from tests.support.ctdc import interview, screen

PASSWORD = "a long enough password"
ROLES = {"statistician": (), "analyst": (), "provincial-officer": ("05",), "trainer": (), "case-officer": ()}


@pytest.fixture
def device(national_device):
    """The records here name several provinces: send them from a national tablet."""
    return national_device


@pytest.fixture
def register(app, client, device, ctdc_forms, db_session):
    """Eleven cases that may be shared and one whose consent to share was refused; k = 3 for these tests.

    Province 05: four women from Laos exploited in Thailand (one interviewed: debt bondage, recruited by
    family), three more in three other countries, and the refused one. Province 01: three men from Vietnam
    exploited in China, one man from Myanmar alone in Malaysia.
    """
    from ingest.accounts.users import create_user

    for role, provinces in ROLES.items():
        create_user(db_session, f"{role}@example.la", PASSWORD, role, provinces=provinces)
    db_session.commit()
    app.config["STATS_THRESHOLD"] = 3
    for n in range(4):
        screen(client, device, ctdc_forms, f"W-{n}")
    interview(client, device, ctdc_forms, "W-0", methods_of_control="DebtBondage", recruiter_relation="Familial")
    for n, country in enumerate(("MY", "CN", "VN")):
        screen(client, device, ctdc_forms, f"V-{n}", country_of_exploitation=country)
    for n in range(3):
        screen(
            client,
            device,
            ctdc_forms,
            f"M-{n}",
            scope_province="01",
            gender="Masculine",
            citizenship="VN",
            country_of_exploitation="CN",
            exploitation_type="SexualExploitation",
            age_band="age_30_38",
        )
    screen(
        client,
        device,
        ctdc_forms,
        "R-0",
        scope_province="01",
        gender="Masculine",
        citizenship="MM",
        country_of_exploitation="MY",
        exploitation_type="ForcedMarriage",
    )
    screen(client, device, ctdc_forms, "X-0")
    interview(client, device, ctdc_forms, "X-0", consent_sharing="no")


def export(runner, tmp_path, *args):
    """Run the command; return (exit code, output, CSV rows as dicts or None)."""
    path = tmp_path / "ctdc.csv"
    result = runner.invoke(["export-ctdc", "-o", str(path), *args])
    if result.exit_code != 0 or not path.exists():
        return result.exit_code, result.output, None
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames) == VARIABLES
        return result.exit_code, result.output, list(reader)


def combinations(rows) -> Counter:
    return Counter(tuple(r[q] for q in QUASI_IDENTIFIERS) for r in rows)


def test_the_export_is_k_anonymous_leaves_refused_consent_out_and_is_audited(runner, register, tmp_path, db_session):
    from ingest.models import AuditEvent, User

    code, output, rows = export(runner, tmp_path, "--as", "statistician@example.la")
    assert code == 0, output
    assert "10 case(s) written" in output and "3 cell(s) blanked, 1 row(s) left out" in output
    assert len(rows) == 10 and min(combinations(rows).values()) >= 3
    women = [r for r in rows if r["gender"] == "Woman"]
    # The refused case would have been a fifth identical woman.
    assert Counter(r["CountryOfExploitation"] for r in women) == {"THA": 4, "": 3}
    assert {(r["ageBroad"], r["citizenship"], r["yearOfRegistration"], r["isForcedLabour"]) for r in women} == {
        ("18--20", "LAO", "2026", "1")
    }
    men = [r for r in rows if r["gender"] == "Man"]
    assert [(r["ageBroad"], r["citizenship"], r["CountryOfExploitation"], r["isSexualExploit"]) for r in men] == [
        ("30--38", "VNM", "CHN", "1")
    ] * 3
    assert not any(r["isOtherExploit"] for r in rows)  # the man alone in Malaysia is left out
    # A statistician reads no records, yet the flags found in them by their tags are exported.
    assert [(r["meansDebtBondageEarnings"], r["recruiterRelationFamily"]) for r in rows].count(("1", "1")) == 1
    db_session.rollback()
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "ctdc.export"))
    statistician = db_session.scalar(select(User).where(User.email == "statistician@example.la"))
    assert (event.resource, event.user_id, event.address) == ("project:1", statistician.id, "cli")
    assert event.details == {"rows": 10, "cells_blanked": 3, "rows_dropped": 1, "threshold": 3}


def test_a_higher_threshold_suppresses_more_and_a_lower_one_is_refused(runner, register, tmp_path):
    code, output, rows = export(runner, tmp_path, "--threshold", "4")
    assert code == 0, output
    assert min(combinations(rows).values()) >= 4 and not any(r["gender"] == "Man" for r in rows)
    code, output, rows = export(runner, tmp_path, "--threshold", "2")
    assert code == 1 and "may not be below STATS_THRESHOLD (3)" in output and rows is None


def test_with_the_default_threshold_eleven_cases_of_three_kinds_publish_nothing(app, runner, register, tmp_path):
    app.config["STATS_THRESHOLD"] = 11
    code, output, rows = export(runner, tmp_path)
    assert code == 0, output
    assert rows == [] and "0 case(s) written" in output and "11 row(s) left out" in output


def test_only_roles_with_the_statistics_right_may_export(runner, register, tmp_path):
    code, output, rows = export(runner, tmp_path, "--as", "trainer@example.la")
    assert code == 1 and "A trainer may not read statistics" in output and rows is None
    code, output, rows = export(runner, tmp_path, "--as", "nobody@example.la")
    assert code == 1 and "No active user" in output
    for role in ("analyst", "case-officer"):
        code, output, rows = export(runner, tmp_path, "--as", f"{role}@example.la")
        assert code == 0 and len(rows) == 10, output


def test_a_provincial_officer_exports_their_province_still_without_refused_consent(runner, register, tmp_path):
    code, output, rows = export(runner, tmp_path, "--as", "provincial-officer@example.la")
    assert code == 0, output
    assert len(rows) == 7 and {r["gender"] for r in rows} == {"Woman"}
    assert Counter(r["CountryOfExploitation"] for r in rows) == {"THA": 4, "": 3}


def test_an_unknown_project_is_refused(runner, register, tmp_path):
    code, output, rows = export(runner, tmp_path, "--project", "9")
    assert code == 1 and "No project 9" in output


def basic(role: str) -> dict:
    import base64

    return {"Authorization": "Basic " + base64.b64encode(f"{role}@example.la:{PASSWORD}".encode()).decode()}


def test_the_api_answers_the_same_csv_as_the_command(client, runner, register, tmp_path, db_session):
    from ingest.models import AuditEvent

    answer = client.get("/v1/projects/1/ctdc.csv", headers=basic("statistician"))
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert answer.headers["Cache-Control"] == "no-store"
    assert (answer.headers["X-Suppressed-Cells"], answer.headers["X-Suppressed-Rows"]) == ("3", "1")
    _code, _output, rows = export(runner, tmp_path, "--as", "statistician@example.la")
    assert list(csv.DictReader(answer.get_data(as_text=True).splitlines())) == rows
    db_session.rollback()
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "ctdc.export", AuditEvent.address != "cli"))
    assert event.details == {"rows": 10, "cells_blanked": 3, "rows_dropped": 1, "threshold": 3}
    higher = client.get("/v1/projects/1/ctdc.csv?threshold=4", headers=basic("analyst"))
    assert higher.status_code == 200 and higher.headers["X-Threshold"] == "4"
    for query, status in (("?threshold=2", 400), ("?threshold=x", 400), ("?threshold=%D9%A3", 400)):
        assert client.get(f"/v1/projects/1/ctdc.csv{query}", headers=basic("statistician")).status_code == status
    assert client.get("/v1/projects/1/ctdc.csv", headers=basic("trainer")).status_code == 403
    assert client.get("/v1/projects/9/ctdc.csv", headers=basic("statistician")).status_code == 404
    assert client.get("/v1/projects/1/ctdc.csv").status_code == 401
