"""Media on S3-compatible object storage (AWS S3, MinIO, Ceph, Garage...): the same blobs, named by sha256.

A file is first copied, hashed, to a locked `.incoming-*` file of a local spool folder (its name is not known
before its last byte), then uploaded under ``ab/abcdef...`` with boto3's managed transfer: multipart above
`MULTIPART_BYTES`, each part read from the file as it is sent, never the whole file in memory. The object is
then checked: the store must answer for the file's size and the sha256 recorded with it. A PUT becomes visible
only once whole, so no reader ever sees half a blob. Reads stream the object's body. Every failure to reach
the store is `StoreUnavailable` (503 with Retry-After).
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import boto3
from boto3.exceptions import Boto3Error
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ingest.storage import (
    FRESH_SECONDS,
    STALE_SECONDS,
    SWEEP_EVERY_SECONDS,
    FileStore,
    StoredFile,
    StoreUnavailable,
    is_digest,
    remove_partial,
    spool,
)

#: Files larger than this go up in parts of this size (S3's smallest part is 5 MB).
MULTIPART_BYTES = 8 * 1024 * 1024
#: Metadata key holding the sha256 the object was written with (checked after each upload).
SHA_KEY = "sha256"
_MISSING = {"404", "NoSuchKey", "NotFound"}


#: What boto3 raises when the store cannot be reached or refuses (its managed transfers wrap a ClientError).
FAILURES = (BotoCoreError, ClientError, Boto3Error)


def _unavailable(exc: Exception) -> StoreUnavailable:
    # The type and the service's error code only: a message may quote a key or a URL with credentials.
    cause = exc if isinstance(exc, ClientError) else exc.__context__
    code = cause.response.get("Error", {}).get("Code", "") if isinstance(cause, ClientError) else ""
    return StoreUnavailable(None, f"object storage: {type(exc).__name__} {code}".strip())


def _missing(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code", "")) in _MISSING


class PendingUpload:
    """A spooled file whose digests are known; `finish()` uploads it, `discard()` forgets it.

    Nothing is sent before `finish()`: a request refused after the copy leaves no object behind.
    """

    def __init__(self, store: S3Store, stored: StoredFile, fd: int, tmp: str):
        self.stored, self._store, self._fd, self._tmp = stored, store, fd, tmp
        self._done = False

    def wait_flushed(self) -> None:
        """Nothing to wait for: the bytes become durable by the upload in `finish()`."""

    def finish(self) -> StoredFile:
        """Upload the file under its sha256 and check what the store then holds; return it.

        :raise StoreUnavailable: the upload or its check failed (the spooled copy is removed).
        """
        if self._done:
            return self.stored
        try:
            self._store.upload(self._tmp, self.stored)
        finally:
            self.discard()
        return self.stored

    def discard(self) -> None:
        """Remove the spooled copy."""
        if self._done:
            return
        self._done = True
        os.close(self._fd)
        remove_partial(self._tmp)


class S3Store:
    """Keep blobs in an S3 bucket as ``<prefix>ab/abcdef...`` by sha256; spool uploads in a local folder."""

    def __init__(
        self,
        bucket: str,
        spool_dir: str | os.PathLike,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        prefix: str = "",
        client: Any = None,
    ):
        self.bucket, self.prefix = bucket, prefix
        # Unset credentials and region: boto3's own chain (AWS_* variables, ~/.aws, an instance role).
        self.client = client or boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url or None,
            region_name=region or None,
            aws_access_key_id=access_key_id or None,
            aws_secret_access_key=secret_access_key or None,
            config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=60),
        )
        # The spool is a FileStore's folder: the same locked partial copies, swept the same way.
        self._spool = FileStore(spool_dir)
        self.root = self._spool.root
        #: The time `age` measures from (a test moves it forward rather than backdate objects).
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        self._transfer = TransferConfig(
            multipart_threshold=MULTIPART_BYTES, multipart_chunksize=MULTIPART_BYTES, max_concurrency=2
        )

    def key(self, sha256: str) -> str:
        """Return the object key of the blob with this sha256."""
        self._spool.path(sha256)  # refuses anything but a sha256 digest
        return f"{self.prefix}{sha256[:2]}/{sha256}"

    def sweep(self, fresh: float = FRESH_SECONDS) -> int:
        """Remove spooled copies of processes that died mid-upload; return how many."""
        return self._spool.sweep(fresh)

    def start_sweeping(self, every: float = SWEEP_EVERY_SECONDS) -> threading.Event:
        """Sweep the spool folder every `every` seconds on a daemon thread."""
        return self._spool.start_sweeping(every)

    def start_put(self, stream: BinaryIO) -> PendingUpload:
        """Copy a stream into the spool folder, hashing it; the upload waits for `PendingUpload.finish()`."""
        self._spool.sweep_if_due()
        fd, tmp, stored = spool(self.root, stream)
        return PendingUpload(self, stored, fd, tmp)

    def put_stream(self, stream: BinaryIO) -> StoredFile:
        """Copy a stream into the store; return once the object is stored and checked."""
        return self.start_put(stream).finish()

    def put_bytes(self, data: bytes) -> StoredFile:
        """Store bytes held in memory (small files such as form media)."""
        return self.put_stream(io.BytesIO(data))

    def upload(self, filename: str, stored: StoredFile) -> None:
        """Upload the file `filename` under `stored`'s sha256 (always: a fresh write also renews its age for `remove`),
        then check that the store holds that size and digest.

        :raise StoreUnavailable: the upload failed or the store holds something else.
        """
        key = self.key(stored.sha256)
        try:
            # By its name: boto3 then reads each part from the file as it sends it, where a file object would
            # have each part read into memory first.
            self.client.upload_file(
                filename,
                self.bucket,
                key,
                ExtraArgs={"Metadata": {SHA_KEY: stored.sha256}},
                Config=self._transfer,
            )
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        except FAILURES as exc:
            raise _unavailable(exc) from exc
        if head["ContentLength"] != stored.size or head.get("Metadata", {}).get(SHA_KEY) != stored.sha256:
            raise StoreUnavailable(None, "object storage holds other bytes than were sent")

    def _head(self, sha256: str) -> dict | None:
        try:
            return self.client.head_object(Bucket=self.bucket, Key=self.key(sha256))
        except ClientError as exc:
            if _missing(exc):
                return None
            raise _unavailable(exc) from exc
        except BotoCoreError as exc:
            raise _unavailable(exc) from exc

    def age(self, sha256: str) -> float | None:
        """Return how many seconds ago a blob was written, or None when it is not there."""
        head = self._head(sha256)
        if head is None:
            return None
        return (self.clock() - head["LastModified"]).total_seconds()

    def remove(self, sha256: str, keep_newer_than: float = STALE_SECONDS) -> bool:
        """Delete a blob, unless it was written in the last `keep_newer_than` seconds; say if deleted.

        An upload of the same bytes always writes the object again, renewing its age, so a blob that another
        request is about to record is kept (as `FileStore.remove` keeps a recent file).
        """
        age = self.age(sha256)
        if age is None or age < keep_newer_than:
            return False
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.key(sha256))
        except FAILURES as exc:
            raise _unavailable(exc) from exc
        return True

    def open(self, sha256: str) -> BinaryIO:
        """Open a stored blob for reading: its body streams from the store as it is read.

        :raise FileNotFoundError: the blob is not there.
        :raise StoreUnavailable: the store could not be reached.
        """
        return self.open_sized(sha256)[0]

    def open_sized(self, sha256: str) -> tuple[BinaryIO, int]:
        """Open a stored blob for reading (its body streams as it is read); return it with its size in bytes.

        :raise FileNotFoundError: the blob is not there.
        :raise StoreUnavailable: the store could not be reached.
        """
        try:
            found = self.client.get_object(Bucket=self.bucket, Key=self.key(sha256))
        except ClientError as exc:
            if _missing(exc):
                raise FileNotFoundError(f"blob {sha256[:12]} is not in the bucket") from None
            raise _unavailable(exc) from exc
        except BotoCoreError as exc:
            raise _unavailable(exc) from exc
        return found["Body"], found["ContentLength"]

    def is_empty(self) -> bool:
        """Say whether the bucket holds no object under the prefix.

        :raise StoreUnavailable: the store could not be reached.
        """
        try:
            listed = self.client.list_objects_v2(Bucket=self.bucket, Prefix=self.prefix, MaxKeys=1)
        except FAILURES as exc:
            raise _unavailable(exc) from exc
        return not listed.get("KeyCount", len(listed.get("Contents", [])))

    def digests(self) -> Iterator[str]:
        """Yield the sha256 of every blob in the bucket under the prefix, a page of keys at a time.

        :raise StoreUnavailable: the store could not be reached.
        """
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix):
                for item in page.get("Contents", []):
                    folder, _, name = item["Key"][len(self.prefix) :].partition("/")
                    if is_digest(name) and folder == name[:2]:
                        yield name
        except FAILURES as exc:
            raise _unavailable(exc) from exc

    def describe(self) -> str:
        """Name the store for an operator (its bucket and prefix)."""
        return f"s3://{self.bucket}/{self.prefix}"

    def local_path(self, sha256: str) -> Path | None:
        """No file on this machine: blobs are sent from `open()`'s stream."""
        return None

    def exists(self, sha256: str) -> bool:
        """Say whether the blob is in the bucket."""
        return self._head(sha256) is not None

    def check_bucket(self) -> None:
        """Make sure the bucket can be reached.

        :raise StoreUnavailable: it cannot.
        """
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except FAILURES as exc:
            raise _unavailable(exc) from exc
