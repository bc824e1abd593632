"""Write and read a backup archive: one tar stream holding the database snapshot, the media and a manifest.

Members, in this order::

    database.jsonl          every row of every table (see `snapshot`), forms and wrapped form keys included
    media/ab/abcdef...      each stored file (blob) the snapshot references, under its sha256, as in the store
    manifest.json           format, versions, rows per table, and the size and sha256 of every member above

The manifest comes last because it holds the digests of what was streamed before it; a restore checks every
member against it before it commits anything. Media files are content-addressed and never rewritten, and a
submission's files are in place before its row commits, so copying them *after* the snapshot gives every file
the snapshot references, however many submissions arrive meanwhile.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import json
import math
import os
import shutil
import tarfile
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import IO, BinaryIO

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from collector.ops.backup import envelope, snapshot
from ingest.db import utcnow
from ingest.storage import MediaStore

FORMAT, FORMAT_VERSION = "collector-backup", 1
DATABASE, MANIFEST = "database.jsonl", "manifest.json"
_COPY = 1024 * 1024
_MAX_MANIFEST = 64 * 1024 * 1024


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why, in one line, for an operator."""


class _Hashing:
    """A file object wrapper that hashes and counts what goes through it."""

    def __init__(self, raw):
        self.raw, self.sha256, self.size = raw, hashlib.sha256(), 0

    def write(self, data) -> int:
        self.sha256.update(data)
        self.size += len(data)
        return self.raw.write(data)

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.sha256.update(data)
        self.size += len(data)
        return data


def _info(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o600, int(time.time())
    return info


def backup(engine: Engine, store: MediaStore, out_path: Path, passphrase: str | None = None) -> dict:
    """Write a backup of the database behind `engine` and of `store` to `out_path`; return its manifest.

    The archive is written beside `out_path` under a temporary name and renamed at the end, so a backup that
    fails never leaves a file that looks complete.
    """
    out_path = Path(out_path)
    partial = out_path.with_name(f".{out_path.name}.partial")
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="collector-backup-")))
        # 1. The snapshot, hashed as it is written.
        with (work / DATABASE).open("wb") as raw:
            hashed = _Hashing(raw)
            revision, counts, blobs = snapshot.dump(engine, hashed)
        members = [{"name": DATABASE, "size": hashed.size, "sha256": hashed.sha256.hexdigest()}]
        # 2. The archive: written to a private file, through the envelope when there is a passphrase.
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        out_file: BinaryIO = stack.enter_context(os.fdopen(fd, "wb"))
        stack.callback(lambda: partial.unlink(missing_ok=True))
        sink = envelope.EncryptingWriter(out_file, passphrase) if passphrase else out_file
        with tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            with (work / DATABASE).open("rb") as data:
                tar.addfile(_info(DATABASE, members[0]["size"]), data)
            missing = _add_media(tar, store, blobs, members)
            manifest = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "created_at": utcnow().isoformat(),
                "collector_version": importlib.metadata.version("lao-atip-collector"),
                "schema_revision": revision,
                "database": engine.dialect.name,
                "encrypted": bool(passphrase),
                "rows": counts,
                "media_files": len(members) - 1,
                "missing_media": missing,
                "members": members,
            }
            body = json.dumps(manifest, indent=2).encode()
            tar.addfile(_info(MANIFEST, len(body)), io.BytesIO(body))
        if isinstance(sink, envelope.EncryptingWriter):
            sink.close()
        out_file.flush()
        os.fsync(out_file.fileno())
        os.replace(partial, out_path)
    return manifest


def _add_media(tar: tarfile.TarFile, store: MediaStore, blobs: list[str], members: list[dict]) -> list[str]:
    """Stream each blob into `tar`, hashing it; return the sha256 of those missing or not matching their name.

    A blob goes from the store (a file, or an object's body as it downloads) into the archive a piece at a
    time, never whole in memory.
    """
    missing = []
    for sha256 in blobs:
        try:
            handle, size = store.open_sized(sha256)
        except FileNotFoundError:
            missing.append(sha256)
            continue
        with handle:
            name = f"media/{sha256[:2]}/{sha256}"
            hashed = _Hashing(handle)
            tar.addfile(_info(name, size), hashed)
            members.append({"name": name, "size": size, "sha256": hashed.sha256.hexdigest()})
        if members[-1]["sha256"] != sha256:
            missing.append(sha256)  # the file on disk is damaged: its bytes are not the ones stored
    return missing


def open_archive(path: Path, passphrase: str | None, stack: ExitStack) -> IO[bytes]:
    """Open an archive for reading, through the envelope when it is encrypted."""
    try:
        raw = stack.enter_context(Path(path).open("rb"))  # noqa: SIM115  (closed by the caller's stack)
    except OSError as exc:
        raise BackupError(f"Cannot read {path}: {exc.strerror}.") from None
    head = raw.read(len(envelope.MAGIC))
    raw.seek(0)
    if not envelope.is_encrypted(head):
        return raw
    if not passphrase:
        raise BackupError(
            "The archive is encrypted: give its passphrase (--passphrase-file or COLLECTOR_BACKUP_PASSPHRASE)."
        )
    try:
        return envelope.DecryptingReader(raw, passphrase)  # type: ignore[return-value]
    except envelope.EnvelopeError as exc:
        raise BackupError(str(exc)) from None


def restore(engine: Engine, store: MediaStore, path: Path, passphrase: str | None = None) -> dict:
    """Restore the archive at `path` into the empty database of `engine` and the empty `store`; return its manifest.

    Refuses a database that is not migrated or holds any row, and a store that holds any file. Every member is
    checked against the manifest before the database is loaded, in one transaction; on any failure the files
    already written to the store are removed again, so nothing is left half-restored.
    """
    _check_empty(engine, store)
    written: list[str] = []
    try:
        with ExitStack() as stack:
            source = open_archive(path, passphrase, stack)
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="collector-restore-")))
            seen, manifest = _unpack(source, store, work / DATABASE, written)
            _check_manifest(manifest, seen, _revision(engine))
            with (work / DATABASE).open("rb") as lines, engine.begin() as conn:
                counts = snapshot.load(conn, lines)
                if {k: v for k, v in counts.items() if v} != {k: v for k, v in manifest["rows"].items() if v}:
                    raise BackupError("The archive is corrupted: its database rows do not match the manifest.")
    except BaseException as exc:
        try:
            _remove(store, written)
        except OSError as cleanup:
            raise BackupError(
                f"Restore failed ({exc}) and the files it wrote could not be removed ({cleanup.strerror}): the "
                f"database is unchanged; empty the media store {store.describe()} before trying again."
            ) from None
        if isinstance(exc, BackupError):
            raise
        if isinstance(exc, envelope.EnvelopeError):
            raise BackupError(str(exc)) from None
        if isinstance(exc, tarfile.TarError | EOFError | ValueError | KeyError):
            raise BackupError(f"The archive is truncated or corrupted ({type(exc).__name__}: {exc}).") from None
        if isinstance(exc, OSError):
            raise BackupError(
                f"{exc.strerror or exc}: nothing was restored (the database is unchanged, the files written were "
                "removed)."
            ) from None
        if isinstance(exc, SQLAlchemyError):
            raise BackupError(
                f"The database refused the restored rows ({type(exc).__name__}); nothing was committed."
            ) from None
        raise
    return manifest


def _revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return snapshot.revision(conn)


def _check_empty(engine: Engine, store: MediaStore) -> None:
    with engine.connect() as conn:
        if snapshot.revision(conn) is None:
            raise BackupError("The database is not migrated: run `collector db upgrade` first, then restore.")
        occupied = snapshot.first_rows(conn)
    if occupied:
        table, count = occupied
        raise BackupError(
            f"Refusing to restore: the database is not empty (table {table} has {count} rows); "
            "restore into a new, empty database."
        )
    if not store.is_empty():
        raise BackupError(
            f"Refusing to restore: the media store {store.describe()} is not empty; use an empty folder or bucket."
        )


def _unpack(source: IO[bytes], store: MediaStore, database: Path, written: list[str]) -> tuple[dict, dict]:
    """Read every member: the snapshot to `database`, media into `store`; return (digests seen, manifest)."""
    seen: dict[str, dict] = {}
    manifest = None
    with tarfile.open(fileobj=source, mode="r|") as tar:
        for info in tar:
            if not info.isfile() or info.name in seen or manifest is not None:
                raise BackupError(f"The archive is corrupted: unexpected member {info.name!r}.")
            stream = tar.extractfile(info)
            assert stream is not None  # a regular file
            hashed = _Hashing(stream)
            if info.name == DATABASE:
                with database.open("wb") as out:
                    shutil.copyfileobj(hashed, out, _COPY)
            elif info.name.startswith("media/"):
                sha256 = info.name.rsplit("/", 1)[-1]
                stored = store.put_stream(hashed)
                if stored.sha256 not in written:
                    written.append(stored.sha256)  # the store was empty: every file in it came from here
                if stored.sha256 != sha256:
                    raise BackupError(f"The archive is corrupted: media file {sha256} has other bytes.")
            elif info.name == MANIFEST:
                if info.size > _MAX_MANIFEST:
                    raise BackupError("The archive is corrupted: its manifest is implausibly large.")
                manifest = json.loads(hashed.read())
                continue
            else:
                raise BackupError(f"The archive is corrupted: unexpected member {info.name!r}.")
            if hashed.size != info.size:
                raise BackupError(f"The archive is truncated: member {info.name} is cut short.")
            seen[info.name] = {"name": info.name, "size": hashed.size, "sha256": hashed.sha256.hexdigest()}
    if isinstance(source, envelope.DecryptingReader):
        source.drain()  # the last chunk must be there, and nothing after it
    if manifest is None:
        raise BackupError("The archive is truncated: its manifest (the last member) is missing.")
    return seen, manifest


def _check_manifest(manifest: dict, seen: dict[str, dict], revision: str | None) -> None:
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError("This is not a collector backup archive of a format this version reads.")
    if manifest["schema_revision"] != revision:
        raise BackupError(
            f"The backup was made at schema revision {manifest['schema_revision']}, this database is at "
            f"{revision}: restore with the collector version that made it ({manifest['collector_version']})."
        )
    listed = {member["name"]: member for member in manifest["members"]}
    for name in listed.keys() | seen.keys():
        if listed.get(name) != seen.get(name):
            if name not in seen:
                raise BackupError(f"The archive is truncated: member {name} is missing.")
            raise BackupError(f"The archive is corrupted: member {name} does not match its sha256 in the manifest.")


def _remove(store: MediaStore, written: list[str]) -> None:
    """Take back the files a failed restore wrote (the store was empty before it), however recent."""
    for sha256 in written:
        store.remove(sha256, keep_newer_than=-math.inf)
        local = store.local_path(sha256)
        if local is None:
            continue
        try:
            local.parent.rmdir()
        except OSError:
            pass  # not empty: another file of this restore is still there, removed in its turn
