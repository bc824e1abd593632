"""A passphrase envelope for a backup archive: scrypt for the key, AES-256-GCM in chunks, streamed both ways.

Format (all integers big-endian)::

    header  = b"CLBKENC1" | salt (16 bytes) | log2(N) (1) | r (1) | p (1) | nonce prefix (7) | key check (16)
    chunk   = length of the ciphertext (4) | ciphertext (plaintext of at most 1 MiB + a 16-byte tag)

The key is scrypt(passphrase, salt, N, r, p), 32 bytes. Chunk i is sealed with the nonce
``prefix | i (4 bytes) | 1 if it is the last chunk else 0`` and the whole header as associated data, so chunks
cannot be reordered, dropped, or taken from another archive, and an archive cut short lacks its last chunk.
The key check is the tag of sealing nothing under the nonce ``prefix | 0xFFFFFFFF | 2``: a wrong passphrase is
told apart from damaged data before anything is decrypted.
"""

from __future__ import annotations

import os
import struct
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

MAGIC = b"CLBKENC1"
CHUNK = 1024 * 1024
_TAG = 16
#: 2**15 x 8 x 128 bytes = 32 MiB of memory and a fraction of a second per derivation.
_LOG2_N, _R, _P = 15, 8, 1
_HEADER = struct.Struct(">8s16sBBB7s")
_LENGTH = struct.Struct(">I")


class EnvelopeError(Exception):
    """The passphrase is wrong, or the encrypted archive is damaged or cut short (the message says which)."""


def is_encrypted(head: bytes) -> bool:
    """Say whether a file starting with `head` (at least 8 bytes) is an encrypted archive."""
    return head.startswith(MAGIC)


def _key(passphrase: str, salt: bytes, log2_n: int, r: int, p: int) -> AESGCM:
    if not 10 <= log2_n <= 22 or not 1 <= r <= 32 or not 1 <= p <= 16:
        raise EnvelopeError("The archive's encryption header is damaged (impossible scrypt parameters).")
    kdf = Scrypt(salt=salt, length=32, n=2**log2_n, r=r, p=p)
    return AESGCM(kdf.derive(passphrase.encode("utf-8")))


def _nonce(prefix: bytes, index: int, flag: int) -> bytes:
    return prefix + struct.pack(">IB", index, flag)


class EncryptingWriter:
    """A write-only file object that seals what is written into `out`, chunk by chunk; `close()` seals the last."""

    def __init__(self, out: BinaryIO, passphrase: str):
        salt, self._prefix = os.urandom(16), os.urandom(7)
        self._header = _HEADER.pack(MAGIC, salt, _LOG2_N, _R, _P, self._prefix)
        self._aead = _key(passphrase, salt, _LOG2_N, _R, _P)
        check = self._aead.encrypt(_nonce(self._prefix, 0xFFFFFFFF, 2), b"", self._header)
        self._header += check
        self._out, self._buffer, self._index, self._closed = out, bytearray(), 0, False
        out.write(self._header)

    def write(self, data) -> int:
        self._buffer += data
        while len(self._buffer) > CHUNK:
            self._seal(bytes(self._buffer[:CHUNK]), last=False)
            del self._buffer[:CHUNK]
        return len(data)

    def _seal(self, plain: bytes, last: bool) -> None:
        sealed = self._aead.encrypt(_nonce(self._prefix, self._index, int(last)), plain, self._header)
        self._out.write(_LENGTH.pack(len(sealed)) + sealed)
        self._index += 1

    def close(self) -> None:
        """Seal what is buffered as the last chunk (the reader refuses an archive without it)."""
        if not self._closed:
            self._closed = True
            self._seal(bytes(self._buffer), last=True)
            self._buffer.clear()


class DecryptingReader:
    """A read-only file object giving back the plaintext of an encrypted archive, checking each chunk first."""

    def __init__(self, source: BinaryIO, passphrase: str):
        header = source.read(_HEADER.size + _TAG)
        if len(header) < _HEADER.size + _TAG or not is_encrypted(header):
            raise EnvelopeError("The archive is truncated: its encryption header is incomplete.")
        _magic, salt, log2_n, r, p, self._prefix = _HEADER.unpack(header[: _HEADER.size])
        self._aead = _key(passphrase, salt, log2_n, r, p)
        try:
            self._aead.decrypt(_nonce(self._prefix, 0xFFFFFFFF, 2), header[_HEADER.size :], header[: _HEADER.size])
        except InvalidTag:
            raise EnvelopeError("Wrong passphrase: the archive cannot be decrypted with it.") from None
        self._header = header
        self._source, self._buffer, self._offset, self._index, self.finished = source, b"", 0, 0, False

    def _next_chunk(self) -> bytes:
        length = self._source.read(_LENGTH.size)
        if len(length) < _LENGTH.size:
            raise EnvelopeError("The archive is truncated: its last encrypted chunk is missing.")
        (size,) = _LENGTH.unpack(length)
        if not _TAG <= size <= CHUNK + _TAG:
            raise EnvelopeError(f"The archive is corrupted: encrypted chunk {self._index} has an impossible length.")
        sealed = self._source.read(size)
        if len(sealed) < size:
            raise EnvelopeError("The archive is truncated: an encrypted chunk is cut short.")
        for last in (False, True):
            try:
                plain = self._aead.decrypt(_nonce(self._prefix, self._index, int(last)), sealed, self._header)
            except InvalidTag:
                continue
            self._index += 1
            if last:
                self.finished = True
                if self._source.read(1):
                    raise EnvelopeError("The archive is corrupted: there are bytes after its last chunk.")
            return plain
        raise EnvelopeError(f"The archive is corrupted: encrypted chunk {self._index} fails its integrity check.")

    def read(self, size: int = -1) -> bytes:
        # The plaintext of the current chunk and how far it has been read: no copy of its rest on every read.
        while not self.finished and (size < 0 or len(self._buffer) - self._offset < size):
            self._buffer = self._buffer[self._offset :] + self._next_chunk()
            self._offset = 0
        end = len(self._buffer) if size < 0 else min(len(self._buffer), self._offset + size)
        data = self._buffer[self._offset : end]
        self._offset = end
        return data

    def drain(self) -> None:
        """Read to the end, so that a missing last chunk or trailing bytes are noticed."""
        while not self.finished:
            self._next_chunk()
        self._buffer, self._offset = b"", 0
