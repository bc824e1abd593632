"""Background jobs: a record that names a person starts an incremental person match, on a thread of the web
process or on an RQ queue on Redis (real Redis at 127.0.0.1:6379), folded while one waits, never failing the
submission."""

from __future__ import annotations

import logging
import uuid

import pytest
from sqlalchemy import func, select

from forms import BUNDLED_FORMS_DIR, find_media
from ingest.person_models import PersonCandidate, PersonMatchRun
from tests.conftest import make_instance
from tests.support.jobs import RECORDS
from tests.support.openrosa import post
from tests.support.retention import intake_instance


@pytest.fixture
def device(national_device):
    """The records here name several provinces: send them from a national tablet."""
    return national_device


@pytest.fixture
def intake(app, db_session, device):
    """case_intake published and assigned to the device; returns a function that sends one of RECORDS."""
    from ingest.accounts.users import assign_forms
    from ingest.publishing.versions import publish
    from tests.support.tasks import compiled

    path = BUNDLED_FORMS_DIR / "case_intake.xlsx"
    form = compiled(path)
    publish(db_session, app.extensions["collector.store"], 1, form, find_media(path, form.media))
    assign_forms(db_session, device, None)
    db_session.commit()
    client = app.test_client()

    def send(index: int) -> None:
        instance_id, values = RECORDS[index]
        xml = intake_instance(form.fields, instance_id, status="Active", values=values)
        response = post(client, device, xml)
        assert response.status_code == 201, response.data

    return send


def pairs(db_session) -> set[tuple[str, str]]:
    db_session.rollback()
    return set(db_session.execute(select(PersonCandidate.case_a, PersonCandidate.case_b)).all())


def runs(db_session) -> int:
    db_session.rollback()
    return db_session.scalar(select(func.count()).select_from(PersonMatchRun))


def test_a_named_record_starts_a_match_on_a_thread_and_the_pair_appears(app, db_session, intake):
    app.config["PERSON_MATCH_ON_SUBMIT"] = True
    intake(0)
    app.extensions["collector.jobs"].wait()
    assert runs(db_session) == 1 and pairs(db_session) == set()  # one named case: nothing to pair yet

    intake(1)
    intake(2)
    app.extensions["collector.jobs"].wait()

    assert pairs(db_session) == {("01-aaaa1111", "13-bbbb2222")}
    assert 2 <= runs(db_session) <= 3  # the third record's request may have been folded into the second's


def test_records_that_name_nobody_start_nothing(app, client, db_session, device, published_form):
    app.config["PERSON_MATCH_ON_SUBMIT"] = True
    assert post(client, device, make_instance("uuid:unnamed")).status_code == 201
    assert "collector.jobs" not in app.extensions and runs(db_session) == 0


def test_matching_on_submit_can_be_turned_off(app, db_session, intake):
    app.config["PERSON_MATCH_ON_SUBMIT"] = False
    intake(0)
    intake(1)
    assert "collector.jobs" not in app.extensions and runs(db_session) == 0


@pytest.fixture
def redis_app(app):
    """The app with its jobs on a queue of its own on the local Redis (database 15), emptied afterwards."""
    from redis import Redis

    name = f"test-{uuid.uuid4().hex[:12]}"
    app.config.update(PERSON_MATCH_ON_SUBMIT=True, REDIS_URL="redis://127.0.0.1:6379/15", JOB_QUEUE=name)
    yield app
    redis = Redis.from_url("redis://127.0.0.1:6379/15")
    for key in redis.scan_iter(f"*{name}*"):
        redis.delete(key)


def test_on_redis_requests_fold_while_a_match_waits_and_the_worker_runs_it(redis_app, runner, db_session, intake):
    from collector.jobs import redis_queue, request_person_match

    queue = redis_queue(redis_app)
    for index in range(3):
        intake(index)
    assert queue.count == 1  # three records, one waiting match: it will read all three

    result = runner.invoke(["worker", "--burst"])

    assert result.exit_code == 0, result.output
    assert queue.count == 0 and runs(db_session) == 1
    assert pairs(db_session) == {("01-aaaa1111", "13-bbbb2222")}
    # The job cleared the waiting mark when it started: the next named record queues a new match.
    with redis_app.app_context():
        request_person_match(1)
    assert queue.count == 1


def test_each_run_of_a_job_is_counted_under_its_id_so_a_second_run_shows(redis_app, runner, db_session, intake):
    from redis import Redis

    from collector.jobs import redis_queue, runs_key

    queue = redis_queue(redis_app)
    intake(0)
    (job,) = queue.jobs
    assert runner.invoke(["worker", "--burst"]).exit_code == 0
    redis = Redis.from_url("redis://127.0.0.1:6379/15")
    key = runs_key(redis_app.config["JOB_QUEUE"])
    assert redis.hgetall(key) == {job.id.encode(): b"1"} and redis.ttl(key) > 0
    # The same job put back on the queue (by hand, or after a worker died mid-job) runs again: it shows.
    queue.enqueue_job(job)
    assert runner.invoke(["worker", "--burst"]).exit_code == 0
    assert redis.hgetall(key) == {job.id.encode(): b"2"} and runs(db_session) == 2


def test_a_queue_that_is_down_costs_no_record(app, db_session, intake, caplog):
    app.config.update(PERSON_MATCH_ON_SUBMIT=True, REDIS_URL="redis://127.0.0.1:1/0")
    caplog.set_level(logging.WARNING, logger="collector.jobs")

    intake(0)

    assert "person match of project 1 not queued: ConnectionError" in caplog.text
    assert "ນ້ອຍ" not in caplog.text and "Noy" not in caplog.text


def test_the_worker_needs_redis(runner, app):
    result = runner.invoke(["worker", "--burst"])
    assert result.exit_code == 1 and "REDIS_URL is not set" in result.output
