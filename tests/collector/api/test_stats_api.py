"""Statistics over the case register, through the API and the CLI: scoped, consent-aware, suppressed."""

from __future__ import annotations

import base64

import pytest

from tests.support.cases import SCREENING, instance
from tests.support.openrosa import post

PASSWORD = "a long enough password"
ROLES = {"statistician": (), "provincial-officer": ("05",), "analyst": (), "trainer": ()}


@pytest.fixture
def device(national_device):
    """A ministry tablet without a province (tests/conftest.py): the records here name several provinces."""
    return national_device


def auth(role: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{role}@example.la:{PASSWORD}".encode()).decode()}


@pytest.fixture
def register(client, device, forms, db_session):
    """Screen 12 women in province 05 (one refused consent to share) and 3 men in province 01."""
    from ingest.accounts.users import create_user

    for role, provinces in ROLES.items():
        create_user(db_session, f"{role}@example.la", PASSWORD, role, provinces=provinces)
    db_session.commit()
    people = [("05", "Female")] * 12 + [("01", "Male")] * 3
    for n, (province, gender) in enumerate(people):
        answers = {**SCREENING, "case_code": f"C-{n}", "scope_province": province, "gender": gender}
        assert (
            post(client, device, instance("screening", forms["screening"], f"uuid:st-{n}", answers)).status_code == 201
        )
    refused = {**SCREENING, "case_code": "C-refused", "scope_province": "05", "gender": "Female"}
    intake = instance(
        "case_intake",
        forms["case_intake"],
        "uuid:st-refused",
        {"case_code": "C-refused", "scope_province": "05", "gender": "Female", "consent_sharing": "no"},
    )
    assert post(client, device, instance("screening", forms["screening"], "uuid:st-r", refused)).status_code == 201
    assert post(client, device, intake).status_code == 201


def cells(body: dict) -> dict:
    return {tuple(c[d] for d in body["by"]): c["count"] for c in body["cells"]}


def test_small_cells_and_the_cell_that_gives_them_away_are_hidden(client, register):
    body = client.get("/v1/projects/1/stats?by=province", headers=auth("statistician")).get_json()
    assert body["threshold"] == 11
    # The refused-consent case is not counted for a statistician; 01 has 3 (hidden), so 05 is hidden too.
    assert cells(body) == {("01",): None, ("05",): None, ("Total",): 15}
    assert {(h["province"], h["reason"]) for h in body["hidden"]} == {("01", "primary"), ("05", "secondary")}


def test_a_provincial_officer_counts_their_province_with_refused_consent(client, register):
    body = client.get("/v1/projects/1/stats?by=gender", headers=auth("provincial-officer")).get_json()
    assert cells(body) == {("Female",): 13, ("Total",): 13}


def test_filters_and_bad_dimensions(client, register):
    body = client.get("/v1/projects/1/stats?by=gender&province=05", headers=auth("analyst")).get_json()
    assert cells(body) == {("Female",): 12, ("Total",): 12}
    unknown = client.get("/v1/projects/1/stats?by=religion", headers=auth("analyst"))
    assert unknown.status_code == 422 and "'religion'" in unknown.get_json()["error"]
    assert client.get("/v1/projects/1/stats?by=gender&colour=red", headers=auth("analyst")).status_code == 422
    assert client.get("/v1/projects/1/stats", headers=auth("analyst")).status_code == 400
    assert client.get("/v1/projects/1/stats?by=gender", headers=auth("trainer")).status_code == 403
    assert client.get("/v1/projects/9/stats?by=gender", headers=auth("analyst")).status_code == 404


def test_cli_prints_the_same_table_as_csv(runner, register):
    result = runner.invoke(["stats", "--by", "province", "--csv", "--as", "statistician@example.la"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["province,count", "01,(hidden)", "05,(hidden)", "Total,15"]
    refused = runner.invoke(["stats", "--by", "province", "--as", "trainer@example.la"])
    assert refused.exit_code == 1 and "may not read statistics" in refused.output
    assert runner.invoke(["stats", "--by", "religion"]).exit_code == 1


def test_cli_csv_neutralises_an_answer_that_would_start_a_formula(runner, client, device, forms, register):
    for n in range(11):
        answers = {**SCREENING, "case_code": f"F-{n}", "scope_province": "01", "gender": "@SUM(1)"}
        assert (
            post(client, device, instance("screening", forms["screening"], f"uuid:sf-{n}", answers)).status_code == 201
        )
    result = runner.invoke(["stats", "--by", "gender", "--csv", "--as", "statistician@example.la"])
    assert result.exit_code == 0, result.output
    # (hidden: with the three men's cell hidden, the 11 would give it away)
    assert '"\'@SUM(1)",(hidden)' in result.stdout.splitlines()
