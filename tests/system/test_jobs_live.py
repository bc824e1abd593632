"""Background person matching in a real deployment shape: gunicorn, the default thread (no Redis), and the
RQ queue with `collector worker` as its own process; records sent as ODK Collect sends them."""

from __future__ import annotations

import base64
import io
import time
import uuid

import pytest
import requests

from forms import BUNDLED_FORMS_DIR
from tests.support.jobs import RECORDS
from tests.support.live import LiveServer
from tests.support.retention import intake_instance
from tests.support.tasks import compiled

STAFF = ("national@example.la", "a long enough password")


def start(clean_db, tmp_path, **settings) -> LiveServer:
    live = LiveServer(
        clean_db, tmp_path / "instance", workers=2, PERSON_MATCH_ON_SUBMIT="true", VALIDATE_FORMS="false", **settings
    ).start()
    live.cli("forms", "publish", str(BUNDLED_FORMS_DIR / "case_intake.xlsx"))
    live.cli("users", "create", STAFF[0], "--role", "case-officer", COLLECTOR_PASSWORD=STAFF[1])
    live.tablet = live.device_url(live.cli("devices", "create", "Intake tablet").stdout)
    return live


def send(live, index: int) -> None:
    instance_id, values = RECORDS[index]
    xml = intake_instance(
        compiled(BUNDLED_FORMS_DIR / "case_intake.xlsx").fields, instance_id, status="Active", values=values
    )
    response = requests.post(
        f"{live.tablet}/submission",
        headers={"X-OpenRosa-Version": "1.0"},
        timeout=30,
        files={"xml_submission_file": ("submission.xml", io.BytesIO(xml), "text/xml")},
    )
    assert response.status_code == 201, response.text


def candidates(live) -> list[tuple[str, str]]:
    auth = "Basic " + base64.b64encode(f"{STAFF[0]}:{STAFF[1]}".encode()).decode()
    body = requests.get(
        f"{live.url}/v1/projects/1/persons/candidates", headers={"Authorization": auth}, timeout=30
    ).json()
    return [(c["a"]["caseCode"], c["b"]["caseCode"]) for c in body["candidates"]]


def wait_for(predicate, seconds: float = 90):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    return predicate()


@pytest.fixture
def on_a_thread(clean_db, tmp_path):
    live = start(clean_db, tmp_path)
    yield live
    live.stop()


def test_gunicorn_matches_on_its_own_thread_after_the_records_arrive(on_a_thread):
    for index in range(3):
        send(on_a_thread, index)
    assert wait_for(lambda: candidates(on_a_thread)) == [("01-aaaa1111", "13-bbbb2222")]


@pytest.fixture
def on_redis(clean_db, tmp_path):
    from redis import Redis

    name = f"test-live-{uuid.uuid4().hex[:12]}"
    live = start(clean_db, tmp_path, REDIS_URL="redis://127.0.0.1:6379/15", JOB_QUEUE=name)
    yield live
    live.stop()
    redis = Redis.from_url("redis://127.0.0.1:6379/15")
    for key in redis.scan_iter(f"*{name}*"):
        redis.delete(key)


def test_with_redis_the_records_wait_for_a_worker_process(on_redis):
    for index in range(3):
        send(on_redis, index)
    time.sleep(1)
    assert candidates(on_redis) == []  # queued, not run by the web process

    worker = on_redis.cli("worker", "--burst")

    assert worker.returncode == 0
    assert candidates(on_redis) == [("01-aaaa1111", "13-bbbb2222")]
