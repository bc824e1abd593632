"""Faults during a load of tablets (issue 20 item 5): PostgreSQL stopped for some seconds, the media store made
read-only, its disk full, and SIGTERM to gunicorn while uploads are on their way.

While a fault lasts every answer is 503 with Retry-After, never 500 and never a hang past Collect's own time-outs;
the tablets (tests.support.faults.Load: HEAD then POST, waiting the Retry-After on a 503) then get their records
in; afterwards acknowledged = stored: each record once, its photo whole (sha256), no record without its file, no
file without its row, no partial copy left (tests.support.faults.audit).

The database outage stops a PostgreSQL cluster the test made for itself (tests.support.pgcluster), never the
shared server. The media faults need a tmpfs mounted by the test (root in the CI): root ignores file modes, so a
real read-only mount (EROFS) and a real full one (ENOSPC) are the only honest ways to make writes fail.

By default each load is small (seconds); COLLECTOR_FAULTS_FULL=1 runs the full size: more tablets and records,
larger photos, several outages of ten seconds.
"""

from __future__ import annotations

import errno
import os
import re
import signal
import socket
import subprocess
import time
from email.utils import formatdate
from urllib.parse import urlsplit

import pytest

from collector.cli import upgrade_database
from tests.support.collect import multipart
from tests.support.faults import Load, audit, make_records
from tests.support.live import LiveServer
from tests.support.pgcluster import Cluster

FULL = os.environ.get("COLLECTOR_FAULTS_FULL") == "1"
SIZE = (
    {"posts": 200, "senders": 8, "photo": 200_000, "outages": 3, "down": 10.0, "slow": 8, "tmpfs_mb": 96}
    if FULL
    else {"posts": 24, "senders": 4, "photo": 20_000, "outages": 1, "down": 1.0, "slow": 3, "tmpfs_mb": 16}
)


def check_answers(load: Load) -> None:
    """Every answer a 201 or a 503 with the server's (shortened) Retry-After; every record in at last."""
    tally = load.tally()
    print(f"\n{SIZE['posts']} records by {SIZE['senders']} tablets: answers {dict(tally)}")
    assert set(tally) <= {201, 503}, [a for a in load.answers if a.status not in (201, 503)][:5]
    assert all(a.retry_after == "1" for a in load.answers if a.status == 503)
    assert load.final == dict.fromkeys(load.records, 201)


def check_log(live: LiveServer) -> str:
    """No error escaped the app's handlers (theirs: `unhandled`; past them, gunicorn's own 500)."""
    log = live.log.read_text()
    assert "unhandled" not in log and "Error handling request" not in log
    return log


# --- PostgreSQL stopped during a load --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster():
    own = Cluster()  # skips when the server binaries are absent
    try:
        own.create()
        upgrade_database(own.url)
        yield own
    finally:
        own.destroy()


def test_postgresql_stopped_during_a_load_is_503_with_retry_after_and_every_record_gets_in_once(cluster, tmp_path):
    live = LiveServer(
        cluster.url, tmp_path / "instance", workers=2, DATABASE_RETRY_AFTER=1, VALIDATE_FORMS="false"
    ).start()
    try:
        load = Load(live.sample_device(), SIZE["posts"], SIZE["senders"], SIZE["photo"]).start()
        outages = SIZE["outages"]
        for n in range(outages):
            # Each outage falls among the records, whatever the machine's speed: after a share of them is in.
            load.wait_for(lambda answers, due=(n + 1) * SIZE["posts"] // (outages + 1): load.count(201) >= due)
            # `immediate` is a crash (no checkpoint; the next start replays the WAL); `fast` a clean stop.
            cluster.stop("immediate" if n % 2 == 0 else "fast")
            down = time.monotonic()
            # Down until every tablet has been refused at least once (and for `down` seconds at least).
            load.wait_for(lambda answers, since=down: load.count(503, since) >= SIZE["senders"])
            time.sleep(max(0.0, SIZE["down"] - (time.monotonic() - down)))
            cluster.start()
        load.join()
    finally:
        live.stop()
    check_answers(load)
    check_log(live)
    audit(cluster.url, tmp_path / "instance" / "media", load.records, set(load.records))


# --- The media store read-only, then full -------------------------------------------------------------------------


@pytest.fixture
def tmpfs(tmp_path):
    """A small tmpfs of the test's own, to make read-only or fill (skipped where mounting is not permitted)."""
    mount = tmp_path / "media"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SIZE['tmpfs_mb']}m,mode=0700", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or done.returncode}); the media faults need one")
    yield mount
    subprocess.run(["umount", "--lazy", str(mount)], check=False)


def remount(mount, mode: str) -> None:
    """Remount `mount` read-only or read-write. A read-only remount is refused (EBUSY) while a file is open for
    writing, as an upload's partial copy is: try again until the moment between two."""
    deadline = time.monotonic() + 60
    while True:
        done = subprocess.run(["mount", "-o", f"remount,{mode}", str(mount)], capture_output=True, text=True)
        if done.returncode == 0:
            return
        assert time.monotonic() < deadline, done.stderr
        time.sleep(0.005)


def fill(mount) -> None:
    """Fill the file system to its last byte."""
    with open(mount / ".filler", "wb", buffering=0) as filler:
        for size in (1 << 20, 4096, 1):
            try:
                while True:
                    filler.write(b"\0" * size)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc


def test_a_read_only_then_full_media_store_is_503_with_retry_after_and_every_record_gets_in_once(
    clean_db, tmpfs, tmp_path
):
    live = LiveServer(
        clean_db, tmp_path / "instance", workers=2, MEDIA_DIR=tmpfs, MEDIA_STORE_RETRY_AFTER=1, VALIDATE_FORMS="false"
    ).start()
    try:
        load = Load(live.sample_device(), SIZE["posts"], SIZE["senders"], SIZE["photo"]).start()
        load.wait_for(lambda answers: load.count(201) >= SIZE["posts"] // 3)
        remount(tmpfs, "ro")
        since = time.monotonic()
        load.wait_for(lambda answers: load.count(503, since) >= SIZE["senders"])
        remount(tmpfs, "rw")
        load.wait_for(lambda answers: load.count(201) >= 2 * SIZE["posts"] // 3)
        fill(tmpfs)
        since = time.monotonic()
        load.wait_for(lambda answers: load.count(503, since) >= SIZE["senders"])
        (tmpfs / ".filler").unlink()
        load.join()
    finally:
        live.stop()
    check_answers(load)
    log = check_log(live)
    assert "media store unavailable (Read-only file system)" in log
    assert "media store unavailable (No space left on device)" in log
    audit(clean_db, tmpfs, load.records, set(load.records))


# --- SIGTERM while uploads are on their way -------------------------------------------------------------------------


def test_sigterm_lets_uploads_in_flight_finish_and_refuses_new_connections(clean_db, tmp_path):
    live = LiveServer(clean_db, tmp_path / "instance", workers=1, VALIDATE_FORMS="false").start()
    try:
        url = urlsplit(live.sample_device())
        records = make_records(SIZE["slow"], SIZE["photo"])
        uploads = []
        for instance_id, (xml, photo) in records.items():
            boundary, body = multipart(
                [("xml_submission_file", "x.xml", "text/xml", xml), ("photo.jpg", "photo.jpg", "image/jpeg", photo)]
            )
            head = (
                f"{{method}} {url.path}/submission?deviceID=collect:sigterm HTTP/1.1\r\nHost: {url.netloc}\r\n"
                f"X-OpenRosa-Version: 1.0\r\nDate: {formatdate(usegmt=True)}\r\n"
            )
            sock = socket.create_connection((url.hostname, url.port), timeout=60)
            # Collect's HEAD probe first, on the connection the POST then uses: the worker has taken it.
            sock.sendall((head.format(method="HEAD") + "\r\n").encode())
            assert sock.recv(65536).startswith(b"HTTP/1.1 204")
            post = head.format(method="POST") + (
                f"Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n"
            )
            sock.sendall(post.encode() + body[: len(body) // 2])
            uploads.append((instance_id, sock, body[len(body) // 2 :]))
        time.sleep(0.2)  # the halves on their way in
        live.process.send_signal(signal.SIGTERM)
        # A new connection once the server is stopping: refused, or closed without being served; never a hang.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                # Collect's own time-out for a HEAD: a connection left waiting longer is a hang.
                with socket.create_connection((url.hostname, url.port), timeout=30) as late:
                    late.sendall(f"HEAD {url.path}/submission HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                    answer = late.recv(65536)
                # Until the worker has heard the signal it serves as before; a time-out here would be a hang.
                assert answer == b"" or answer.startswith((b"HTTP/1.1 204", b"HTTP/1.1 503")), answer[:100]
            except (ConnectionRefusedError, ConnectionResetError):
                break
            time.sleep(0.05)
        else:
            pytest.fail("the stopping server still accepts new connections")
        # The uploads in flight go on, slowly, and are answered 201.
        statuses = {}
        for _instance_id, sock, rest in uploads:
            for at in range(0, len(rest), 4096):
                sock.sendall(rest[at : at + 4096])
                time.sleep(0.002)
        for instance_id, sock, _rest in uploads:
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
            sock.close()
            statuses[instance_id] = int(data.split(b" ", 2)[1])
        assert live.process.wait(timeout=60) == 0
    finally:
        live.stop()  # already stopped: only closes its log
    assert statuses == dict.fromkeys(records, 201)
    check_log(live)
    audit(clean_db, tmp_path / "instance" / "media", records, set(records))


# --- A refused upload keeps its connection ----------------------------------------------------------------------------


def _response_head(sock: socket.socket, *, with_body: bool = True) -> bytes:
    """Read one response off a kept-alive connection; return its head (b"" when the server closed instead)."""
    data = b""
    while b"\r\n\r\n" not in data:
        if not (chunk := sock.recv(65536)):
            return data
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = re.search(rb"(?im)^content-length: *(\d+)", head) if with_body else None
    while length and len(rest) < int(length.group(1)):
        rest += sock.recv(65536)
    return head


def test_an_upload_refused_before_its_body_was_read_keeps_its_connection(clean_db, tmp_path):
    # Found by the full-size database outage: a 503 to a photo's upload (refused before the app read the body)
    # promised keep-alive, then gunicorn, which drains at most 64 kB of an unread body, closed the connection
    # under the tablet's next request ("Remote end closed connection without response"). A 403 does the same.
    if not clean_db.startswith("sqlite"):
        pytest.skip("the connection's handling reads no database: one run is enough")
    live = LiveServer(clean_db, tmp_path / "instance", workers=1, VALIDATE_FORMS="false").start()
    try:
        body = os.urandom(200_000)
        path = "/v1/key/no-such-token/projects/1/submission"
        with socket.create_connection(("127.0.0.1", live.port), timeout=30) as sock:
            sock.sendall(
                f"POST {path} HTTP/1.1\r\nHost: x\r\nX-OpenRosa-Version: 1.0\r\nContent-Length: {len(body)}\r\n"
                "Content-Type: multipart/form-data; boundary=b\r\n\r\n".encode()
                + body
            )
            first = _response_head(sock)
            assert first.startswith(b"HTTP/1.1 403") and b"connection: close" not in first.lower()
            sock.sendall(f"HEAD {path} HTTP/1.1\r\nHost: x\r\nX-OpenRosa-Version: 1.0\r\n\r\n".encode())
            assert _response_head(sock, with_body=False).startswith(b"HTTP/1.1 403")
    finally:
        live.stop()
    check_log(live)
