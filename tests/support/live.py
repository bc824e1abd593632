"""Run the real service under gunicorn on a free port, and the collector CLI, as separate processes."""

from __future__ import annotations

import atexit
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """A gunicorn process serving the app, plus a way to run CLI commands against the same database."""

    def __init__(
        self, database_url: str, instance: Path, workers: int = 2, app_module: str = "collector.wsgi:app", **settings
    ):
        self.app_module = app_module
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "COLLECTOR_INSTANCE_PATH": str(instance),
            "COLLECTOR_PUBLIC_URL": self.url,
            "COLLECTOR_BIND": f"127.0.0.1:{self.port}",
            "WEB_CONCURRENCY": str(workers),
            "COLLECTOR_ACCESS_LOG": str(instance / "access.log"),
            "COLLECTOR_PERSON_MATCH_ON_SUBMIT": "false",
            **{f"COLLECTOR_{k}": str(v) for k, v in settings.items()},
        }
        self.log = instance / "gunicorn.log"
        self.process = None

    def start(self) -> LiveServer:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self._log_handle = self.log.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--config", str(ROOT / "deploy" / "gunicorn.conf.py"), self.app_module],
            cwd=ROOT,
            env=self.env,
            stdout=self._log_handle,
            stderr=subprocess.STDOUT,
        )
        # A fixture that fails after starting the server never reaches its stop(): stop it when pytest exits.
        atexit.register(self.stop)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self._log_handle.close()
                raise RuntimeError(f"gunicorn exited: {self.log.read_text()[-2000:]}")
            try:
                requests.get(f"{self.url}/v1/projects", timeout=5)
                return self
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.1)
        raise RuntimeError("gunicorn did not start in 30 s")

    def migrate(self) -> LiveServer:
        """Bring the server's database to the latest schema (for a fresh database)."""
        self.cli("db", "upgrade")
        return self

    def sample_device(self) -> str:
        """Publish the sample form, create a device for it, and return the device's OpenRosa base URL."""
        self.cli("forms", "publish", str(ROOT / "tests" / "data" / "sample_case.xlsx"))
        return self.device_url(self.cli("devices", "create", "Sample tablet").stdout)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process:
            self._log_handle.close()

    def cli(self, *args: str, check: bool = True, **env) -> subprocess.CompletedProcess:
        """Run `collector ARGS` against the server's database and instance folder."""
        result = subprocess.run(
            [sys.executable, "-m", "collector.cli", *args],
            cwd=ROOT,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=300,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"collector {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def device_url(self, output: str) -> str:
        """Pick the ODK Collect server URL out of `devices create` or `setup` output."""
        return next(line.split(": ", 1)[1] for line in output.splitlines() if "ODK Collect server URL" in line)
