"""Partial copies of killed uploads (`.incoming-*`) under gunicorn: removed at start-up and then periodically,
without waiting for the next upload (issue 16 item 8). tests/ingest/test_storage.py shows that a copy an upload
is still writing is never removed."""

from __future__ import annotations

import os
import time

import pytest

from tests.support.live import LiveServer


def _leftover(media, name: str):
    """Leave a partial copy as a SIGKILLed worker leaves it: unlocked, last written two minutes ago."""
    path = media / name
    path.write_bytes(b"half of a sensitive photo")
    os.utime(path, (time.time() - 120, time.time() - 120))
    return path


def test_partial_copies_go_at_start_up_and_then_on_the_sweeping_thread(clean_db, tmp_path):
    if not clean_db.startswith("sqlite"):
        pytest.skip("the sweep reads no database: one run is enough")
    instance = tmp_path / "instance"
    media = instance / "media"
    media.mkdir(parents=True)
    before = _leftover(media, ".incoming-before-start")
    server = LiveServer(clean_db, instance, workers=2, MEDIA_SWEEP_SECONDS=0.2).start()
    try:
        # The worker that answered start()'s first request swept when it started.
        assert not before.exists()
        later = _leftover(media, ".incoming-while-running")  # no upload comes after it
        deadline = time.monotonic() + 60
        while later.exists():
            assert time.monotonic() < deadline, "no periodic sweep came"
            time.sleep(0.05)
    finally:
        server.stop()
