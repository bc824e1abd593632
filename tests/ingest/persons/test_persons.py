"""Persons across cases (issue 10): identities by tag, the matcher through the register, decisions and persons."""

from __future__ import annotations

import csv
import itertools
import threading
from collections import defaultdict
from datetime import UTC
from pathlib import Path

import pytest
from sqlalchemy import select

from ingest.access import RIGHTS, SYSTEM, Caller
from ingest.models import AuditEvent
from ingest.person_models import CaseIdentity, PersonCandidate, PersonLink, PersonMember
from ingest.persons import decisions as persons
from ingest.persons import identities
from ingest.persons.matching import read_records
from ingest.publishing.versions import ensure_project
from tests.support.persons import SMALL, person

DATA = Path(__file__).resolve().parents[2] / "data" / "matching"
# Floors a little under what the matcher measures on this slice through the register (0.93 / 0.86).
PRECISION_FLOOR, RECALL_FLOOR = 0.9, 0.8
OFFICER = Caller(role="case-officer", user_id=None, rights=RIGHTS["case-officer"])


@pytest.fixture
def project(app, db_session):
    ensure_project(db_session, 1)
    db_session.commit()
    return 1


def true_pairs() -> set[tuple[str, str]]:
    by_person = defaultdict(list)
    with open(DATA / "truth.csv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            by_person[row["person_id"]].append(row["record_id"])
    return {pair for ids in by_person.values() for pair in itertools.combinations(sorted(ids), 2)}


def pairs(session, project_id=1) -> set[tuple[str, str]]:
    session.rollback()
    return set(
        session.execute(
            select(PersonCandidate.case_a, PersonCandidate.case_b).where(PersonCandidate.project_id == project_id)
        ).all()
    )


def test_identity_is_read_by_tags_with_the_intake_counting_first():
    fields = [
        {"path": f"/data/{name}", "name": name, "kind": "input", "tags": [tag]}
        for name, tag in (
            ("n1", "person_given_lo"),
            ("n2", "person_family_latin"),
            ("b", "birth_date"),
            ("g", "gender"),
            ("hp", "home_province"),
            ("hd", "home_district"),
            ("t", "phone"),
            ("e", "event_date"),
        )
    ]
    from datetime import datetime

    at = datetime(2026, 1, 1, tzinfo=UTC)
    values = identities.identity_values(
        [
            (
                "case_intake",
                fields,
                {
                    "n1": "ນາງ ສົມພອນ",
                    "n2": "Vongsa",
                    "b": "1998-03-14",
                    "g": "Feminine",
                    "hp": "13",
                    "hd": "1301",
                    "t": "020 5555 1234",
                    "e": "2026-02-01",
                },
                at,
            ),
            ("screening", fields, {"n2": "Wongsa", "g": "Masculine", "e": "2026-01-05"}, at),
        ]
    )
    assert values["family_latin"] == "Vongsa" and values["sex"] == "F"  # the intake's word counts
    assert (values["birth_year"], values["home_province"], values["home_district"]) == (1998, "13", "1301")
    assert values["first_seen"].isoformat() == "2026-01-05" and values["has_name"] is True
    assert identities.identity_values([("screening", fields, {"g": "Feminine"}, at)])["has_name"] is False


def test_matcher_through_the_register_on_the_development_slice(project, db_session, tmp_path):
    records = read_records(DATA / "records.csv")
    identities.load_person_records(db_session, 1, records)
    summary = persons.match(db_session, 1)
    assert (summary.cases, summary.skipped_without_name, summary.full) == (600, 0, True)
    predicted = pairs(db_session)
    truth = true_pairs()
    hits = len(predicted & truth)
    precision, recall = hits / len(predicted), hits / len(truth)
    assert precision >= PRECISION_FLOOR and recall >= RECALL_FLOOR, (precision, recall)
    evidence = db_session.scalars(select(PersonCandidate.evidence)).first()
    assert {"given", "family"} <= set(evidence) and all("level" in v and "weight" in v for v in evidence.values())

    # Nothing changed: an incremental run compares nothing and keeps every pair.
    again = persons.match(db_session, 1)
    assert (again.full, again.changed) == (False, 0) and pairs(db_session) == predicted
    out = tmp_path / "pairs.csv"
    assert persons.export_pairs(db_session, 1, out) == len(predicted)
    assert out.read_text(encoding="utf-8").splitlines()[0] == "record_id_a,record_id_b"


def test_records_without_names_are_skipped_and_counted_and_other_scripts_do_not_break(project, db_session):
    identities.load_person_records(db_session, 1, SMALL)
    summary = persons.match(db_session, 1)
    assert summary.skipped_without_name == 1 and summary.cases == len(SMALL)
    found = pairs(db_session)
    assert {("01-a", "02-a"), ("03-b", "04-b")} <= found
    assert not any("06-x" in pair for pair in found)
    assert not any(a.startswith("05-") and b.startswith("05-") for a, b in found)  # strangers stay apart


def test_rejected_pairs_are_never_proposed_again_and_new_cases_meet_confirmed_persons(project, db_session):
    identities.load_person_records(db_session, 1, SMALL)
    persons.match(db_session, 1)
    persons.decide(db_session, 1, "02-a", "01-a", "reject", OFFICER, address="test")
    persons.decide(db_session, 1, "03-b", "04-b", "confirm", OFFICER, address="test")
    db_session.commit()
    for full in (False, True):
        persons.match(db_session, 1, incremental=not full)
        assert ("01-a", "02-a") not in pairs(db_session) and ("03-b", "04-b") not in pairs(db_session)
    # A third case of the confirmed person arrives: an incremental run compares it with both of its cases.
    identities.load_person_records(
        db_session,
        1,
        [
            person(
                "08-b",
                "08",
                "Keo",
                "Phommachanh",
                2001,
                given_lo="ແກ້ວ",
                family_lo="ພົມມະຈັນ",
                phone="020 7777 8888",
                birth_date="2001-07-02",
                screening_date="2026-06-01",
            )
        ],
    )
    summary = persons.match(db_session, 1)
    assert (summary.full, summary.changed) == (False, 1)
    assert {("03-b", "08-b"), ("04-b", "08-b")} <= pairs(db_session)


def members(session) -> dict[str, str]:
    session.rollback()
    return dict(session.execute(select(PersonMember.case_code, PersonMember.person_key)).all())


def test_confirm_then_reject_splits_the_person_keeps_history_and_is_audited(project, db_session):
    identities.load_person_records(db_session, 1, SMALL[:4])
    for a, b in (("01-a", "02-a"), ("02-a", "03-b")):
        persons.decide(db_session, 1, a, b, "confirm", OFFICER, address="test")
        db_session.commit()
    assert members(db_session) == {"01-a": "01-a", "02-a": "01-a", "03-b": "01-a"}
    persons.decide(db_session, 1, "03-b", "02-a", "reject", OFFICER, address="test")
    db_session.commit()
    assert members(db_session) == {"01-a": "01-a", "02-a": "01-a"}
    history = db_session.execute(
        select(PersonLink.state, PersonLink.superseded_at.is_(None))
        .where(PersonLink.case_a == "02-a", PersonLink.case_b == "03-b")
        .order_by(PersonLink.id)
    ).all()
    assert history == [("confirmed", False), ("rejected", True)]
    actions = db_session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("person.%"))).all()
    assert sorted(actions) == ["person.confirm", "person.confirm", "person.reject"]
    # Deciding again as it stands changes nothing.
    persons.decide(db_session, 1, "02-a", "03-b", "reject", OFFICER)
    db_session.commit()
    assert len(db_session.scalars(select(PersonLink)).all()) == 3


def test_a_confirmation_that_joins_a_rejected_pair_is_refused(project, db_session):
    identities.load_person_records(db_session, 1, SMALL[:4])
    persons.decide(db_session, 1, "01-a", "03-b", "reject", OFFICER)
    persons.decide(db_session, 1, "01-a", "02-a", "confirm", OFFICER)
    db_session.commit()
    with pytest.raises(persons.LinkConflict):
        persons.decide(db_session, 1, "02-a", "03-b", "confirm", OFFICER)
    db_session.rollback()
    with pytest.raises(persons.CaseNotFound):
        persons.decide(db_session, 1, "01-a", "99-none", "confirm", OFFICER)
    db_session.rollback()
    with pytest.raises(persons.PersonError):
        persons.decide(db_session, 1, "01-a", "01-a", "confirm", OFFICER)
    db_session.rollback()
    provincial = Caller(role="provincial-officer", provinces=frozenset({"05"}), rights=RIGHTS["provincial-officer"])
    with pytest.raises(persons.CaseNotFound):  # neither side in their provinces
        persons.decide(db_session, 1, "01-a", "02-a", "reject", provincial)


def test_two_officers_confirming_conflicting_links_at_once_cannot_both_win(app, project, db_session):
    """A-C rejected; one officer confirms A-B while another confirms B-C: together they would join A and C."""
    identities.load_person_records(db_session, 1, SMALL[:4])
    persons.decide(db_session, 1, "01-a", "03-b", "reject", OFFICER)
    db_session.commit()
    factory = app.extensions["collector.sessions"]
    barrier = threading.Barrier(2)
    outcomes = []

    def confirm(a, b):
        session = factory()
        try:
            barrier.wait()
            persons.decide(session, 1, a, b, "confirm", OFFICER)
            session.commit()
            outcomes.append("ok")
        except persons.LinkConflict:
            session.rollback()
            outcomes.append("conflict")
        finally:
            session.close()

    threads = [threading.Thread(target=confirm, args=pair) for pair in (("01-a", "02-a"), ("02-a", "03-b"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes) == ["conflict", "ok"]
    keys = members(db_session)
    assert not (keys.get("01-a") and keys.get("01-a") == keys.get("03-b"))


def test_identity_rows_follow_deleted_cases_and_scope_hides_them(project, db_session):
    from ingest import scope
    from ingest.models import Case

    identities.load_person_records(db_session, 1, SMALL[:2])
    analyst = Caller(role="analyst", rights=RIGHTS["analyst"])
    with scope.acting_as(db_session, analyst):
        assert db_session.scalars(select(CaseIdentity)).all() == []  # no identities for an analyst
    with scope.acting_as(db_session, SYSTEM):
        assert len(db_session.scalars(select(CaseIdentity)).all()) == 2
        identities.rebuild_identity(db_session, 1, "01-a", [])
        db_session.execute(Case.__table__.delete().where(Case.case_code == "01-a"))
        db_session.commit()
        assert db_session.scalars(select(CaseIdentity.case_code)).all() == ["02-a"]


def test_statistics_count_persons_beside_cases_and_the_re_trafficked(project, db_session):
    from datetime import date

    from sqlalchemy import update

    from ingest import scope
    from ingest.models import Case
    from ingest.stats.counts import as_json, case_table

    identities.load_person_records(db_session, 1, SMALL[:4])
    with scope.acting_as(db_session, SYSTEM):
        db_session.execute(
            update(Case)
            .where(Case.case_code == "01-a")
            .values(first_screening_date=date(2026, 1, 5), last_followup_date=date(2026, 3, 1))
        )
        db_session.execute(update(Case).where(Case.case_code == "02-a").values(first_screening_date=date(2026, 6, 1)))
        db_session.commit()
    persons.decide(db_session, 1, "01-a", "02-a", "confirm", OFFICER)
    db_session.commit()
    statistician = Caller(role="statistician", rights=RIGHTS["statistician"])
    with scope.acting_as(db_session, statistician):
        table = as_json(case_table(db_session, 1, ["province"], threshold=1))
    total = next(c for c in table["cells"] if c["province"] == "Total")
    assert (total["count"], total["persons"]) == (4, 3)
    assert table["retrafficked"] == 1 and table["personsHidden"] == []
    with scope.acting_as(db_session, statistician):
        hidden = as_json(case_table(db_session, 1, ["province"], threshold=11))
    assert hidden["retrafficked"] is None
    assert next(c for c in hidden["cells"] if c["province"] == "Total")["persons"] is None


def test_forms_that_name_a_person_are_told_apart():
    from forms import BUNDLED_FORMS_DIR
    from tests.support.tasks import compiled

    assert identities.names_person(compiled(BUNDLED_FORMS_DIR / "case_intake.xlsx").fields)
    assert not identities.names_person(compiled(BUNDLED_FORMS_DIR / "screening.xlsx").fields)
    assert not identities.names_person(compiled(DATA.parent / "sample_case.xlsx").fields)
