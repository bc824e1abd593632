"""Person matching over the API (issue 10): candidates, links and persons, scoped, redacted and audited per role."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import select, update

from ingest.models import AuditEvent, Case
from ingest.person_models import CaseIdentity, PersonCandidate
from ingest.persons import identities
from ingest.publishing.versions import ensure_project
from tests.support.persons import SMALL

PASSWORD = "a long enough password"
ROLES = {
    "admin": ("admin@example.la", ()),
    "case-officer": ("national@example.la", ()),
    "provincial-officer": ("officer01@example.la", ("01",)),
    "analyst": ("analyst@example.la", ()),
    "statistician": ("stats@example.la", ()),
    "trainer": ("trainer@example.la", ()),
}


def basic(role: str) -> dict:
    email = ROLES[role][0]
    return {"Authorization": "Basic " + base64.b64encode(f"{email}:{PASSWORD}".encode()).decode()}


@pytest.fixture
def users(app, db_session):
    from ingest.accounts.users import create_user

    ensure_project(db_session, 1)
    for role, (email, provinces) in ROLES.items():
        create_user(db_session, email, PASSWORD, role, provinces=provinces)
    db_session.commit()


@pytest.fixture
def pairs(users, db_session):
    """Cases 01-a/02-a (provinces 01 and 02) and 03-b/04-b (03 and 04) as pending candidate pairs."""
    identities.load_person_records(db_session, 1, SMALL[:4])
    for a, b, score in (("01-a", "02-a", 0.98), ("03-b", "04-b", 0.6)):
        db_session.add(
            PersonCandidate(
                project_id=1,
                case_a=a,
                case_b=b,
                score=score,
                evidence={"given": {"level": "Exact match on given_lo", "weight": 5.1}},
            )
        )
    db_session.commit()


def candidates(client, role: str, query: str = ""):
    return client.get(f"/v1/projects/1/persons/candidates{query}", headers=basic(role))


def last_audit(db_session, action: str) -> AuditEvent:
    db_session.rollback()
    return db_session.scalars(
        select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id.desc())
    ).first()


def test_a_provincial_officer_sees_pairs_with_a_side_of_theirs_and_the_other_side_redacted(client, pairs, db_session):
    answer = candidates(client, "provincial-officer")
    assert answer.status_code == 200
    (pair,) = answer.json["candidates"]
    assert (pair["a"]["caseCode"], pair["b"]["caseCode"]) == ("01-a", "02-a")
    assert pair["a"]["givenLatin"] == "Somphone" and pair["a"]["redacted"] == [] and pair["a"]["inScope"]
    assert pair["b"]["givenLatin"] is None and pair["b"]["phone"] is None and not pair["b"]["inScope"]
    assert {"givenLatin", "familyLo", "phone", "birthYear"} <= set(pair["b"]["redacted"])
    assert pair["b"]["province"] == "02" and pair["evidence"]["given"]["weight"] == 5.1
    event = last_audit(db_session, "person.candidates")
    assert event.details["identities"] == ["01-a"] and event.resource == "project:1"


def test_national_roles_see_both_sides_analysts_none_and_statisticians_nothing(client, pairs, db_session):
    national = candidates(client, "case-officer").json["candidates"]
    assert [p["a"]["caseCode"] for p in national] == ["01-a", "03-b"]
    assert all(p["a"]["givenLatin"] and p["b"]["givenLatin"] for p in national)
    analyst = candidates(client, "analyst").json["candidates"]
    assert len(analyst) == 2 and all(p["a"]["givenLatin"] is None and p["b"]["givenLo"] is None for p in analyst)
    assert last_audit(db_session, "person.candidates").details["identities"] == []
    for role in ("statistician", "trainer"):
        assert candidates(client, role).status_code == 403
    assert client.get("/v1/projects/1/persons/candidates").status_code == 401


def test_candidates_filter_page_and_hide_refused_consent(client, pairs, db_session):
    assert [p["a"]["caseCode"] for p in candidates(client, "admin", "?province=04").json["candidates"]] == ["03-b"]
    assert [p["score"] for p in candidates(client, "admin", "?minScore=0.9").json["candidates"]] == [0.98]
    first = candidates(client, "admin", "?limit=1").json
    assert len(first["candidates"]) == 1 and first["nextCursor"]
    second = candidates(client, "admin", f"?limit=1&cursor={first['nextCursor']}").json
    assert second["candidates"][0]["a"]["caseCode"] == "03-b" and second["nextCursor"] is None
    assert candidates(client, "admin", "?minScore=high").status_code == 400
    assert candidates(client, "admin", "?cursor=x").status_code == 400
    # A case that refused sharing: its pairs leave the lists of roles that do not see such cases.
    db_session.execute(update(Case).where(Case.case_code == "01-a").values(consent_sharing=False))
    db_session.commit()
    assert [p["a"]["caseCode"] for p in candidates(client, "case-officer").json["candidates"]] == ["03-b"]
    assert len(candidates(client, "provincial-officer").json["candidates"]) == 1


def link(client, role: str, a: str, b: str, decision: str):
    return client.post("/v1/projects/1/persons/links", json={"a": a, "b": b, "decision": decision}, headers=basic(role))


def test_links_confirm_reject_conflict_and_who_may_decide(client, pairs, db_session):
    assert link(client, "analyst", "01-a", "02-a", "confirm").status_code == 403
    assert link(client, "provincial-officer", "03-b", "04-b", "confirm").status_code == 404  # neither side theirs
    done = link(client, "provincial-officer", "01-a", "02-a", "confirm")
    assert done.status_code == 200 and done.json["state"] == "confirmed"
    assert done.json["personKeys"] == ["01-a", "01-a"]
    event = last_audit(db_session, "person.confirm")
    assert event.resource == "project:1/persons/01-a/02-a" and event.address
    # Decided: no longer a candidate.
    assert [p["a"]["caseCode"] for p in candidates(client, "admin").json["candidates"]] == ["03-b"]
    assert link(client, "case-officer", "02-a", "04-b", "reject").status_code == 200
    conflict = link(client, "case-officer", "01-a", "04-b", "confirm")
    assert conflict.status_code == 409 and "rejected" in conflict.json["error"]
    assert link(client, "admin", "01-a", "nope", "confirm").status_code == 404
    bad = link(client, "admin", "01-a", "02-a", "maybe")
    assert bad.status_code == 422 and "decision" in bad.json["fields"]
    assert link(client, "admin", "01-a", "01-a", "confirm").status_code == 422


def test_persons_list_shows_confirmed_persons_redacted_per_role(client, pairs, db_session):
    assert link(client, "admin", "01-a", "02-a", "confirm").status_code == 200
    assert (
        client.get("/v1/projects/1/persons", headers=basic("admin")).json["persons"][0]["cases"][1]["givenLatin"]
        == "Sompone"
    )
    mine = client.get("/v1/projects/1/persons", headers=basic("provincial-officer")).json["persons"]
    assert [c["caseCode"] for c in mine[0]["cases"]] == ["01-a", "02-a"]
    assert mine[0]["cases"][0]["givenLatin"] == "Somphone" and mine[0]["cases"][1]["givenLatin"] is None
    assert last_audit(db_session, "person.list").details["identities"] == ["01-a"]
    analyst = client.get("/v1/projects/1/persons", headers=basic("analyst")).json["persons"]
    assert all(c["givenLatin"] is None for c in analyst[0]["cases"])
    assert client.get("/v1/projects/1/persons", headers=basic("statistician")).status_code == 403


def test_a_case_intake_record_gives_its_case_an_identity_by_tags(client, users, db_session, device_forms):
    from tests.support.cases import instance
    from tests.support.openrosa import post

    device, fields = device_forms
    answers = {
        "case_code": "01-3f9a2c1b",
        "event_date": "2026-01-10",
        "scope_province": "01",
        "consent": "yes",
        "consent_sharing": "yes",
        "person_given_lo": "ສົມພອນ",
        "person_family_latin": "Vongsa",
        "birth_precision": "year_only",
        "birth_year": "1998",
        "home_province": "13",
        "home_district": "1301",
        "phone": "020 5555 1234",
        "gender": "Feminine",
    }
    xml = instance("case_intake", fields, "uuid:p1", answers).replace(b'version="2026112901"', b'version="2026120301"')
    assert post(client, device, xml).status_code == 201
    db_session.rollback()
    identity = db_session.scalar(select(CaseIdentity).where(CaseIdentity.case_code == "01-3f9a2c1b"))
    assert (identity.given_lo, identity.family_latin, identity.birth_year) == ("ສົມພອນ", "Vongsa", 1998)
    assert (identity.home_province, identity.home_district, identity.sex, identity.has_name) == (
        "13",
        "1301",
        "F",
        True,
    )


@pytest.fixture
def device_forms(app, db_session, device):
    from forms import BUNDLED_FORMS_DIR, find_media
    from forms.compiler import compile_xlsform
    from ingest.accounts.users import assign_forms
    from ingest.publishing.versions import publish

    form = compile_xlsform(BUNDLED_FORMS_DIR / "case_intake.xlsx", validate=False)
    publish(
        db_session,
        app.extensions["collector.store"],
        1,
        form,
        find_media(BUNDLED_FORMS_DIR / "case_intake.xlsx", form.media),
    )
    db_session.commit()
    assign_forms(db_session, device, None)
    db_session.commit()
    return device, form.fields


def test_cases_rebuilt_without_their_identity_get_it_back_at_the_next_match(
    client, users, db_session, device_forms, runner
):
    from tests.support.cases import instance
    from tests.support.openrosa import post

    device, fields = device_forms
    for n, iid in ((1, "uuid:q1"), (2, "uuid:q2")):
        # Not the same day in the same province: that is evidence of two people (siblings screened together).
        answers = {
            "case_code": f"01-0000000{n}",
            "event_date": f"2026-0{n}-10",
            "scope_province": "01",
            "consent": "yes",
            "person_given_latin": "Somphone",
            "person_family_latin": "Vongsa",
            "phone": "020 5555 1234",
            "person_given_lo": "ສົມພອນ",
            "birth_year": "1998",
            "birth_precision": "year_only",
            "gender": "Feminine",
        }
        xml = instance("case_intake", fields, iid, answers).replace(b'version="2026112901"', b'version="2026120301"')
        assert post(client, device, xml).status_code == 201
    db_session.rollback()
    db_session.execute(CaseIdentity.__table__.delete())
    db_session.commit()
    # The batch replay rebuilds the cases without identities; the matcher refreshes them first.
    assert runner.invoke(["ingest", "replay"]).exit_code == 0
    result = runner.invoke(["persons", "match"])
    assert result.exit_code == 0 and "2 cases (0 without a name" in result.output, result.output
    db_session.rollback()
    assert sorted(db_session.scalars(select(CaseIdentity.case_code))) == ["01-00000001", "01-00000002"]
    assert db_session.execute(select(PersonCandidate.case_a, PersonCandidate.case_b)).all() == [
        ("01-00000001", "01-00000002")
    ]
