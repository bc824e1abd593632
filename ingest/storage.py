"""Content-addressed media store: files are kept under their sha256, never under a client's name."""
from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

_CHUNK = 1024 * 1024
#: A partial copy older than this belongs to a process that died mid-way (a copy takes seconds).
STALE_SECONDS = 3600
#: How often a running process looks for such leftovers.
SWEEP_EVERY_SECONDS = 600

logger = logging.getLogger(__name__)


_FLUSHER: ThreadPoolExecutor | None = None
_FLUSHER_LOCK = threading.Lock()


def _flusher() -> ThreadPoolExecutor:
    """Return this process's pool of threads that flush new files to disk (made after a fork, on first use)."""
    global _FLUSHER
    with _FLUSHER_LOCK:
        if _FLUSHER is None:
            _FLUSHER = ThreadPoolExecutor(max_workers=8, thread_name_prefix="media-fsync")
        return _FLUSHER


@dataclass(frozen=True)
class StoredFile:
    """What the store knows of a file it has written."""

    sha256: str
    md5: str
    size: int


@dataclass(frozen=True)
class PendingFile:
    """A file written to the store whose flush to disk may still be running."""

    stored: StoredFile
    flushed: Future

    def finish(self) -> StoredFile:
        """Wait until the file is on disk under its final name; return it.

        :raise OSError: the flush or the move failed (the partial copy is removed).
        """
        self.flushed.result()
        return self.stored


class FileStore:
    """Keep blobs in a folder as ``ab/abcdef...`` by sha256; writes are atomic renames."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self._next_sweep = 0.0

    def sweep(self, older_than: float = STALE_SECONDS) -> int:
        """Remove partial copies (`.incoming-*`) left by processes killed mid-upload; return how many."""
        self._next_sweep = time.monotonic() + SWEEP_EVERY_SECONDS
        removed = 0
        cutoff = time.time() - older_than
        for leftover in self.root.glob(".incoming-*") if self.root.is_dir() else ():
            try:
                if leftover.stat().st_mtime < cutoff:
                    leftover.unlink()
                    removed += 1
            except FileNotFoundError:
                pass  # another worker removed it first
        if removed:
            logger.info("removed %d partial upload(s) from the media store", removed)
        return removed

    def path(self, sha256: str) -> Path:
        """Return where the blob with this sha256 lives."""
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise ValueError("not a sha256 hex digest")
        return self.root / sha256[:2] / sha256

    def put_stream(self, stream: BinaryIO) -> StoredFile:
        """Copy a stream into the store chunk by chunk, hashing as it goes; return once it is on disk."""
        return self.start_put(stream).finish()

    def start_put(self, stream: BinaryIO) -> "PendingFile":
        """Copy a stream into a private temporary file and start making it durable in the background.

        The caller learns the file's digests at once and may record them (a database row, say) while the
        disk flushes; `PendingFile.finish()` waits for the flush and moves the file into place. Until then
        the file is invisible under its final name, so a crash never leaves a partial blob there.
        """
        if time.monotonic() >= self._next_sweep:
            self.sweep()
        self.root.mkdir(parents=True, exist_ok=True)
        sha, md5, size = hashlib.sha256(), hashlib.md5(), 0
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb", closefd=False) as out:
                while chunk := stream.read(_CHUNK):
                    sha.update(chunk)
                    md5.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
        except BaseException:
            os.close(fd)
            os.unlink(tmp)
            raise
        stored = StoredFile(sha.hexdigest(), md5.hexdigest(), size)
        return PendingFile(stored, _flusher().submit(self._settle, fd, tmp, stored.sha256))

    def _settle(self, fd: int, tmp: str, sha256: str) -> None:
        try:
            os.fsync(fd)
            final = self.path(sha256)
            final.parent.mkdir(exist_ok=True)
            os.replace(tmp, final)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        finally:
            os.close(fd)

    def put_bytes(self, data: bytes) -> StoredFile:
        """Store bytes held in memory (small files such as form media)."""
        import io

        return self.put_stream(io.BytesIO(data))

    def open(self, sha256: str) -> BinaryIO:
        """Open a stored blob for reading."""
        return self.path(sha256).open("rb")

    def exists(self, sha256: str) -> bool:
        """Say whether the blob's bytes are present."""
        return self.path(sha256).is_file()
