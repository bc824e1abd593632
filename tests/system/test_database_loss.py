"""PostgreSQL connections killed under gunicorn while tablets submit: 503 with Retry-After, never 500, and the
pool recovers by itself; every submission stored once (issue 16 item 7).

The backends are ended with pg_terminate_backend, as a PostgreSQL restart or failover ends them, and only those
of this test's own database.
"""

from __future__ import annotations

import os
import queue
import socket
import threading
import time
import uuid
from collections import Counter
from email.utils import formatdate
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select, text

from ingest.db import make_engine
from ingest.models import Submission, SubmissionVersion
from tests.conftest import DATA, make_instance
from tests.support.collect import Collect, multipart
from tests.support.live import LiveServer

#: Submissions of the load run, threads sending them, and rounds of killing: one after every POSTS // KILL_ROUNDS
#: answers, so the rounds fall among the submissions however fast the machine is.
POSTS, SENDERS, KILL_ROUNDS = 40, 8, 10
PHOTO = b"\xff\xd8" + os.urandom(20_000)
_OWN = "datname = current_database() AND pid <> pg_backend_pid()"


@pytest.fixture
def server(request, clean_db, tmp_path):
    if not clean_db.startswith("postgresql"):
        pytest.skip("pg_terminate_backend is PostgreSQL's")
    # A test may ask for another worker class (indirect parameter); by default the deployed one.
    worker = {"WORKER_CLASS": request.param} if hasattr(request, "param") else {}
    live = LiveServer(clean_db, tmp_path / "instance", workers=2, **worker).start()
    live.cli("forms", "publish", str(DATA / "sample_case.xlsx"))
    live.tablet_url = live.device_url(live.cli("devices", "create", "Kill tablet").stdout)
    yield live
    live.stop()


@pytest.fixture
def killer(clean_db):
    """A connection to the test database that ends every other backend of that database, and only of it."""
    engine = make_engine(clean_db, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0)
    with engine.connect() as conn:
        yield conn
    engine.dispose()


def terminate(conn) -> int:
    """End every other connection to this test's database; return how many."""
    return len(conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE {_OWN}")).all())


def stored(conn) -> Counter:
    """Count the stored submissions and their versions by instance ID."""
    rows = conn.execute(
        select(Submission.instance_id, func.count(SubmissionVersion.id))
        .join(SubmissionVersion, SubmissionVersion.submission_id == Submission.id)
        .group_by(Submission.instance_id)
    ).all()
    return Counter({instance_id: n for instance_id, n in rows})


def _answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


# gunicorn's own threads read the body, as this server's worker does under TLS: the request's transaction is open
# while the rest of the body is on its way (the buffering worker hands a thread only a whole request).
@pytest.mark.parametrize("server", ["gthread"], indirect=True)
def test_a_connection_killed_mid_submission_is_503_with_retry_after_and_the_retry_stores_it(server, killer):
    xml = make_instance(f"uuid:{uuid.uuid4()}")
    boundary, body = multipart(
        [("xml_submission_file", "x.xml", "text/xml", xml), ("photo.jpg", "photo.jpg", "image/jpeg", PHOTO)]
    )
    url = urlsplit(server.tablet_url)
    request = (
        f"POST {url.path}/submission?deviceID=collect:kill HTTP/1.1\r\nHost: {url.netloc}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {len(body)}\r\n"
        f"X-OpenRosa-Version: 1.0\r\nDate: {formatdate(usegmt=True)}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection((url.hostname, url.port), timeout=60) as sock:
        # Half the body: the device is signed in, its transaction open, while the rest is on its way.
        sock.sendall(request + body[: len(body) // 2])
        deadline = time.monotonic() + 60
        while not killer.scalar(
            text(f"SELECT count(*) FROM pg_stat_activity WHERE {_OWN} AND state = 'idle in transaction'")
        ):
            assert time.monotonic() < deadline, "the request never opened its transaction"
            time.sleep(0.05)
        assert terminate(killer) >= 1
        sock.sendall(body[len(body) // 2 :])
        status, headers, answer = _answer(sock)
    assert status == 503, answer
    assert headers["retry-after"] == "5" and headers["x-openrosa-version"] == "1.0"
    assert answer.startswith(
        b'<OpenRosaResponse xmlns="http://openrosa.org/http/response"><message nature="error">'
        b"The database is unavailable for a moment; nothing was stored."
    )
    assert stored(killer) == Counter()
    # The pool reconnects by itself: the tablet's retry is stored.
    assert Collect(server.tablet_url).submit(xml, {"photo.jpg": PHOTO}).status_code == 201
    assert stored(killer) == Counter({xml.split(b"<instanceID>")[1].split(b"<")[0].decode(): 1})
    assert "unhandled" not in server.log.read_text()


def test_connections_killed_while_tablets_submit_lose_and_duplicate_nothing(server, killer):
    ids = [f"uuid:{uuid.uuid4()}" for _ in range(POSTS)]
    work: queue.Queue = queue.Queue()
    for instance_id in ids:
        work.put(instance_id)
    answers: list = []
    answered = threading.Condition()
    final: dict[str, int] = {}

    def send() -> None:
        tablet = Collect(server.tablet_url, device_id=f"collect:{uuid.uuid4().hex[:16]}")
        while True:
            try:
                instance_id = work.get_nowait()
            except queue.Empty:
                return
            # Retried for as long as the answer is 503: the killing stops after KILL_ROUNDS, so each ends.
            while True:
                response = tablet.submit(make_instance(instance_id), {"photo.jpg": PHOTO})
                with answered:
                    answers.append((response.status_code, response.headers.get("Retry-After")))
                    answered.notify_all()
                if response.status_code != 503:
                    break
                time.sleep(0.05)  # Retry-After says 5 s; the pool is back at once, so the test does not wait
            final[instance_id] = response.status_code

    kills: list[int] = []

    def kill() -> None:
        # Every round comes: at least POSTS answers arrive, 503s counting too. The server's pool holds
        # connections from the first answer on, so the first round ends some (a later one may find none left).
        for round_ in range(1, KILL_ROUNDS + 1):
            with answered:
                answered.wait_for(lambda due=round_ * (POSTS // KILL_ROUNDS): len(answers) >= due)
            kills.append(terminate(killer))

    senders = [threading.Thread(target=send) for _ in range(SENDERS)]
    killing = threading.Thread(target=kill)
    killing.start()
    for thread in senders:
        thread.start()
    for thread in senders:
        thread.join(timeout=300)
    killing.join(timeout=60)
    tally = Counter(status for status, _ in answers)
    print(f"\n{POSTS} submissions, {len(kills)} kill rounds ending {sum(kills)} backends: answers {dict(tally)}")
    assert set(tally) <= {201, 503}, tally
    assert all(retry == "5" for status, retry in answers if status == 503)
    assert final == dict.fromkeys(ids, 201)
    assert stored(killer) == Counter(dict.fromkeys(ids, 1))  # none lost, none twice, one version each
    assert len(kills) == KILL_ROUNDS and kills[0] >= 1  # the pool held connections by the first round
    assert "unhandled" not in server.log.read_text()
