"""A client that goes away in the middle of a large export, over real HTTP through gunicorn: the worker stops
reading records, frees its temporary files and logs exactly one line, without personal data."""

from __future__ import annotations

import base64
import os
import socket
import time
from pathlib import Path

import pytest

from tests.conftest import ADMIN_PASSWORD, make_instance
from tests.support.exports import _basic
from tests.support.live import LiveServer
from tests.support.openrosa import post

#: Records, and records per page in the live server: enough pages that the export outlasts the socket buffers.
RECORDS, BATCH = 60, 4
STOPPED = "stopped after"


def make_app(batch: int):
    """Build the app with small export pages (gunicorn loads `tests.system.test_export_disconnect:make_app(4)`)."""
    from collector import create_app
    from ingest.exports import walk as exports

    exports.BATCH = batch
    return create_app()


def _noise(size: int) -> str:
    """Return text that does not compress, so that the export is as large as the answers."""
    return base64.b64encode(os.urandom(size * 3 // 4)).decode()


@pytest.fixture
def big_form(client, device, admin):
    """Submit RECORDS records of about 350 KB each (a 200 KB name, six 25 KB route stops); return the names."""
    names = []
    for i in range(RECORDS):
        name = _noise(200_000)
        names.append(name)
        xml = make_instance(f"uuid:big-{i}", name=name, places=[(_noise(25_000), str(d)) for d in range(6)])
        assert post(client, device, xml).status_code == 201
    return names


def _read_a_little_and_go(live: LiveServer, path: str, auth: dict) -> bytes:
    """GET `path`, read the status line and a few KB of the body, and close the socket."""
    with socket.create_connection(("127.0.0.1", live.port), timeout=120) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
        sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {auth['Authorization']}\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        received = b""
        while len(received) < 16 * 1024:
            chunk = sock.recv(4096)
            assert chunk, received[:200]
            received += chunk
    return received


def _worker_temp_fds(live: LiveServer, tmpdir: Path) -> list[str]:
    """Return the worker's open files that live in the server's TMPDIR (unnamed temporary files included)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if (
                not proc.name.isdigit()
                or int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1]) != live.process.pid
            ):
                continue
            for fd in (proc / "fd").iterdir():
                target = os.readlink(fd)
                # gunicorn's own heartbeat file (an unlinked `wgunicorn-*`) lives there too.
                if target.startswith(str(tmpdir)) and not target.startswith(str(tmpdir / "wgunicorn-")):
                    found.append(target)
        except (FileNotFoundError, PermissionError, ProcessLookupError):
            continue
    return found


def _wait_for(condition, seconds: float = 30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def test_a_client_that_disconnects_mid_export_stops_it_frees_its_files_and_logs_one_line(clean_db, big_form, tmp_path):
    tmpdir = tmp_path / "server-tmp"
    tmpdir.mkdir()
    live = LiveServer(
        clean_db, tmp_path / "live", workers=1, app_module=f"tests.system.test_export_disconnect:make_app({BATCH})"
    )
    live.env["TMPDIR"] = str(tmpdir)
    live.start()
    try:
        auth = _basic("admin@example.la", ADMIN_PASSWORD)
        logged = []
        for suffix, fmt in (("csv.zip", "csv"), ("xlsx", "xlsx")):
            head = _read_a_little_and_go(live, f"/v1/projects/1/forms/sample_case/submissions.{suffix}", auth)
            assert head.startswith(b"HTTP/1.1 200"), head[:200]

            def stopped():
                return [line for line in live.log.read_text(errors="replace").splitlines() if STOPPED in line]

            assert _wait_for(lambda: len(stopped()) == len(logged) + 1), live.log.read_text()[-3000:]
            line = stopped()[-1]
            logged.append(line)
            assert line.startswith(f"Export of form sample_case ({fmt}) stopped after "), line
            count = int(line.split(STOPPED)[1].split()[0])
            if fmt == "csv":
                # The records are read page by page as the client takes them: most were never read.
                assert 0 < count < RECORDS, line
            else:
                # A workbook is whole before its first byte goes out; the client left while it streamed.
                assert count == RECORDS, line
            assert _wait_for(lambda: not any(tmpdir.iterdir()) and not _worker_temp_fds(live, tmpdir)), (
                list(tmpdir.iterdir()),
                _worker_temp_fds(live, tmpdir),
            )
        time.sleep(1)  # nothing more is logged afterwards
        log = live.log.read_text(errors="replace")
        assert len([line for line in log.splitlines() if STOPPED in line]) == 2, log[-3000:]
        assert "Traceback" not in log, log[-3000:]
        assert not any(name[:40] in log for name in big_form)
        # The server still answers after both.
        with socket.create_connection(("127.0.0.1", live.port), timeout=30) as sock:
            sock.sendall(
                b"GET /v1/projects HTTP/1.1\r\nHost: x\r\nAuthorization: "
                + auth["Authorization"].encode()
                + b"\r\nConnection: close\r\n\r\n"
            )
            assert sock.recv(64).startswith(b"HTTP/1.1 200")
    finally:
        live.stop()
