"""A real S3-compatible server for the media-store tests: moto's server, in its own process, on a free port.

Its own process, so that what it holds in memory never counts in the test's (tests/ingest/test_object_store.py
measures the test process's allocations while a large file goes up and comes back). Tests reach it over HTTP
through boto3, exactly as the server reaches a MinIO or AWS S3: nothing of boto3 is mocked.
"""

from __future__ import annotations

import io
import itertools
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

#: The two kinds of media store every parametrised media test runs on.
STORES = ["local", "s3"]
_BUCKETS = itertools.count()


@dataclass
class S3Server:
    """Where the test's object-storage server listens, and the credentials it takes (any: moto checks none)."""

    endpoint_url: str
    region: str = "us-east-1"
    access_key_id: str = "testing"
    secret_access_key: str = "testing"

    def client(self):
        """Return a boto3 client of this server."""
        import boto3  # the tests on a local folder never need it

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
        )

    def new_bucket(self) -> str:
        """Create an empty bucket of its own for one test and return its name."""
        name = f"media-{os.getpid()}-{next(_BUCKETS)}"
        self.client().create_bucket(Bucket=name)
        return name

    def settings(self, bucket: str) -> dict:
        """The app settings that put the media in `bucket`."""
        return {
            "MEDIA_STORE": "s3",
            "S3_ENDPOINT_URL": self.endpoint_url,
            "S3_BUCKET": bucket,
            "S3_REGION": self.region,
            "S3_ACCESS_KEY_ID": self.access_key_id,
            "S3_SECRET_ACCESS_KEY": self.secret_access_key,
        }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """Start moto's S3 server for this test session (one per xdist worker) and stop it at the end."""
    port = _free_port()
    log = tmp_path_factory.mktemp("moto") / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=2).close()
                break
            except OSError:
                assert server.poll() is None, Path(log).read_text(errors="replace")
                assert time.monotonic() < deadline, "moto's server did not start"
                time.sleep(0.1)
        yield S3Server(url)
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture
def media_settings(request) -> dict:
    """The app's media-store settings: a local folder (MEDIA_DIR, the default), or with the indirect parameter
    "s3" a fresh bucket of the test's S3 server (`pytest.mark.parametrize("media_settings", STORES,
    indirect=True)`)."""
    if getattr(request, "param", "local") == "local":
        return {}
    server = request.getfixturevalue("s3_server")
    return server.settings(server.new_bucket())


def make_store(kind: str, folder: Path, server: S3Server | None = None):
    """Return a media store of `kind` ("local" or "s3") whose folder (or spool folder) is `folder`."""
    from ingest.storage import FileStore

    if kind == "local":
        return FileStore(folder)
    from ingest.objectstore import S3Store  # boto3, only for the S3 tests

    assert server is not None
    settings = server.settings(server.new_bucket())
    return S3Store(
        settings["S3_BUCKET"],
        folder,
        endpoint_url=server.endpoint_url,
        region=server.region,
        access_key_id=server.access_key_id,
        secret_access_key=server.secret_access_key,
    )


@pytest.fixture(params=STORES)
def media_store(request, tmp_path):
    """A media store of each kind, its folder (the S3 store's spool) a fresh `tmp_path / "media"`."""
    server = request.getfixturevalue("s3_server") if request.param == "s3" else None
    return make_store(request.param, tmp_path / "media", server)


def stored_blobs(store) -> set[str]:
    """Return the sha256 of every blob a media store holds (its partial copies left out)."""
    local = store.local_path("0" * 64)
    if local is not None:
        return {p.name for p in store.root.rglob("*") if p.is_file() and not p.name.startswith(".")}
    pages = store.client.get_paginator("list_objects_v2").paginate(Bucket=store.bucket, Prefix=store.prefix)
    return {item["Key"].rsplit("/", 1)[-1] for page in pages for item in page.get("Contents", [])}


def age_blobs(store, seconds: float) -> None:
    """Make every blob of a media store look written `seconds` ago (object storage: its clock moves on)."""
    if store.local_path("0" * 64) is None:
        from datetime import UTC, datetime, timedelta

        store.clock = lambda: datetime.now(UTC) + timedelta(seconds=seconds)
        return
    when = time.time() - seconds
    for path in store.root.rglob("*"):
        if path.is_file():
            os.utime(path, (when, when))


class Zeros(io.RawIOBase):
    """A body of `size` bytes made as it is read, so that the test itself holds none of it
    (the memory tests of large uploads, on either store)."""

    def __init__(self, size: int):
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.left)
        buffer[:n] = b"\x5a" * n
        self.left -= n
        return n
