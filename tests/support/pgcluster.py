"""A PostgreSQL cluster of the test's own (initdb + pg_ctl on a free port), which the test may stop and start.

Never the shared server: a test that stops this cluster stops nobody else's database. The cluster's folders
live in a private temporary folder owned by the `postgres` OS user, since initdb and postgres refuse to run as
root (the CI runs as root). fsync stays on: the fault tests claim that what was acknowledged is stored.
"""

from __future__ import annotations

import atexit
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.support.live import free_port

BIN = Path(os.environ.get("COLLECTOR_PG_BIN", "/usr/lib/postgresql/15/bin"))


def _as_postgres() -> list[str]:
    """The command prefix that runs a program as the `postgres` OS user (nothing when not root)."""
    if os.geteuid() != 0:
        return []
    return ["runuser", "-u", "postgres", "--"]


class Cluster:
    """One PostgreSQL cluster in a temporary folder, listening on 127.0.0.1 on a free port."""

    def __init__(self) -> None:
        missing = [name for name in ("initdb", "pg_ctl", "postgres") if not (BIN / name).is_file()]
        if missing:
            pytest.skip(f"PostgreSQL server binaries not found in {BIN} ({', '.join(missing)}; COLLECTOR_PG_BIN)")
        if os.geteuid() == 0:
            try:
                self._owner = pwd.getpwnam("postgres")
            except KeyError:
                pytest.skip("running as root and no `postgres` OS user to run initdb as")
            if not shutil.which("runuser"):
                pytest.skip("running as root and no runuser to run initdb as `postgres`")
        # Not below pytest's tmp folder: that one is private to root (0700) and postgres could not reach it.
        self.root = Path(tempfile.mkdtemp(prefix="collector-pg-"))
        self.data, self.sockets, self.log = self.root / "data", self.root / "sockets", self.root / "server.log"
        self.sockets.mkdir()
        if os.geteuid() == 0:
            for path in (self.root, self.sockets):
                os.chown(path, self._owner.pw_uid, self._owner.pw_gid)
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/collector"

    def _run(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*_as_postgres(), *args], capture_output=True, text=True, check=check, timeout=timeout, cwd=self.root
        )

    def create(self) -> Cluster:
        """initdb (trust on local connections only), start, and create the `collector` database."""
        # --no-sync only spares initdb's own final flush of the template files; the server keeps fsync on.
        self._run(str(BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
        self.start()
        atexit.register(self.destroy)  # a session that ends early does not leave the server running
        self._run(str(BIN / "psql"), "-h", str(self.sockets), "-p", str(self.port), "-U", "postgres", "-qc",
                  "CREATE DATABASE collector")  # fmt: skip
        return self

    def start(self) -> None:
        """Start the server and wait until it takes connections."""
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.sockets} "
            "-c max_connections=80 -c shared_buffers=16MB -c fsync=on -c synchronous_commit=on"
        )
        self._run(str(BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60",
                  "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (`immediate`: as a crash does, without a checkpoint; the next start replays the WAL)."""
        self._run(str(BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def running(self) -> bool:
        status = self._run(str(BIN / "pg_ctl"), "-D", str(self.data), "status", check=False)
        return status.returncode == 0

    def destroy(self) -> None:
        """Stop the server if it runs and remove every file of the cluster."""
        try:
            if self.data.exists() and self.running():
                self.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
