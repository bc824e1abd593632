"""The media store's partial copies (`.incoming-*`): swept when their writer is dead, never while it writes.

Run on both stores (`media_store`): a local folder, and object storage whose spool folder holds the copies.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ingest.storage import FileStore

ROOT = Path(__file__).resolve().parents[2]


def _leftover(folder: Path, name: str, age: float) -> Path:
    """Leave a partial copy as a killed process leaves it: no lock, last written `age` seconds ago."""
    path = folder / name
    path.write_bytes(b"half a photo")
    os.utime(path, (time.time() - age, time.time() - age))
    return path


class _Upload(io.RawIOBase):
    """A body that sweeps the store in the middle of its own copy, its copy backdated by two hours."""

    def __init__(self, store):
        self.store, self.reads, self.removed = store, 0, None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        self.reads += 1
        if self.reads == 1:
            _leftover(self.store.root, ".incoming-dead", age=120)
        if self.reads == 2:
            (copy,) = (p for p in self.store.root.glob(".incoming-*") if p.name != ".incoming-dead")
            os.utime(copy, (time.time() - 7200, time.time() - 7200))
            self.removed = self.store.sweep()
        if self.reads > 3:
            return 0
        buffer[:5] = b"bytes"
        return 5


def test_sweep_never_removes_a_copy_an_upload_is_still_writing(media_store):
    store = media_store
    upload = _Upload(store)
    stored = store.put_stream(upload)
    # The dead copy went; the live one, older than any age limit, stayed and was moved into place whole.
    assert upload.removed == 1 and not (store.root / ".incoming-dead").exists()
    with store.open(stored.sha256) as blob:
        assert blob.read() == b"bytes" * 3
    assert list(store.root.glob(".incoming-*")) == []


def test_a_fresh_unlocked_copy_waits_for_a_later_sweep(media_store):
    store = media_store
    store.root.mkdir(parents=True)
    fresh = _leftover(store.root, ".incoming-fresh", age=0)
    assert store.sweep() == 0 and fresh.exists()
    assert store.sweep(fresh=0) == 1 and not fresh.exists()


def test_a_killed_uploads_copy_is_swept_once_its_process_is_gone(tmp_path):
    # A process copying a body that never ends, as a worker does with a slow photo, then SIGKILLed.
    code = "import sys; from ingest.storage import FileStore; FileStore(sys.argv[1]).put_stream(sys.stdin.buffer)"
    writer = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], cwd=ROOT, stdin=subprocess.PIPE)
    try:
        writer.stdin.write(b"x" * (1024 * 1024 + 1))  # more than a chunk: the first one reaches the file
        writer.stdin.flush()
        deadline = time.monotonic() + 60
        while not any(p.stat().st_size for p in tmp_path.glob(".incoming-*")):
            assert writer.poll() is None and time.monotonic() < deadline, "the copy never started"
            time.sleep(0.05)
        (copy,) = tmp_path.glob(".incoming-*")
        os.utime(copy, (time.time() - 7200, time.time() - 7200))
        store = FileStore(tmp_path)
        assert store.sweep() == 0 and copy.exists()  # its writer lives: however old, it stays
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        assert store.sweep() == 1 and not copy.exists()
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
        writer.stdin.close()


def test_start_sweeping_sweeps_again_and_again_until_stopped(media_store):
    store = media_store
    store.root.mkdir(parents=True)
    stop = store.start_sweeping(every=0.01)
    try:
        for name in (".incoming-one", ".incoming-two"):
            copy = _leftover(store.root, name, age=120)
            deadline = time.monotonic() + 60
            while copy.exists():
                assert time.monotonic() < deadline, "no sweep came"
                time.sleep(0.01)
    finally:
        stop.set()


def _read_only_unlink(monkeypatch):
    """Make removing a partial copy fail as on a disk the system remounted read-only (EROFS)."""
    import errno

    real = os.unlink

    def unlink(path, *args, **kwargs):
        if ".incoming-" in os.fspath(path):
            raise OSError(errno.EROFS, "Read-only file system")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, "unlink", unlink)


def test_a_disk_gone_read_only_mid_write_is_store_unavailable_and_its_copy_is_left_to_the_sweep(tmp_path, monkeypatch):
    import pytest

    import ingest.storage
    from ingest.storage import StoreUnavailable

    store = FileStore(tmp_path)
    store.sweep_if_due()  # the first sweep is done
    # The kernel remounts a disk read-only after errors even with files open for writing: the next write fails,
    # and so does removing the partial copy. The answer must still be the store's failure (503), not a crash.
    monkeypatch.setattr(ingest.storage.os, "fdopen", lambda fd, mode, closefd: open("/dev/full", "wb"))  # noqa: SIM115
    _read_only_unlink(monkeypatch)
    with pytest.raises(StoreUnavailable):
        store.start_put(io.BytesIO(b"x" * 2_000_000))
    monkeypatch.undo()
    (left,) = tmp_path.glob(".incoming-*")
    assert store.sweep(fresh=0) == 1 and not left.exists()  # once the disk is writable again


def test_a_sweep_that_cannot_remove_does_not_stop_an_upload(tmp_path, monkeypatch):
    store = FileStore(tmp_path)
    _leftover(tmp_path, ".incoming-dead", age=120)
    _read_only_unlink(monkeypatch)
    stored = store.put_bytes(b"a photo")  # the sweep due at the first upload fails; the upload goes on
    monkeypatch.undo()
    with store.open(stored.sha256) as blob:
        assert blob.read() == b"a photo"
    assert (tmp_path / ".incoming-dead").exists()
