"""Content-addressed media store: files are kept under their sha256, never under a client's name."""
from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class StoredFile:
    """What the store knows of a file it has written."""

    sha256: str
    md5: str
    size: int


class FileStore:
    """Keep blobs in a folder as ``ab/abcdef...`` by sha256; writes are atomic renames."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        """Return where the blob with this sha256 lives."""
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise ValueError("not a sha256 hex digest")
        return self.root / sha256[:2] / sha256

    def put_stream(self, stream: BinaryIO) -> StoredFile:
        """Copy a stream into the store chunk by chunk, hashing as it goes."""
        self.root.mkdir(parents=True, exist_ok=True)
        sha, md5, size = hashlib.sha256(), hashlib.md5(), 0
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(_CHUNK):
                    sha.update(chunk)
                    md5.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            digest = sha.hexdigest()
            final = self.path(digest)
            final.parent.mkdir(exist_ok=True)
            os.replace(tmp, final)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return StoredFile(digest, md5.hexdigest(), size)

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
