"""The per-worker caches of devices and forms (ingest/generations.py) under a real multi-worker gunicorn.

Every worker first serves the device and the form (so each has them cached); then the form is closed, opened
again and the device revoked through the command line, another process; every worker must answer the very next
request it gets by the new state. The access log names the worker (pid) that served each request, and new
connections are made until each of the three has served one, so the test does not depend on how the kernel
spreads connections over the workers.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from pathlib import Path

import pytest

from tests.conftest import DATA, make_instance
from tests.support.collect import Collect
from tests.support.live import LiveServer

WORKERS = 3


@pytest.fixture
def live(clean_db, tmp_path):
    server = LiveServer(clean_db, tmp_path / "instance", workers=WORKERS)
    # Only the worker's pid, the status and the method: enough to see who answered what.
    server.env["GUNICORN_CMD_ARGS"] = "--access-logformat '%(p)s %(s)s %(m)s'"
    server.start()
    server.cli("forms", "publish", str(DATA / "sample_case.xlsx"))
    server.tablet_url = server.device_url(server.cli("devices", "create", "Cached tablet").stdout)
    yield server
    server.stop()


def access_log(live) -> list[tuple[str, int, str]]:
    lines = Path(live.env["COLLECTOR_ACCESS_LOG"]).read_text(encoding="utf-8").splitlines()
    return [(pid, int(status), method) for pid, status, method in (line.split() for line in lines if line.strip())]


def every_worker(live, send) -> dict[str, set[int]]:
    """Call `send` on new connections until every worker has answered one; return {worker pid: statuses}."""
    start = len(access_log(live))
    answers: dict[str, set[int]] = defaultdict(set)
    for _ in range(200):
        send(Collect(live.tablet_url, device_id=f"collect:{uuid.uuid4().hex[:16]}"))
        answers.clear()
        for pid, status, method in access_log(live)[start:]:
            if method in ("POST", "HEAD"):
                answers[pid].add(status)
        if len(answers) == WORKERS:
            return dict(answers)
    raise AssertionError(f"only {len(answers)} of {WORKERS} workers answered 200 new connections")


def submit(tablet: Collect) -> None:
    tablet.submit(make_instance(f"uuid:{uuid.uuid4()}", photo=None))
    tablet.http.close()


def probe(tablet: Collect) -> None:
    tablet.head_submission()
    tablet.http.close()


def test_every_worker_sees_a_closed_form_and_a_revoked_device_at_once(live):
    assert set().union(*every_worker(live, submit).values()) == {201}

    live.cli("forms", "state", "sample_case", "closed")
    refused = every_worker(live, submit)
    assert all(statuses == {409} for statuses in refused.values()), refused

    live.cli("forms", "state", "sample_case", "open")
    assert all(statuses == {201} for statuses in every_worker(live, submit).values())

    live.cli("devices", "revoke", "1")
    for answers in (every_worker(live, probe), every_worker(live, submit)):
        assert all(statuses == {403} for statuses in answers.values()), answers
