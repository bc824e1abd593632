"""Read request bodies with a size cap and a time limit, refusing the excess with 413 and the slow with 408."""

from __future__ import annotations

import socket
import threading
import time
from typing import BinaryIO

from flask import abort
from gunicorn.http.errors import NoMoreData, ParseException
from werkzeug.exceptions import BadRequest, RequestTimeout


def read_limited(stream: BinaryIO, limit: int, what: str) -> bytes:
    """Read at most `limit` bytes of `stream`; one byte more means the sender went over.

    :raise 413: the stream holds more than `limit` bytes.
    """
    data = stream.read(limit + 1)
    if len(data) > limit:
        abort(413, f"{what} is larger than {limit // (1024 * 1024)} MB.")
    return data


def _too_slow() -> RequestTimeout:
    return RequestTimeout(
        "The upload was too slow and was stopped. Nothing was stored; send it again when the connection is better."
    )


class _Watchdog:
    """One thread per process that stops reads past their deadline (a blocked read cannot check the clock).

    gunicorn's body reader keeps calling recv() until it has the bytes asked for, so a client sending a
    byte a second never makes one recv() wait long enough to time out. Shutting the socket's reading side
    makes the blocked recv() return at once; the request then answers 408.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._watched: dict[int, DeadlineInput] = {}
        self._thread: threading.Thread | None = None

    def watch(self, body: DeadlineInput) -> None:
        with self._lock:
            self._watched[id(body)] = body
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="body-deadlines", daemon=True)
                self._thread.start()

    def forget(self, body: DeadlineInput) -> None:
        with self._lock:
            self._watched.pop(id(body), None)

    def _run(self) -> None:
        while True:
            time.sleep(0.5)
            with self._lock:
                late = [body for body in self._watched.values() if body.left() <= 0]
            for body in late:
                body.expire()


_watchdog = _Watchdog()


class DeadlineInput:
    """A request body stream that a client must keep feeding at a minimum average rate.

    A body may take `grace` seconds plus one second for every `min_rate` bytes received so far. A tablet
    on a slow 3G link keeps well above that; a client dribbling a byte a second is stopped after about
    `grace` seconds, so it cannot hold a worker thread (and with it the service) for long. Under gunicorn
    each socket read also waits no longer than the time left, so a silent client is stopped on time.
    """

    def __init__(self, stream: BinaryIO, sock: socket.socket | None, grace: float, min_rate: float):
        self._stream = stream
        self._sock = sock
        self._grace = grace
        self._min_rate = min_rate
        self._start = time.monotonic()
        self._received = 0
        self.expired = False

    def left(self) -> float:
        """Return the seconds the body may still take, given what has arrived so far."""
        return self._start + self._grace + self._received / self._min_rate - time.monotonic()

    def expire(self) -> None:
        """Stop a read blocked past the deadline (called by the watchdog)."""
        self.expired = True
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RD)
            except OSError:
                pass

    def _call(self, method, *args):
        left = self.left()
        if left <= 0 or self.expired:
            raise _too_slow()
        if self._sock is not None:
            self._sock.settimeout(left)
            _watchdog.watch(self)
        try:
            data = method(*args)
        except TimeoutError:
            raise _too_slow() from None
        except (ParseException, NoMoreData, OSError) as exc:
            if self.expired:
                raise _too_slow() from None
            if isinstance(exc, OSError) and not isinstance(exc, NoMoreData):
                raise
            # gunicorn reads chunked bodies lazily: a bad chunk size or a missing terminator surfaces here.
            raise BadRequest(
                f"The upload's chunked encoding is broken or cut short ({type(exc).__name__}). Nothing was stored."
            ) from None
        finally:
            if self._sock is not None:
                _watchdog.forget(self)
        if self.expired:
            raise _too_slow()
        self._received += len(data)
        return data

    def read(self, size: int = -1) -> bytes:
        """Read up to `size` bytes within the time the body is allowed."""
        return self._call(self._stream.read, size)

    def readline(self, size: int = -1) -> bytes:
        """Read a line within the time the body is allowed."""
        return self._call(self._stream.readline, size)

    def __iter__(self):
        return iter(self.readline, b"")


class BodyDeadlineMiddleware:
    """Give every request body a deadline (see DeadlineInput); restore the socket's blocking mode after."""

    def __init__(self, app, grace: float, min_rate: float):
        self.app = app
        self.grace = grace
        self.min_rate = min_rate

    def __call__(self, environ, start_response):
        sock = environ.get("gunicorn.socket")
        environ["wsgi.input"] = DeadlineInput(environ["wsgi.input"], sock, self.grace, self.min_rate)
        try:
            return self.app(environ, start_response)
        finally:
            if sock is not None:
                try:
                    # gunicorn writes the response and waits for the next keep-alive request itself.
                    sock.settimeout(None)
                except OSError:
                    pass
