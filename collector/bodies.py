"""Read request bodies and parts with a size cap, refusing the excess with 413."""
from __future__ import annotations

from typing import BinaryIO

from flask import abort


def read_limited(stream: BinaryIO, limit: int, what: str) -> bytes:
    """Read at most `limit` bytes of `stream`; one byte more means the sender went over.

    :raise 413: the stream holds more than `limit` bytes.
    """
    data = stream.read(limit + 1)
    if len(data) > limit:
        abort(413, f"{what} is larger than {limit // (1024 * 1024)} MB.")
    return data
