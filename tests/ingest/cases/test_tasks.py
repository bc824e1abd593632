"""Case hand-off tasks (issue 10): derived from a case's records by their tags, rebuilt with the register."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from forms import BUNDLED_FORMS_DIR
from ingest import scope
from ingest.access import SYSTEM
from ingest.task_models import Task
from tests.support.tasks import (
    CODE,
    FOLLOWUP,
    HOME,
    NAME,
    ORIGIN,
    OTHER,
    SCREENING,
    one_task,
    publish_handoff,
    send,
)

#: Where the person was identified, their home, and a province with nothing to do with the case.


BUNDLED = {f: BUNDLED_FORMS_DIR / f"{f}.xlsx" for f in ("screening", "case_intake", "followup")}


@pytest.fixture
def handoff(app, db_session):
    """The hand-off forms published, and a device in each of three provinces."""
    return publish_handoff(app, db_session)


def tasks(db_session) -> list[tuple]:
    """Every task as a tuple of its columns (what the server committed)."""
    db_session.rollback()
    with scope.acting_as(db_session, SYSTEM):
        return [tuple(r) for r in db_session.execute(select(Task.__table__).order_by(Task.id))]


def test_a_screening_away_from_home_opens_a_task_for_the_home_province(client, handoff, db_session):
    send(client, handoff, ORIGIN, "screening", "uuid:s1", {**SCREENING, "full_name": NAME})
    task = one_task(db_session)
    assert (task.case_code, task.kind, task.status) == (CODE, "followup", "open")
    assert (task.home_province, task.home_district, task.origin_province) == (HOME, "1305", ORIGIN)
    assert task.consent_sharing is True and task.closed_at is None and task.closed_by_id is None
    assert "Female" in task.summary and "age_18_20" in task.summary and "ForcedLabour" in task.summary
    assert "2026-11-20" in task.summary
    assert NAME not in " ".join(str(v) for v in tasks(db_session)[0])


def test_the_home_province_comes_from_the_district_when_not_answered(client, handoff, db_session):
    answers = {k: v for k, v in SCREENING.items() if k != "home_province"}
    send(client, handoff, ORIGIN, "screening", "uuid:s1", answers)
    task = one_task(db_session)
    assert (task.home_province, task.home_district) == (HOME, "1305")


@pytest.mark.parametrize(
    "home",
    [{"home_province": ORIGIN, "home_district": "0501"}, {"home_province": "", "home_district": ""}],
    ids=["same province", "home unknown"],
)
def test_no_task_when_the_home_is_the_same_province_or_unknown(client, handoff, db_session, home):
    send(client, handoff, ORIGIN, "screening", "uuid:s1", {**SCREENING, **home})
    assert tasks(db_session) == []


def test_a_followup_of_the_home_province_closes_it_one_of_another_province_does_not(client, handoff, db_session):
    send(client, handoff, ORIGIN, "screening", "uuid:s1", SCREENING)
    # A follow-up by the identifying province (a phone call from the transit centre) leaves the task open.
    send(client, handoff, ORIGIN, "followup", "uuid:f0", {**FOLLOWUP, "scope_province": ORIGIN})
    assert one_task(db_session).status == "open"
    send(client, handoff, HOME, "followup", "uuid:f1", FOLLOWUP)
    task = one_task(db_session)
    assert task.status == "closed" and task.closed_at is not None
    db_session.rollback()
    from ingest.models import Submission

    with scope.acting_as(db_session, SYSTEM):
        assert db_session.get(Submission, task.closed_by_id).instance_id == "uuid:f1"


def test_a_followup_that_arrived_before_the_home_was_known_does_not_close_it(client, handoff, db_session):
    send(client, handoff, HOME, "followup", "uuid:f1", FOLLOWUP)
    send(client, handoff, ORIGIN, "screening", "uuid:s1", SCREENING)
    assert one_task(db_session).status == "open"


def test_deleting_the_followup_reopens_and_an_edit_without_a_home_removes_the_task(client, handoff, db_session, admin):
    send(client, handoff, ORIGIN, "screening", "uuid:s1", SCREENING)
    send(client, handoff, HOME, "followup", "uuid:f1", FOLLOWUP)
    assert one_task(db_session).status == "closed"
    assert client.delete("/v1/projects/1/forms/followup/submissions/uuid:f1", auth=admin).status_code == 200
    assert one_task(db_session).status == "open"
    send(
        client,
        handoff,
        ORIGIN,
        "screening",
        "uuid:s2",
        {**SCREENING, "home_province": ORIGIN, "home_district": "0501"},
        deprecated="uuid:s1",
    )
    assert tasks(db_session) == []


def test_rebuilding_replaying_and_syncing_give_the_same_tasks(client, handoff, db_session):
    from ingest.cases.register import rebuild_case
    from ingest.cases.tasks import sync_all
    from ingest.db import begin_write
    from ingest.receiving.replay import replay_all

    send(client, handoff, ORIGIN, "screening", "uuid:s1", SCREENING)
    send(client, handoff, HOME, "followup", "uuid:f1", FOLLOWUP)
    send(client, handoff, ORIGIN, "screening", "uuid:s9", {**SCREENING, "case_code": "05-00000009"})
    before = tasks(db_session)
    assert [t[5] for t in before] == ["closed", "open"]
    with scope.acting_as(db_session, SYSTEM):
        begin_write(db_session)
        rebuild_case(db_session, 1, CODE)
        rebuild_case(db_session, 1, CODE)
        db_session.commit()
    assert tasks(db_session) == before
    replay_all(db_session)
    assert tasks(db_session) == before
    sync_all(db_session)
    assert tasks(db_session) == before
    # From nothing (as after the migration): the same rows again, opened and closed at the records' arrival.
    with scope.acting_as(db_session, SYSTEM):
        begin_write(db_session)
        db_session.execute(Task.__table__.delete())
        db_session.commit()
    sync_all(db_session)
    assert sorted(t[1:] for t in tasks(db_session)) == sorted(t[1:] for t in before)


def test_the_task_goes_with_its_case(client, handoff, db_session, admin):
    send(client, handoff, ORIGIN, "screening", "uuid:s1", SCREENING)
    assert len(tasks(db_session)) == 1
    assert client.delete("/v1/projects/1/forms/screening/submissions/uuid:s1", auth=admin).status_code == 200
    assert tasks(db_session) == []


def test_with_the_ministry_forms_the_intake_interview_opens_the_task(app, client, db_session):
    forms = publish_handoff(app, db_session, BUNDLED)
    screening = {k: v for k, v in SCREENING.items() if k not in ("home_province", "home_district")}
    send(client, forms, ORIGIN, "screening", "uuid:s1", screening)
    assert tasks(db_session) == []  # the screening does not ask where home is
    intake = {
        "case_code": CODE,
        "event_date": "2026-11-22",
        "scope_province": ORIGIN,
        "consent_sharing": "yes",
        "home_province": HOME,
        "home_district": "1305",
        "person_given_lo": NAME,
    }
    send(client, forms, ORIGIN, "case_intake", "uuid:i1", intake)
    task = one_task(db_session)
    assert (task.status, task.home_province, task.home_district, task.origin_province) == ("open", HOME, "1305", ORIGIN)
    assert "interviewed 2026-11-22" in task.summary and NAME not in task.summary
    send(client, forms, HOME, "followup", "uuid:f1", FOLLOWUP)
    assert one_task(db_session).status == "closed"


def test_a_followup_naming_the_home_from_another_provinces_tablet_changes_nothing_of_the_home(
    client, handoff, db_session
):
    """Issue 16: the origin's tablet sends a follow-up answering the home province. It is kept in the origin
    province with its claim, and neither closes the home's task nor moves the case or its identity there."""
    from ingest.models import Case, Submission
    from ingest.person_models import CaseIdentity

    send(client, handoff, ORIGIN, "screening", "uuid:s1", SCREENING)
    sent = send(client, handoff, ORIGIN, "followup", "uuid:forged", FOLLOWUP)  # FOLLOWUP answers HOME
    assert b"kept in province 05" in sent.data
    task = one_task(db_session)
    assert (task.status, task.closed_by_id) == ("open", None)
    with scope.acting_as(db_session, SYSTEM):
        placed = db_session.execute(
            select(Submission.province_code, Submission.claimed_province).where(Submission.instance_id == "uuid:forged")
        ).one()
        assert tuple(placed) == (ORIGIN, HOME)
        assert db_session.scalar(select(Case.province_code).where(Case.case_code == CODE)) == ORIGIN
        assert db_session.scalar(select(CaseIdentity.province_code).where(CaseIdentity.case_code == CODE)) == ORIGIN
    send(client, handoff, HOME, "followup", "uuid:f1", FOLLOWUP)
    assert one_task(db_session).status == "closed"


# ------------------------------------------------------------------ one province rule for cases (issue 16)


def snapshot(db_session) -> tuple:
    """The register's rows, the tasks, the identities (without their build time) and the flagged records."""
    from ingest.models import Case, Submission
    from ingest.person_models import CaseIdentity

    db_session.rollback()
    with scope.acting_as(db_session, SYSTEM):
        cases = [tuple(r) for r in db_session.execute(select(Case.__table__).order_by(Case.id))]
        identities = [
            {k: v for k, v in r.items() if k != "built_at"}
            for r in db_session.execute(select(CaseIdentity.__table__).order_by(CaseIdentity.case_id)).mappings()
        ]
        flagged = list(
            db_session.scalars(
                select(Submission.instance_id).where(Submission.foreign_case.is_(True)).order_by(Submission.id)
            )
        )
    return [c[:-1] for c in cases], tasks(db_session), identities, flagged  # without the register's updated_at


#: A screening of the case from a province that is neither its origin nor its home: other answers, another
#: person, a home in its own province (which would make it owe nothing).
INTRUDER = {
    **SCREENING,
    "scope_province": OTHER,
    "gender": "Male",
    "age_band": "age_60_plus",
    "home_province": OTHER,
    "home_district": "0101",
    "full_name": "Somchai",
}


def test_a_record_of_a_province_outside_the_case_changes_nothing_of_it(client, handoff, db_session):
    from ingest.cases.tasks import sync_all
    from ingest.persons.identities import sync_identities
    from ingest.receiving.replay import replay_all

    send(client, handoff, ORIGIN, "screening", "uuid:s1", SCREENING)
    cases, before_tasks, identities, flagged = snapshot(db_session)
    assert flagged == [] and before_tasks[0][5] == "open"
    send(client, handoff, OTHER, "screening", "uuid:x1", INTRUDER)
    send(client, handoff, OTHER, "followup", "uuid:x2", {**FOLLOWUP, "scope_province": OTHER, "case_status": "Closed"})
    assert snapshot(db_session) == (cases, before_tasks, identities, ["uuid:x1", "uuid:x2"])
    # The home province's follow-up still joins and closes the task.
    send(client, handoff, HOME, "followup", "uuid:f1", FOLLOWUP)
    assert one_task(db_session).status == "closed" and one_task(db_session).origin_province == ORIGIN
    after = snapshot(db_session)
    assert after[3] == ["uuid:x1", "uuid:x2"]
    # Rebuilt from the raw records, by replay, the task sync and the identity sync: the same.
    replay_all(db_session)
    sync_all(db_session)
    sync_identities(db_session, 1)
    db_session.commit()
    assert snapshot(db_session) == after


def test_a_device_cannot_take_a_case_code_before_its_province_sends_it(client, handoff, db_session):
    # The code says where the case was opened: a record from elsewhere that arrives first does not open it.
    send(client, handoff, OTHER, "screening", "uuid:x1", INTRUDER)
    assert snapshot(db_session)[0] == [] and snapshot(db_session)[3] == ["uuid:x1"]
    send(client, handoff, ORIGIN, "screening", "uuid:s1", SCREENING)
    task = one_task(db_session)
    assert (task.origin_province, task.home_province, task.status) == (ORIGIN, HOME, "open")
    assert "Female" in task.summary and snapshot(db_session)[3] == ["uuid:x1"]


def test_a_code_without_the_province_opens_where_its_first_identifying_record_was_placed(client, handoff, db_session):
    code = "CASE-7"
    # A follow-up opens nothing: the screening that arrives after it still opens the case in its province.
    send(client, handoff, HOME, "followup", "uuid:f1", {**FOLLOWUP, "case_code": code})
    send(client, handoff, ORIGIN, "screening", "uuid:s1", {**SCREENING, "case_code": code})
    send(client, handoff, OTHER, "screening", "uuid:x1", {**INTRUDER, "case_code": code})
    task = one_task(db_session)
    assert (task.origin_province, task.home_province, task.status) == (ORIGIN, HOME, "open")
    assert snapshot(db_session)[3] == ["uuid:x1"]


def test_an_edit_that_takes_a_flagged_record_out_of_the_case_clears_its_flag(client, handoff, db_session):
    send(client, handoff, ORIGIN, "screening", "uuid:s1", SCREENING)
    send(client, handoff, OTHER, "screening", "uuid:x1", INTRUDER)
    assert snapshot(db_session)[3] == ["uuid:x1"]
    send(
        client, handoff, OTHER, "screening", "uuid:x1b", {**INTRUDER, "case_code": "01-0000beef"}, deprecated="uuid:x1"
    )
    cases, _tasks, _identities, flagged = snapshot(db_session)
    assert flagged == [] and sorted(c[2] for c in cases) == ["01-0000beef", CODE]
    send(client, handoff, OTHER, "screening", "uuid:x1c", {**INTRUDER, "case_code": ""}, deprecated="uuid:x1b")
    send(client, handoff, OTHER, "screening", "uuid:x1d", INTRUDER, deprecated="uuid:x1c")
    assert snapshot(db_session)[3] == ["uuid:x1"]
    send(client, handoff, OTHER, "screening", "uuid:x1e", {**INTRUDER, "case_code": ""}, deprecated="uuid:x1d")
    assert snapshot(db_session)[3] == []
