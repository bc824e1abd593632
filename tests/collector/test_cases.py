"""The case register (issue 9): one row per case code, rebuilt from its records by their tags."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import delete, select

from ingest.models import Case
from tests.support.cases import INTAKE, SCREENING, instance
from tests.support.openrosa import post


@pytest.fixture
def device(national_device):
    """A ministry tablet without a province (tests/conftest.py): the records here name several provinces."""
    return national_device


def case(db_session, code: str) -> Case | None:
    db_session.rollback()  # end the test session's snapshot: see what the server committed since
    return db_session.scalar(select(Case).where(Case.case_code == code))


FOLLOWUP = {"case_code": "C-1", "event_date": "2026-02-01", "scope_province": "05", "case_status": "Closed"}


def test_the_register_follows_screening_intake_and_followup_edits_and_deletes(client, device, forms, db_session, admin):
    for form_id, answers, iid in (
        ("screening", SCREENING, "uuid:s1"),
        ("case_intake", INTAKE, "uuid:i1"),
        ("followup", FOLLOWUP, "uuid:f1"),
    ):
        assert post(client, device, instance(form_id, forms[form_id], iid, answers)).status_code == 201
    row = case(db_session, "C-1")
    assert (row.records, row.forms) == (3, "screening case_intake followup")
    assert (row.first_screening_date, row.intake_date, row.last_followup_date) == (
        date(2026, 1, 5),
        date(2026, 1, 10),
        date(2026, 2, 1),
    )
    assert (row.province_code, row.district_code, row.gender, row.age_band) == ("05", "0501", "Female", "18-20")
    # The intake's answers count over the screening's; XX is replaced by the other-country answer.
    assert (row.citizenship, row.country_of_exploitation) == ("VN", "MY")
    assert row.exploitation_types == "ForcedLabour SexualExploitation"
    assert (row.trafficking_status, row.case_status, row.consent_sharing) == ("Confirmed", "Closed", True)

    edit = instance(
        "followup", forms["followup"], "uuid:f1-edit", {**FOLLOWUP, "case_status": "FollowUp"}, deprecated="uuid:f1"
    )
    assert post(client, device, edit).status_code == 201
    assert case(db_session, "C-1").case_status == "FollowUp"

    deleted = client.delete("/v1/projects/1/forms/followup/submissions/uuid:f1", auth=admin)
    assert deleted.status_code == 200
    row = case(db_session, "C-1")
    assert (row.records, row.last_followup_date, row.case_status) == (2, None, "Active")

    moved = instance(
        "screening", forms["screening"], "uuid:s1-edit", {**SCREENING, "case_code": "C-2"}, deprecated="uuid:s1"
    )
    assert post(client, device, moved).status_code == 201
    assert case(db_session, "C-1").records == 1 and case(db_session, "C-1").first_screening_date is None
    assert case(db_session, "C-2").first_screening_date == date(2026, 1, 5)


def test_replay_rebuilds_the_register_and_is_idempotent(client, device, forms, db_session, runner):
    for form_id, answers, iid in (("screening", SCREENING, "uuid:s1"), ("case_intake", INTAKE, "uuid:i1")):
        assert post(client, device, instance(form_id, forms[form_id], iid, answers)).status_code == 201
    columns = [c.name for c in Case.__table__.columns if c.name not in ("id", "updated_at")]

    def register():
        db_session.rollback()
        return [
            tuple(getattr(r, c) for c in columns) for r in db_session.scalars(select(Case).order_by(Case.case_code))
        ]

    before = register()
    db_session.execute(delete(Case))
    db_session.commit()
    for _ in range(2):
        result = runner.invoke(["ingest", "replay"])
        assert result.exit_code == 0, result.output
        assert register() == before


def test_records_without_a_case_code_and_draft_data_stay_out_of_the_register(client, device, forms, db_session):
    assert (
        post(
            client, device, instance("screening", forms["screening"], "uuid:none", {**SCREENING, "case_code": ""})
        ).status_code
        == 201
    )
    assert (
        post(
            client, device, instance("screening", forms["screening"], "uuid:long", {**SCREENING, "case_code": "C" * 65})
        ).status_code
        == 201
    )
    assert db_session.scalars(select(Case)).all() == []


def test_the_case_list_is_filtered_paged_and_scoped(client, device, forms, db_session, admin):
    import base64

    from ingest.accounts.users import create_user

    create_user(db_session, "officer01@example.la", "a long enough password", "provincial-officer", provinces=("01",))
    db_session.commit()
    officer = {"Authorization": "Basic " + base64.b64encode(b"officer01@example.la:a long enough password").decode()}
    for n in range(5):
        answers = {
            **SCREENING,
            "case_code": f"K-{n}",
            "scope_province": "01" if n < 2 else "05",
            "exploitation_type": "ForcedLabour" if n % 2 else "SexualExploitation",
        }
        assert post(client, device, instance("screening", forms["screening"], f"uuid:k{n}", answers)).status_code == 201
    first = client.get("/v1/projects/1/cases?limit=2", auth=admin).get_json()
    assert [c["caseCode"] for c in first["cases"]] == ["K-0", "K-1"] and first["nextCursor"]
    rest = client.get(f"/v1/projects/1/cases?limit=2&cursor={first['nextCursor']}", auth=admin).get_json()
    assert [c["caseCode"] for c in rest["cases"]] == ["K-2", "K-3"]
    assert rest["cases"][0]["countryOfExploitation"] == "MY" and rest["cases"][0]["records"] == 1
    filtered = client.get("/v1/projects/1/cases?exploitationType=ForcedLabour&province=05&year=2026", auth=admin)
    assert [c["caseCode"] for c in filtered.get_json()["cases"]] == ["K-3"]
    mine = client.get("/v1/projects/1/cases", headers=officer).get_json()
    assert [c["caseCode"] for c in mine["cases"]] == ["K-0", "K-1"] and mine["nextCursor"] is None
    unknown = client.get("/v1/projects/1/cases?religion=x", auth=admin)
    assert unknown.status_code == 422 and "'religion'" in unknown.get_json()["error"]
    for bad in ("limit=0", "limit=x", "cursor=99999999999", "cursor=%D9%A3", "year=12", "limit=5000"):
        assert client.get(f"/v1/projects/1/cases?{bad}", auth=admin).status_code == 400, bad
    injection = client.get("/v1/projects/1/cases?gender=Female'%20OR%20'1'='1", auth=admin)
    assert injection.status_code == 200 and injection.get_json()["cases"] == []
