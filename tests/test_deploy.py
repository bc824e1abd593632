"""Deployment scripts: a backup restores to the same data and files (SQLite; PostgreSQL uses pg_dump)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


def test_sqlite_backup_and_restore_round_trip(tmp_path):
    instance = tmp_path / "instance"
    (instance / "media" / "ab").mkdir(parents=True)
    (instance / "media" / "ab" / "abc").write_bytes(b"photo bytes")
    db = instance / "collector.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE t (x TEXT)")
        conn.execute("INSERT INTO t VALUES ('kept')")
    env = {**os.environ, "COLLECTOR_INSTANCE_PATH": str(instance)}
    env.pop("DATABASE_URL", None)
    out = subprocess.run(
        ["bash", str(DEPLOY / "backup.sh"), str(tmp_path / "backups")],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert oct(Path(out).stat().st_mode & 0o777) == "0o700"
    db.unlink()
    (instance / "media" / "ab" / "abc").unlink()
    subprocess.run(["bash", str(DEPLOY / "restore.sh"), out], env=env, capture_output=True, check=True)
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT x FROM t").fetchall() == [("kept",)]
    assert (instance / "media" / "ab" / "abc").read_bytes() == b"photo bytes"


@pytest.mark.parametrize(
    "name", ["gunicorn.conf.py", "collector.service", "collector-worker.service", "nginx.conf", "postgres-setup.sh"]
)
def test_deploy_files_exist(name):
    assert (DEPLOY / name).stat().st_size > 200


def test_nginx_buffers_bodies_so_slow_links_never_hold_a_gunicorn_thread():
    conf = (DEPLOY / "nginx.conf").read_text()
    assert "proxy_request_buffering on;" in conf
    assert "client_body_timeout" in conf and "proxy_request_buffering off" not in conf


def test_gunicorn_uses_threads_and_redacts_its_logs():
    import runpy

    settings = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    assert settings["worker_class"] == "collector.transport.worker.BufferingWorker" and settings["threads"] >= 4
    redact = settings["redact"]
    assert redact("GET /v1/key/SECRET/projects/1/formList?deviceID=x HTTP/1.1") == "GET /*/*/*/*/*/* HTTP/1.1"
    assert redact("Invalid HTTP Version: \"eq 'Khamla' HTTP/1.1\"") == "Invalid HTTP Version: '***'"
    assert redact(None) is None
