"""Deployment scripts: backup.sh and restore.sh wrap `collector backup` and `collector restore` (their proofs:
tests/collector/cli/test_backup.py)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


def test_sqlite_backup_and_restore_round_trip(tmp_path):
    instance, restored = tmp_path / "instance", tmp_path / "restored"
    env = {**os.environ, "COLLECTOR_INSTANCE_PATH": str(instance), "COLLECTOR": f"{sys.executable} -m collector.cli"}
    env.pop("DATABASE_URL", None)
    env.pop("COLLECTOR_MEDIA_DIR", None)
    env.pop("COLLECTOR_BACKUP_PASSPHRASE", None)
    subprocess.run([sys.executable, "-m", "collector.cli", "db", "upgrade"], env=env, check=True, capture_output=True)
    with sqlite3.connect(instance / "collector.sqlite3") as conn:
        conn.execute("INSERT INTO projects (id, name, created_at) VALUES (7, 'kept', '2026-12-01 00:00:00.000000')")
    out = subprocess.run(
        ["bash", str(DEPLOY / "backup.sh"), str(tmp_path / "backups")],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert oct(Path(out).stat().st_mode & 0o777) == "0o600"
    env["COLLECTOR_INSTANCE_PATH"] = str(restored)
    subprocess.run(["bash", str(DEPLOY / "restore.sh"), out], env=env, capture_output=True, check=True)
    with sqlite3.connect(restored / "collector.sqlite3") as conn:
        assert conn.execute("SELECT id, name FROM projects").fetchall() == [(7, "kept")]


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


def test_nginx_never_sends_a_post_to_a_second_host_and_drops_idle_connections_before_gunicorn_does():
    import re
    import runpy

    conf = (DEPLOY / "nginx.conf").read_text()
    assert re.search(r"upstream collector \{", conf) and conf.count("proxy_pass http://collector;") >= 3
    # nginx retries only idempotent requests on the next host unless told "non_idempotent": never tell it.
    retries = re.findall(r"^\s*proxy_next_upstream\s[^;]*;", conf, re.M)
    assert retries == ["    proxy_next_upstream error timeout;"], retries
    nginx_idle = int(re.search(r"keepalive_timeout (\d+)s;", conf).group(1))
    assert nginx_idle < runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))["keepalive"]
