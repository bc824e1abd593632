"""Content-addressed media store: files are kept under their sha256, never under a client's name."""

from __future__ import annotations

import fcntl
import hashlib
import io
import logging
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

_CHUNK = 1024 * 1024
#: Blob files written more recently than this are kept by `FileStore.remove` (an upload of the same bytes
#: may not have recorded its row yet).
STALE_SECONDS = 3600
#: A partial copy (`.incoming-*`) is locked by its writer (flock) from the moment it exists until it is moved
#: or removed; the lock dies with the process, even on SIGKILL. An unlocked copy younger than this may be one
#: whose writer has not yet taken the lock (the very next system call), so it waits for a later sweep.
FRESH_SECONDS = 60
#: How often a running web process looks for leftovers (`FileStore.start_sweeping`).
SWEEP_EVERY_SECONDS = 600

logger = logging.getLogger(__name__)


class StoreUnavailable(OSError):
    """The media store could not take or give back a file: a folder not writable, a full disk, object storage
    out of reach. Nothing was acknowledged; the client is asked to try again later (503 with Retry-After)."""


@contextmanager
def unavailable_on_error() -> Iterator[None]:
    """Turn an OSError of the store's own writes into `StoreUnavailable` (its errno and text kept)."""
    try:
        yield
    except StoreUnavailable:
        raise
    except OSError as exc:
        raise StoreUnavailable(exc.errno, exc.strerror or type(exc).__name__) from exc


_FLUSHER: ThreadPoolExecutor | None = None
_FLUSHER_LOCK = threading.Lock()


def _flusher() -> ThreadPoolExecutor:
    """Return this process's pool of threads that flush new files to disk (made after a fork, on first use)."""
    global _FLUSHER
    with _FLUSHER_LOCK:
        if _FLUSHER is None:
            _FLUSHER = ThreadPoolExecutor(max_workers=8, thread_name_prefix="media-fsync")
        return _FLUSHER


def _lock(fd: int) -> None:
    """Mark a partial copy as being written, for as long as `fd` is open (see `FileStore.sweep`)."""
    # Blocking: a sweep may hold the lock for the instant it takes to see that the copy is fresh.
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
    except OSError:
        pass  # no flock on this file system: the sweep goes by age alone


def _dead_copy(fd: int, cutoff: float) -> bool:
    """Say whether the partial copy open as `fd` is left by a dead writer and was last written before `cutoff`."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False  # an upload is writing it
    except OSError:
        # A file system without flock: only the age tells, as long as an upload could last.
        cutoff = min(cutoff, time.time() - STALE_SECONDS)
    return os.fstat(fd).st_mtime < cutoff


def _same_file(fd: int, path: Path) -> bool:
    """Say whether `path` still names the file open as `fd` (not another that took the name since)."""
    try:
        here, there = os.fstat(fd), os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def remove_partial(path: str | os.PathLike) -> None:
    """Remove a partial copy of a refused or failed upload. One that cannot be removed now (a disk the system
    remounted read-only mid-write) is left to the sweep: the failure being answered stays the store's (503)."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        logger.warning("partial copy left for the sweep (%s)", exc.strerror or type(exc).__name__)


def _unlink(path: Path) -> int:
    try:
        path.unlink()
    except FileNotFoundError:
        return 0  # another worker removed it first
    return 1


def is_digest(name: str) -> bool:
    """Say whether `name` is a sha256 hex digest, the only name a stored blob has."""
    return len(name) == 64 and all(c in "0123456789abcdef" for c in name)


@dataclass(frozen=True)
class StoredFile:
    """What the store knows of a file it has written."""

    sha256: str
    md5: str
    size: int


class PendingFile:
    """A file copied into the store under a temporary name, its flush to disk running in the background.

    The caller decides its fate: `finish()` moves it under its final name (before the commit that
    reports it stored), `discard()` removes it (the request was refused). Until then no reader sees it.
    """

    def __init__(self, stored: StoredFile, fd: int, tmp: str, final: Path):
        self.stored = stored
        self._fd, self._tmp, self._final = fd, tmp, final
        self._flushed: Future = _flusher().submit(os.fsync, fd)
        self._done = False

    def wait_flushed(self) -> None:
        """Wait until the bytes are on disk (the file keeps its temporary name).

        :raise OSError: the flush failed (the partial copy is removed).
        """
        try:
            with unavailable_on_error():
                self._flushed.result()
        except BaseException:
            self.discard()
            raise

    def finish(self) -> StoredFile:
        """Wait for the flush, then move the file under its final name; return it.

        :raise OSError: the flush or the move failed (the partial copy is removed).
        """
        if self._done:
            return self.stored
        self.wait_flushed()
        try:
            with unavailable_on_error():
                self._final.parent.mkdir(exist_ok=True)
                os.replace(self._tmp, self._final)
        except BaseException:
            self.discard()
            raise
        self._close()
        return self.stored

    def discard(self) -> None:
        """Remove the temporary copy (a blob already stored under the same digest is left alone)."""
        if self._done:
            return
        try:
            self._flushed.result()
        except BaseException:
            pass  # the flush failed; the copy goes all the same
        self._close()
        remove_partial(self._tmp)

    def _close(self) -> None:
        self._done = True
        os.close(self._fd)


def spool(folder: Path, stream: BinaryIO) -> tuple[int, str, StoredFile]:
    """Copy a stream chunk by chunk into a new locked `.incoming-*` file of `folder`, hashing as it goes.

    Return the open file's descriptor (its lock lasts while it is open), its name and its digests.

    :raise StoreUnavailable: the copy could not be written (the partial copy is removed).
    """
    with unavailable_on_error():
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".incoming-")
    sha, md5, size = hashlib.sha256(), hashlib.md5(), 0
    try:
        _lock(fd)
        with os.fdopen(fd, "wb", closefd=False) as out:
            # Reading the body may fail for the client's reasons; only the writes are the store's failures.
            while chunk := stream.read(_CHUNK):
                sha.update(chunk)
                md5.update(chunk)
                size += len(chunk)
                with unavailable_on_error():
                    out.write(chunk)
            with unavailable_on_error():
                out.flush()
    except BaseException:
        os.close(fd)
        remove_partial(tmp)
        raise
    return fd, tmp, StoredFile(sha.hexdigest(), md5.hexdigest(), size)


class Pending(Protocol):
    """A file copied for the store whose digests are known, not yet visible under its final name."""

    stored: StoredFile

    def wait_flushed(self) -> None: ...
    def finish(self) -> StoredFile: ...
    def discard(self) -> None: ...


class MediaStore(Protocol):
    """What the application asks of a media store: a local folder (`FileStore`) or object storage
    (`ingest.objectstore.S3Store`). Blobs are named by their sha256; writes that fail raise `StoreUnavailable`."""

    def sweep(self, fresh: float = FRESH_SECONDS) -> int: ...
    def start_sweeping(self, every: float = SWEEP_EVERY_SECONDS) -> threading.Event: ...
    def put_stream(self, stream: BinaryIO) -> StoredFile: ...
    def start_put(self, stream: BinaryIO) -> Pending: ...
    def put_bytes(self, data: bytes) -> StoredFile: ...
    def age(self, sha256: str) -> float | None: ...
    def remove(self, sha256: str, keep_newer_than: float = STALE_SECONDS) -> bool: ...
    def open(self, sha256: str) -> BinaryIO: ...
    def local_path(self, sha256: str) -> Path | None: ...
    def exists(self, sha256: str) -> bool: ...
    def open_sized(self, sha256: str) -> tuple[BinaryIO, int]: ...
    def is_empty(self) -> bool: ...
    def describe(self) -> str: ...
    def digests(self) -> Iterator[str]: ...


class FileStore:
    """Keep blobs in a folder as ``ab/abcdef...`` by sha256; writes are atomic renames."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self._next_sweep = 0.0

    def sweep(self, fresh: float = FRESH_SECONDS) -> int:
        """Remove partial copies (`.incoming-*`) of processes that died mid-upload; return how many.

        A copy whose writer is alive holds its lock and is never touched, however long its upload takes.
        """
        self._next_sweep = time.monotonic() + SWEEP_EVERY_SECONDS
        removed = 0
        cutoff = time.time() - fresh
        for leftover in self.root.glob(".incoming-*") if self.root.is_dir() else ():
            try:
                fd = os.open(leftover, os.O_RDONLY | os.O_NOFOLLOW)
            except OSError:
                continue  # moved into place or removed meanwhile, or not a plain file
            try:
                if _dead_copy(fd, cutoff) and _same_file(fd, leftover):
                    removed += _unlink(leftover)
            finally:
                os.close(fd)  # and with it the lock taken to look
        if removed:
            logger.info("removed %d partial upload(s) from the media store", removed)
        return removed

    def sweep_if_due(self) -> None:
        """Sweep when SWEEP_EVERY_SECONDS have passed since the last sweep (an upload is starting)."""
        if time.monotonic() >= self._next_sweep:
            try:
                self.sweep()
            except OSError as exc:  # the upload goes on; a store that cannot take it says so (StoreUnavailable)
                logger.warning("media store sweep failed (%s)", exc.strerror or type(exc).__name__)

    def start_sweeping(self, every: float = SWEEP_EVERY_SECONDS) -> threading.Event:
        """Sweep every `every` seconds on a daemon thread of this process; set the returned event to stop."""
        stop = threading.Event()

        def run() -> None:
            while not stop.wait(every):
                try:
                    self.sweep()
                except Exception as exc:  # a sweep that fails is tried again next time
                    logger.warning("media store sweep failed: %s", type(exc).__name__)

        threading.Thread(target=run, name="media-sweep", daemon=True).start()
        return stop

    def path(self, sha256: str) -> Path:
        """Return where the blob with this sha256 lives."""
        if not is_digest(sha256):
            raise ValueError("not a sha256 hex digest")
        return self.root / sha256[:2] / sha256

    def put_stream(self, stream: BinaryIO) -> StoredFile:
        """Copy a stream into the store chunk by chunk, hashing as it goes; return once it is on disk."""
        return self.start_put(stream).finish()

    def start_put(self, stream: BinaryIO) -> PendingFile:
        """Copy a stream into a private temporary file and start making it durable in the background.

        The caller learns the file's digests at once and may record them (a database row, say) while the
        disk flushes; `PendingFile.finish()` waits for the flush and moves the file into place. Until then
        the file is invisible under its final name, so a crash never leaves a partial blob there.
        """
        self.sweep_if_due()
        fd, tmp, stored = spool(self.root, stream)
        return PendingFile(stored, fd, tmp, self.path(stored.sha256))

    def put_bytes(self, data: bytes) -> StoredFile:
        """Store bytes held in memory (small files such as form media)."""
        return self.put_stream(io.BytesIO(data))

    def age(self, sha256: str) -> float | None:
        """Return how many seconds ago a blob's bytes were written, or None when they are not there."""
        try:
            return time.time() - self.path(sha256).stat().st_mtime
        except FileNotFoundError:
            return None

    def remove(self, sha256: str, keep_newer_than: float = STALE_SECONDS) -> bool:
        """Delete a blob's bytes, unless they were written in the last `keep_newer_than` seconds; say if deleted.

        The caller has already deleted the blob's row. A file written recently may belong to an upload of the
        same bytes that has not yet recorded its own row: it is kept. The file is first renamed aside, so that
        an upload replacing it at the same moment is either moved back or left in place, never lost.
        """
        path = self.path(sha256)
        aside = path.with_name(f".removing-{sha256}-{os.getpid()}-{threading.get_ident()}")
        try:
            os.rename(path, aside)
        except FileNotFoundError:
            return False
        if time.time() - aside.stat().st_mtime < keep_newer_than:
            os.replace(aside, path)  # the same bytes whichever copy wins
            return False
        aside.unlink()
        return True

    def open(self, sha256: str) -> BinaryIO:
        """Open a stored blob for reading.

        :raise FileNotFoundError: the blob's bytes are not there.
        """
        return self.path(sha256).open("rb")

    def local_path(self, sha256: str) -> Path | None:
        """Return the blob's file, for a web server to send it straight from disk."""
        return self.path(sha256)

    def exists(self, sha256: str) -> bool:
        """Say whether the blob's bytes are present."""
        return self.path(sha256).is_file()

    def open_sized(self, sha256: str) -> tuple[BinaryIO, int]:
        """Open a stored blob for reading and return it with its size in bytes.

        :raise FileNotFoundError: the blob's bytes are not there.
        """
        handle = self.open(sha256)
        return handle, os.fstat(handle.fileno()).st_size

    def digests(self) -> Iterator[str]:
        """Yield the sha256 of every blob the folder holds (never a partial copy or a file set aside)."""
        for folder in sorted(self.root.iterdir()) if self.root.is_dir() else ():
            if len(folder.name) == 2 and folder.is_dir():
                for path in folder.iterdir():
                    if is_digest(path.name) and path.name[:2] == folder.name:
                        yield path.name

    def is_empty(self) -> bool:
        """Say whether the folder holds no file at all (partial copies count: something is using it)."""
        return not (self.root.is_dir() and any(p.is_file() for p in self.root.rglob("*")))

    def describe(self) -> str:
        """Name the store for an operator (its folder)."""
        return str(self.root)
