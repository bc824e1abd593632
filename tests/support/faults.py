"""Tablets sending records through a fault, and the audit of what was stored afterwards.

`Load` runs tablets (the Collect emulator) that probe with HEAD and POST each record with a photo, and on a 503
wait the Retry-After it gives and send again, until the answer is anything else. `audit` then holds the server
to its word: every acknowledged record stored exactly once with its files whole (sha256), no record without its
files, no file without its record.
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import requests
from sqlalchemy import select

from ingest.db import make_engine
from ingest.models import Blob, Submission, SubmissionAttachment, SubmissionVersion
from tests.conftest import make_instance
from tests.support.collect import Collect


@dataclass
class Answer:
    status: int | None  # None: no answer (connection refused or cut, time-out)
    retry_after: str | None
    at: float
    error: str = ""


def make_records(count: int, photo_bytes: int) -> dict[str, tuple[bytes, bytes]]:
    """Return `count` records (instance ID: (XML, photo)), each photo its own random bytes."""
    records = {}
    for _ in range(count):
        instance_id = f"uuid:{uuid.uuid4()}"
        records[instance_id] = (make_instance(instance_id), b"\xff\xd8" + os.urandom(photo_bytes))
    return records


@dataclass
class Load:
    """`posts` records, each with its own photo of `photo_bytes`, sent by `senders` tablets at once."""

    tablet_url: str
    posts: int
    senders: int
    photo_bytes: int = 20_000
    #: Longest wait a tablet honours (the server's Retry-After is set short in these tests; this caps a mistake).
    max_wait: float = 5.0
    records: dict[str, tuple[bytes, bytes]] = field(init=False)
    answers: list[Answer] = field(default_factory=list)
    final: dict[str, int | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.records = make_records(self.posts, self.photo_bytes)
        self._work: queue.Queue = queue.Queue()
        for instance_id in self.records:
            self._work.put(instance_id)
        self._answered = threading.Condition()
        self._threads = [threading.Thread(target=self._send, daemon=True) for _ in range(self.senders)]

    def start(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def join(self, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(timeout=max(0.1, deadline - time.monotonic()))
        assert not any(thread.is_alive() for thread in self._threads), "tablets still sending after the time allowed"

    def wait_for(self, predicate, timeout: float = 120) -> None:
        """Wait until `predicate(answers)` holds (answers so far, in order)."""
        with self._answered:
            assert self._answered.wait_for(lambda: predicate(self.answers), timeout=timeout), "the load stalled"

    def count(self, status: int | None, since: float = 0.0) -> int:
        return sum(1 for a in self.answers if a.status == status and a.at >= since)

    def _record(self, answer: Answer) -> None:
        with self._answered:
            self.answers.append(answer)
            self._answered.notify_all()

    def _send(self) -> None:
        tablet = Collect(self.tablet_url, device_id=f"collect:{uuid.uuid4().hex[:16]}")
        while True:
            try:
                instance_id = self._work.get_nowait()
            except queue.Empty:
                return
            xml, photo = self.records[instance_id]
            while True:
                try:
                    # Collect's order: a HEAD probe, then the POST (both within its 30 s and 60 s time-outs).
                    response = tablet.head_submission()
                    if response.status_code == 204:
                        response = tablet.submit(xml, {"photo.jpg": photo})
                except requests.RequestException as exc:  # no answer (a hang past the time-out): the record stops
                    self._record(Answer(None, None, time.monotonic(), f"{type(exc).__name__}: {exc}"[:300]))
                    self.final[instance_id] = None
                    break
                retry_after = response.headers.get("Retry-After")
                self._record(Answer(response.status_code, retry_after, time.monotonic()))
                if response.status_code != 503:
                    self.final[instance_id] = response.status_code
                    break
                time.sleep(min(float(retry_after or 1), self.max_wait))

    def tally(self) -> Counter:
        return Counter(a.status for a in self.answers)


def media_files(media: Path) -> tuple[dict[str, bytes], list[str]]:
    """Return the media store's blobs (name: bytes) and its partial copies (`.incoming-*`)."""
    blobs, partial = {}, []
    for path in media.rglob("*"):
        if path.is_file():
            if path.name.startswith(".incoming-"):
                partial.append(path.name)
            elif not path.name.startswith("."):
                blobs[path.name] = path.read_bytes()
    return blobs, partial


def audit(database_url: str, media: Path, records: dict[str, tuple[bytes, bytes]], acknowledged: set[str]) -> None:
    """Assert acknowledged = stored: each acknowledged record once, one version, its XML and photo whole; nothing
    stored that was not sent; no record without its file, no file without its row, no partial copy left."""
    engine = make_engine(database_url, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as conn:
            versions = conn.execute(
                select(Submission.instance_id, SubmissionVersion.xml_sha256, SubmissionVersion.id).join(
                    SubmissionVersion, SubmissionVersion.submission_id == Submission.id
                )
            ).all()
            files = conn.execute(
                select(SubmissionAttachment.submission_version_id, SubmissionAttachment.name, Blob.sha256).outerjoin(
                    Blob, Blob.id == SubmissionAttachment.blob_id
                )
            ).all()
            blob_rows = set(conn.scalars(select(Blob.sha256)))
    finally:
        engine.dispose()
    per_record = Counter(instance_id for instance_id, _, _ in versions)
    assert not {i for i, n in per_record.items() if n > 1}, "a record stored twice"
    assert set(per_record) <= set(records), "a record stored that no tablet sent"
    assert acknowledged <= set(per_record), f"acknowledged but not stored: {sorted(acknowledged - set(per_record))}"
    photos = {version_id: sha for version_id, name, sha in files if name == "photo.jpg"}
    on_disk, partial = media_files(media)
    for instance_id, xml_sha, version_id in versions:
        xml, photo = records[instance_id]
        assert xml_sha == hashlib.sha256(xml).hexdigest()
        # Half-stored would be a record whose file is missing, or whose file is not the bytes sent.
        assert photos.get(version_id) == hashlib.sha256(photo).hexdigest(), f"{instance_id}: photo missing"
    for name, data in on_disk.items():
        assert hashlib.sha256(data).hexdigest() == name, f"blob {name[:12]}… is not whole"
    assert set(on_disk) == blob_rows, (
        f"files without rows: {len(set(on_disk) - blob_rows)}, rows without files: {len(blob_rows - set(on_disk))}"
    )
    assert partial == [], f"partial copies left in the media store: {len(partial)}"
