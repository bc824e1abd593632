"""A deadline on reading a request's line and headers, for gunicorn's threaded workers.

gunicorn's gthread worker waits for a connection's first bytes in its event loop, but once they arrive a
thread reads the request line and headers with blocking reads and no overall limit: a client that sends
its headers a byte a second holds that thread for as long as it likes, and a few hundred such clients
hold them all (the app's body deadline, collector.transport.bodies, only starts once the headers are in). `install`
gives every request `seconds` to deliver its line and headers; past that the connection is closed as a
client that went away. Bodies are not affected: a 200 MB video over 3G still has the body deadline's time.

It wraps two methods of gunicorn (pinned in setup.cfg): `Message.__init__`, which parses the line and
headers, and `SocketUnreader.chunk`, the socket read beneath it. `tests/system/test_hostile_http.py` checks the
behaviour through a real gunicorn, so an upgrade that changes them fails there.
"""

from __future__ import annotations

import functools
import time

#: Default seconds a request has to deliver its request line and headers.
DEFAULT_SECONDS = 20.0


def install(seconds: float = DEFAULT_SECONDS) -> None:
    """Give every request read by this process `seconds` for its line and headers (idempotent)."""
    from gunicorn.http import errors, message, unreader  # gunicorn's internals, in its workers only

    if getattr(message.Message.__init__, "header_deadline", None) is not None:
        return
    parse_headers, read_chunk = message.Message.__init__, unreader.SocketUnreader.chunk

    @functools.wraps(parse_headers)
    def init(self, cfg, source, *args, **kwargs):
        source.header_deadline = time.monotonic() + seconds
        try:
            parse_headers(self, cfg, source, *args, **kwargs)
        finally:
            source.header_deadline = None

    @functools.wraps(read_chunk)
    def chunk(self, size_hint=None):
        deadline = getattr(self, "header_deadline", None)
        if deadline is None:
            return read_chunk(self, size_hint)
        left = deadline - time.monotonic()
        if left <= 0:
            raise errors.NoMoreData(b"")
        previous = self.sock.gettimeout()
        self.sock.settimeout(left)
        try:
            return read_chunk(self, size_hint)
        except TimeoutError:
            raise errors.NoMoreData(b"") from None
        finally:
            self.sock.settimeout(previous)

    init.header_deadline = seconds
    message.Message.__init__ = init
    unreader.SocketUnreader.chunk = chunk
