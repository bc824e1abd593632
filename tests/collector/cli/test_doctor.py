"""`collector doctor`: one line per check, exit 0 when all work, and 1 when any one of them is broken."""

from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from collector import create_app
from collector.cli import main
from ingest.models import Blob

LINES = ("database", "media store", "queue", "java", "disk space", "public URL")


@pytest.fixture
def answering(app):
    """Serve the test app over real HTTP and make that its public URL (as a reachable server's would be)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.config["PUBLIC_URL"] = f"http://127.0.0.1:{server.server_port}"
    yield app
    server.shutdown()


def doctor(app, *args: str):
    """Run `collector doctor` for `app`; return (exit status, {check: line})."""
    result = app.test_cli_runner().invoke(main, ["doctor", *args])
    lines = result.stdout.splitlines()
    by_check = {line.split(":", 1)[0].split("  ", 1)[1].strip(): line for line in lines}
    return result.exit_code, by_check


def test_a_healthy_server_passes_every_check_with_one_line_each(answering, db_session):
    status, lines = doctor(answering)
    assert list(lines) == list(LINES)
    assert status == 0, lines
    assert lines["database"].startswith("ok") and "migrations at head" in lines["database"]
    # Reachable, though only from this machine: said, but not a failure.
    assert lines["public URL"].startswith("warn") and "only this machine" in lines["public URL"]


def test_database_unreachable_fails(tmp_path, instance_path):
    app = create_app(
        {
            "DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/nothing",
            "MEDIA_DIR": str(tmp_path / "media"),
            "SECRET_KEY": "test",
            "PUBLIC_URL": "http://collect.test",
        }
    )
    status, lines = doctor(app)
    assert status == 1 and lines["database"].startswith("FAIL") and "not reachable" in lines["database"]
    assert "nobody@127.0.0.1:1" in lines["database"] and lines["media store"].startswith("ok")


def test_database_behind_its_migrations_fails(tmp_path, instance_path):
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}", "SECRET_KEY": "test"})
    status, lines = doctor(app)
    assert status == 1 and "migrations at none" in lines["database"] and "collector db upgrade" in lines["database"]


def test_media_store_not_writable_fails(answering, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    answering.config["MEDIA_DIR"] = str(blocker / "media")
    answering.extensions["collector.store"] = type(answering.extensions["collector.store"])(blocker / "media")
    status, lines = doctor(answering)
    assert status == 1 and lines["media store"].startswith("FAIL") and "not writable" in lines["media store"]


def test_queue_down_fails(answering):
    answering.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
    status, lines = doctor(answering)
    assert status == 1 and lines["queue"].startswith("FAIL") and "does not answer" in lines["queue"]


def test_java_missing_fails(answering, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    status, lines = doctor(answering)
    assert status == 1 and lines["java"].startswith("FAIL") and "apt-get install default-jre-headless" in lines["java"]


def test_disk_short_of_space_fails(answering):
    answering.config["DISK_MIN_FREE_MB"] = 10**12
    status, lines = doctor(answering)
    assert status == 1 and lines["disk space"].startswith("FAIL") and "DISK_MIN_FREE_MB" in lines["disk space"]


def test_public_url_unreachable_or_unknown_fails(answering):
    answering.config["PUBLIC_URL"] = "http://127.0.0.1:1"
    status, lines = doctor(answering)
    assert status == 1 and lines["public URL"].startswith("FAIL") and "does not answer" in lines["public URL"]
    answering.extensions["collector.public_url_origin"] = "default"
    status, lines = doctor(answering)
    assert status == 1 and "not known" in lines["public URL"]


def test_deep_checks_every_stored_files_sha256(answering, db_session):
    store = answering.extensions["collector.store"]
    kept, changed, lost = (store.put_bytes(f"file {n}".encode()) for n in range(3))
    for stored in (kept, changed, lost):
        db_session.add(Blob(sha256=stored.sha256, md5=stored.md5, size=stored.size))
    db_session.commit()
    status, lines = doctor(answering, "--deep")
    assert status == 0 and lines["blobs"].startswith("ok") and "3 stored file(s)" in lines["blobs"]

    store.path(changed.sha256).write_bytes(b"bit rot")
    store.path(lost.sha256).unlink()
    status, lines = doctor(answering, "--deep")
    assert status == 1 and "1 missing, 1 changed" in lines["blobs"]
    assert changed.sha256 in lines["blobs"] and lost.sha256 in lines["blobs"]
    assert "blobs" not in doctor(answering)[1]  # only with --deep
