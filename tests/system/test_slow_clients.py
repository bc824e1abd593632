"""Slow clients against a gunicorn bound directly, with no nginx in front (issue 16, item 5).

Clients send their headers a byte every half second (reconnecting when cut off at the header deadline), or
bodies at 1,100 B/s, just above BODY_MIN_RATE (half with a Content-Length, half chunked), while a tablet
checks for and sends submissions with ODK Collect's own client time-outs (30 s for the HEAD, 60 s for the
POST). Every one of the tablet's tries must succeed within them; nothing is asserted on how long they
took, which is printed for the record.

By default the load is small but real (one worker of 4 threads against 12 slow-header and 12 slow-body
clients, three per thread each). COLLECTOR_FULL_LOAD=1 runs the issue's sizes against the default settings:
3 workers of 16 threads, 50 slow-header and 100 slow-body clients.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid

import pytest

from tests.conftest import make_instance
from tests.support.collect import Collect, multipart
from tests.support.live import LiveServer

FULL = os.environ.get("COLLECTOR_FULL_LOAD") == "1"
SIZES = (
    {"workers": 3, "threads": 16, "header_timeout": 20, "slow_headers": 50, "slow_bodies": 100}
    if FULL
    else {"workers": 1, "threads": 4, "header_timeout": 3, "slow_headers": 12, "slow_bodies": 12}
)
BODY_RATE = 1100  # bytes per second, just above BODY_MIN_RATE (1,024)


@pytest.fixture
def direct(clean_db, tmp_path):
    server = LiveServer(
        clean_db,
        tmp_path / "instance",
        workers=SIZES["workers"],
        THREADS=SIZES["threads"],
        HEADER_TIMEOUT=SIZES["header_timeout"],
    ).start()
    yield server
    server.stop()


def slow_headers(port: int, stop: threading.Event) -> None:
    """Send a request line and headers a byte every 0.5 s; when cut off, connect again."""
    head = b"GET /v1/projects HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"x" * 10_000
    while not stop.is_set():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                for byte in head:
                    sock.sendall(bytes([byte]))
                    if stop.wait(0.5):
                        return
        except OSError:
            stop.wait(0.1)


def slow_body(port: int, path: str, stop: threading.Event, chunked: bool) -> None:
    """Send a submission's headers at once, then its body (100 kB, or chunks of unknown length) at BODY_RATE;
    when cut off, start again."""
    boundary = uuid.uuid4().hex
    length = "Transfer-Encoding: chunked" if chunked else "Content-Length: 100000"
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-OpenRosa-Version: 1.0\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n{length}\r\n\r\n"
    ).encode()
    piece = b"x" * (BODY_RATE // 10)
    if chunked:
        piece = b"%x\r\n%s\r\n" % (len(piece), piece)
    while not stop.is_set():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.sendall(head)
                while not stop.wait(0.1):
                    sock.sendall(piece)
        except OSError:
            stop.wait(0.1)


def test_a_tablet_is_served_while_slow_clients_hold_connections(direct):
    tablet = Collect(direct.sample_device())
    path = tablet.server_url.split(str(direct.port), 1)[1] + "/submission?deviceID=collect:slow"
    stop = threading.Event()
    attackers = [
        threading.Thread(target=slow_headers, args=(direct.port, stop), daemon=True)
        for _ in range(SIZES["slow_headers"])
    ]
    attackers += [
        threading.Thread(target=slow_body, args=(direct.port, path, stop, n % 2 == 1), daemon=True)
        for n in range(SIZES["slow_bodies"])
    ]
    for thread in attackers:
        thread.start()
    try:
        time.sleep(SIZES["header_timeout"] + 1)  # past the first header deadline: the attackers reconnect
        timings, statuses = [], []
        for attempt in range(5):
            started = time.monotonic()
            head = tablet.head_submission()  # raises if not answered within 30 s
            photo = os.urandom(600_000 if attempt == 0 else 2000)  # the first spills to a temporary file
            posted = tablet.submit(make_instance(f"uuid:{uuid.uuid4()}"), {"photo.jpg": b"\xff\xd8" + photo})
            timings.append(round(time.monotonic() - started, 2))
            statuses.append((head.status_code, posted.status_code))
        # A chunked upload, sent in pieces, is read to its last chunk by the event loop and stored.
        instance = make_instance(f"uuid:{uuid.uuid4()}")
        boundary, body = multipart(
            [
                ("xml_submission_file", "i.xml", "text/xml", instance),
                ("photo.jpg", "photo.jpg", "image/jpeg", b"\xff\xd8" + os.urandom(300_000)),
            ]
        )
        chunked = tablet.http.post(
            tablet._url(f"{tablet.server_url}/submission"),
            data=(body[at : at + 7000] for at in range(0, len(body), 7000)),
            timeout=60,
            headers=tablet._headers({"Content-Type": f"multipart/form-data; boundary={boundary}"}),
        )
        assert chunked.status_code == 201, chunked.text
    finally:
        stop.set()
        for thread in attackers:
            thread.join(timeout=10)
    print(f"tablet tries beside {SIZES}: {timings} s")
    assert statuses == [(204, 201)] * 5
    # Headers too large to be a tablet's are refused by the event loop rather than handed to a thread.
    with socket.create_connection(("127.0.0.1", direct.port), timeout=10) as sock:
        sock.sendall(b"GET /v1/projects HTTP/1.1\r\nHost: x\r\nX-Big: " + b"x" * 70_000)
        assert sock.recv(4096).startswith(b"HTTP/1.1 431")
