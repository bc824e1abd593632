"""Concurrent duplicates over real HTTP: one stored submission, answers 201 or 409 only, never 500."""

from __future__ import annotations

import os
import threading
import uuid
from collections import Counter

import pytest
import requests
from sqlalchemy import func, select

from ingest.db import make_engine
from ingest.models import Submission, SubmissionVersion
from tests.conftest import DATA, make_instance
from tests.support.collect import Collect
from tests.support.live import LiveServer

#: Concurrent posts per burst; COLLECTOR_LOAD_POSTS raises it for a longer run.
POSTS = int(os.environ.get("COLLECTOR_LOAD_POSTS", "20"))


@pytest.fixture
def server(clean_db, tmp_path):
    live = LiveServer(clean_db, tmp_path / "instance", workers=4).start()
    live.cli("forms", "publish", str(DATA / "sample_case.xlsx"))
    live.tablet_url = live.device_url(live.cli("devices", "create", "Burst").stdout)
    yield live
    live.stop()


def burst(url: str, bodies: list[bytes], photo: bytes) -> Counter:
    """POST every body at the same moment from its own thread and tally the status codes."""
    barrier = threading.Barrier(len(bodies))
    results: list[int] = []

    def send(xml: bytes) -> None:
        tablet = Collect(url, device_id=f"collect:{uuid.uuid4().hex[:16]}")
        barrier.wait()
        try:
            results.append(tablet.submit(xml, {"photo.jpg": photo}).status_code)
        except requests.RequestException as exc:  # a dropped connection is a failure too
            results.append(type(exc).__name__)

    threads = [threading.Thread(target=send, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return Counter(results)


def stored(database_url: str, instance_id: str) -> tuple[int, int]:
    engine = make_engine(database_url)
    with engine.connect() as conn:
        subs = conn.scalar(select(func.count()).select_from(Submission).where(Submission.instance_id == instance_id))
        versions = conn.scalar(
            select(func.count()).select_from(SubmissionVersion).where(SubmissionVersion.instance_id == instance_id)
        )
    engine.dispose()
    return subs, versions


def test_identical_concurrent_posts_store_one_submission(server, clean_db):
    instance_id = f"uuid:{uuid.uuid4()}"
    tally = burst(server.tablet_url, [make_instance(instance_id)] * POSTS, b"\xff\xd8" + os.urandom(50_000))
    assert set(tally) <= {201, 409}, tally
    assert tally[201] >= 1
    assert stored(clean_db, instance_id) == (1, 1)


def test_conflicting_concurrent_posts_store_one_and_refuse_the_rest(server, clean_db):
    instance_id = f"uuid:{uuid.uuid4()}"
    bodies = [make_instance(instance_id, age=str(20 + n)) for n in range(POSTS)]
    tally = burst(server.tablet_url, bodies, b"\xff\xd8" + os.urandom(1000))
    assert tally == Counter({201: 1, 409: POSTS - 1}), tally
    assert stored(clean_db, instance_id) == (1, 1)
