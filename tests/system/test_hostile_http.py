"""The submission path under attack, over real HTTP through gunicorn (issue 7), on both databases.

Each test reproduces a way found from outside to take the server down, and checks that legitimate
tablets are still served meanwhile. Time bounds are loose: they separate "answered" from "stalled".
"""

from __future__ import annotations

import base64
import select
import socket
import subprocess
import threading
import time
import uuid

import pytest
import requests

from tests.conftest import make_instance
from tests.support.collect import Collect, multipart
from tests.support.live import LiveServer

SECRET_EMAIL = "curious.insider@example.la"


@pytest.fixture
def live(clean_db, tmp_path):
    server = LiveServer(clean_db, tmp_path / "instance", workers=1, BODY_TIMEOUT=3, BODY_MIN_RATE=1024).start()
    yield server
    server.stop()


def workers(server: LiveServer) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(server.process.pid)], capture_output=True, text=True).stdout
    return sorted(int(pid) for pid in out.split())


def raw(server: LiveServer, data: bytes, timeout: float = 10) -> bytes:
    """Send bytes on a fresh connection and return what comes back before the server closes it."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except (TimeoutError, ConnectionResetError):
            pass
    return b"".join(chunks)


def submit(tablet: Collect, **kwargs) -> requests.Response:
    return tablet.submit(make_instance(f"uuid:{uuid.uuid4()}", **kwargs), {"photo.jpg": b"\xff\xd8" + bytes(2000)})


def test_malformed_header_line_does_not_kill_the_worker(live):
    tablet = Collect(live.sample_device())
    before = workers(live)
    for _ in range(5):
        answer = raw(live, b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: x\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 400"), answer[:100]
    assert workers(live) == before
    assert submit(tablet).status_code == 201


def test_logs_hold_no_token_and_no_user_name(live):
    base = live.sample_device()
    token = base.split("/key/", 1)[1].split("/", 1)[0]
    Collect(base).form_list()
    raw(live, f"GET /v1/key/{token}/projects/1/formList\r\nHost: x\r\n\r\n".encode())
    raw(live, f"GET /v1/test/{token}x/projects/1/forms/a/draft/formList HTTP/1.1 junk\r\nHost: x\r\n\r\n".encode())
    credentials = base64.b64encode(f"{SECRET_EMAIL}:wrong password".encode()).decode()
    requests.get(f"{live.url}/v1/projects?q={token}", headers={"Authorization": f"Basic {credentials}"}, timeout=10)
    time.sleep(0.5)
    logs = live.log.read_text() + (live.log.parent / "access.log").read_text()
    assert "formList" in logs  # the requests were logged, with the secrets taken out
    assert token not in logs
    assert SECRET_EMAIL not in logs


def test_slow_uploads_do_not_starve_other_tablets(live):
    tablet = Collect(live.sample_device())
    boundary = uuid.uuid4().hex
    head = (
        f"POST {live.url.split(str(live.port))[0]}{live.port}/v1/key/x/projects/1/submission HTTP/1.1\r\n"
        f"Host: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n"
        "Content-Length: 100000\r\n\r\n"
    ).encode()
    path = tablet.server_url.split(str(live.port), 1)[1]
    head = head.replace(b"/v1/key/x/projects/1", path.encode())
    dribblers = []
    answers: list[bytes] = []

    def dribble():
        with socket.create_connection(("127.0.0.1", live.port), timeout=30) as sock:
            sock.sendall(head + f"--{boundary}\r\n".encode())
            try:
                for _ in range(25):  # a byte a second, far below BODY_MIN_RATE, until the server answers
                    if select.select([sock], [], [], 1)[0]:
                        break
                    sock.sendall(b"x")
                answers.append(sock.recv(4096))
            except OSError:
                answers.append(b"closed")

    # More slow connections than a sync worker pool would have had processes (three took the server down).
    for _ in range(8):
        thread = threading.Thread(target=dribble)
        thread.start()
        dribblers.append(thread)
    time.sleep(1)
    start = time.monotonic()
    statuses = [submit(tablet).status_code for _ in range(10)]
    served_in = time.monotonic() - start
    assert statuses == [201] * 10
    assert served_in < 15, f"ten submissions took {served_in:.1f} s beside the slow uploads"
    for thread in dribblers:
        thread.join(timeout=40)
    # Each slow upload was stopped by the body deadline (408) rather than holding its thread for ever.
    assert len(answers) == 8
    assert all(a.startswith(b"HTTP/1.1 408") or a == b"closed" for a in answers), answers[:2]
    assert any(a.startswith(b"HTTP/1.1 408") for a in answers)


def test_slow_headers_do_not_starve_other_tablets(clean_db, tmp_path):
    """Clients that send their request line and headers a byte at a time, three times as many as there are
    threads: each is cut off at the header deadline, and a tablet is served meanwhile."""
    server = LiveServer(clean_db, tmp_path / "instance", workers=1, THREADS=4, HEADER_TIMEOUT=2).start()
    try:
        tablet = Collect(server.sample_device())
        closed_after: list[float] = []

        def dribble():
            with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
                started = time.monotonic()
                try:
                    for byte in b"GET /v1/projects HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"x" * 100:
                        sock.sendall(bytes([byte]))
                        if select.select([sock], [], [], 0.5)[0] and not sock.recv(4096):
                            break  # closed by the server
                except OSError:
                    pass
                closed_after.append(time.monotonic() - started)

        slow = [threading.Thread(target=dribble) for _ in range(12)]
        for thread in slow:
            thread.start()
        time.sleep(1)
        started = time.monotonic()
        statuses = [submit(tablet).status_code for _ in range(3)]
        served_in = time.monotonic() - started
        for thread in slow:
            thread.join(timeout=60)
        assert statuses == [201] * 3
        assert served_in < 15, f"three submissions took {served_in:.1f} s beside the slow headers"
        assert len(closed_after) == 12 and max(closed_after) < 20, closed_after
    finally:
        server.stop()


def test_a_complete_body_shorter_than_announced_is_400(live):
    """All parts arrive, then the client closes its side 17 bytes before its Content-Length: nothing stored."""
    tablet = Collect(live.sample_device())
    path = tablet.server_url.split(str(live.port), 1)[1]
    instance_id = f"uuid:{uuid.uuid4()}"
    boundary, body = multipart([("xml_submission_file", "i.xml", "text/xml", make_instance(instance_id))])
    head = (
        f"POST {path}/submission HTTP/1.1\r\nHost: x\r\nX-OpenRosa-Version: 1.0\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {len(body) + 17}\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", live.port), timeout=5) as sock:
        sock.sendall(head.encode() + body)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except TimeoutError:
            pass
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert b"cut short" in answer
    assert submit(tablet).status_code == 201
    listed = live.cli("submissions", "list", "sample_case").stdout
    assert instance_id not in listed


def test_many_unknown_leaves_are_refused_quickly_and_others_are_served(live):
    tablet = Collect(live.sample_device())
    bomb = make_instance(f"uuid:{uuid.uuid4()}").replace(b"<consent>", b"<a/>" * 160_000 + b"<consent>")
    result: dict = {}

    def send_bomb():
        started = time.monotonic()
        result["status"] = tablet.submit(bomb).status_code
        result["seconds"] = time.monotonic() - started

    thread = threading.Thread(target=send_bomb)
    thread.start()
    others = [submit(Collect(tablet.server_url, "collect:other")).status_code for _ in range(5)]
    thread.join(timeout=60)
    assert result["status"] == 400
    assert result["seconds"] < 20, result
    assert others == [201] * 5
    # Just under the cap, repeated leaves are all kept, in linear time.
    many = make_instance(f"uuid:{uuid.uuid4()}").replace(b"<consent>", b"<a>v</a>" * 19_000 + b"<consent>")
    started = time.monotonic()
    assert tablet.submit(many).status_code == 201
    assert time.monotonic() - started < 20


@pytest.mark.parametrize(
    "body",
    [
        b"zz\r\nabc\r\n0\r\n\r\n",  # not a chunk size
        b"5\r\nabcdeXX0\r\n\r\n",  # chunk without its terminator
    ],
)
def test_broken_chunked_body_is_400_and_the_server_stays_up(live, body):
    tablet = Collect(live.sample_device())
    path = tablet.server_url.split(str(live.port), 1)[1]
    boundary, _ = multipart([])
    answer = raw(
        live,
        (
            f"POST {path}/submission HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n\r\n"
        ).encode()
        + body,
    )
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert submit(tablet).status_code == 201
