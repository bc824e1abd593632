"""A gunicorn worker that reads each request whole before a thread serves it, as nginx does.

gunicorn's gthread worker hands a connection to a thread as soon as its first bytes arrive; the thread then
reads the headers and the body at whatever pace the client sends them. Slow clients (a header byte every
half second, or bodies at 1,100 B/s, just above BODY_MIN_RATE) hold every thread that way, and tablets
wait behind them. This worker keeps every connection in its event loop until the request line, the headers
and a body of announced length have all arrived: slow clients cost a socket and a buffer, never a thread,
and threads only ever serve complete requests, at loopback speed.

Limits, on the event loop (never on a thread):

- the request line and headers must arrive within COLLECTOR_HEADER_TIMEOUT seconds (default 20), and be at
  most HEAD_BYTES (64 kB; larger is 431);
- a body may take BODY_TIMEOUT seconds plus one second per BODY_MIN_RATE bytes received so far (so at most
  that per byte of its announced length: 60 s + 100 s for 100 kB at the defaults), else it is answered 408
  and closed;
- a body is held in memory up to MEMORY_BYTES (64 kB), then in a private temporary file (deleted when closed);
- each worker holds at most gunicorn's worker_connections (1,000) connections; past that, new ones wait in
  the listen queue.

Chunked bodies are read to their last chunk the same way (not decoded: gunicorn does that); a client that
sends `Expect: 100-continue` is told to go on by the event loop. Requests gunicorn will refuse anyway
(another transfer coding, a malformed length or chunk) and everything under TLS (which deploy/nginx.conf
terminates in front of gunicorn) are handed to a thread as gthread does; collector.transport.bodies' deadline bounds
how long they hold it.
"""

from __future__ import annotations

import errno
import re
import selectors
import tempfile
import time
from functools import partial

from gunicorn.http.unreader import SocketUnreader
from gunicorn.workers.gthread import TConn, ThreadWorker

from collector import config as defaults
from collector.transport.header_deadline import DEFAULT_SECONDS

#: Bytes of a body held in memory before the rest goes to a temporary file.
MEMORY_BYTES = 64 * 1024
#: Largest request line and headers; a larger head is refused (431) by the event loop.
HEAD_BYTES = 64 * 1024
_HEAD_END = b"\r\n\r\n"
_LENGTH = re.compile(rb"\r\ncontent-length[ \t]*:[ \t]*(\d{1,15})[ \t]*\r\n", re.I)
_CODED = re.compile(rb"\r\ntransfer-encoding[ \t]*:", re.I)
_CHUNKED = re.compile(rb"\r\ntransfer-encoding[ \t]*:[ \t]*chunked[ \t]*\r\n", re.I)
_CHUNK_SIZE = re.compile(rb"[0-9a-fA-F]{1,15}")
_EXPECT = re.compile(rb"\r\nexpect[ \t]*:", re.I)
_TOO_LARGE = b"HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
_CONTINUE = re.compile(rb"\r\nexpect[ \t]*:[ \t]*100-continue[ \t]*\r\n", re.I)
_MESSAGE = b"The upload was too slow and was stopped. Nothing was stored; send it again.\r\n"
_TOO_SLOW = (
    b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Type: text/plain\r\n"
    b"Content-Length: %d\r\n\r\n%s" % (len(_MESSAGE), _MESSAGE)
)


class _Prefetched(SocketUnreader):
    """The socket's unreader, serving first what the event loop already read into a temporary file."""

    def __init__(self, sock, spool, max_chunk=8192):
        super().__init__(sock, max_chunk)
        self.spool = spool

    def chunk(self, size_hint=None):
        if self.spool is not None:
            data = self.spool.read(min(max(size_hint or 0, 64 * 1024), self.max_body_chunk))
            if data:
                return data
            self.spool.close()
            self.spool = None
        return super().chunk(size_hint)


class _Reading:
    """What the event loop has read of one connection's next request."""

    def __init__(self, header_deadline: float):
        self.head = bytearray()
        self.head_end = -1
        self.needed = 0  # bytes of body still to come
        self.spool = None
        self.deadline = header_deadline
        self.body = False
        self.chunks = None
        self.whole = False  # the whole request, body included, is here (in memory or the spool)


class _Chunks:
    """Finds where a chunked body ends (RFC 9112, 7.1) without decoding it: gunicorn decodes it later."""

    LINE = 4096

    def __init__(self):
        self.line = bytearray()
        self.left = 0  # bytes of chunk data (and its CRLF) still to skip
        self.trailers = False
        self.done = self.broken = False

    def feed(self, data: bytes) -> None:
        at = 0
        while at < len(data) and not (self.done or self.broken):
            if self.left:
                step = min(self.left, len(data) - at)
                self.left -= step
                at += step
                continue
            end = data.find(b"\n", at)
            if end < 0:
                self.line += data[at:]
                self.broken = len(self.line) > self.LINE
                return
            line = bytes(self.line + data[at:end]).rstrip(b"\r")
            self.line.clear()
            at = end + 1
            if self.trailers:
                self.done = not line
                continue
            size = line.split(b";", 1)[0].strip()
            if not _CHUNK_SIZE.fullmatch(size):
                self.broken = True
            elif int(size, 16) == 0:
                self.trailers = True
            else:
                self.left = int(size, 16) + 2  # the data and the CRLF after it


class BufferingWorker(ThreadWorker):
    """gthread, except that a thread gets a connection only once its request has arrived whole."""

    def init_process(self):
        self.reading = {}
        super().init_process()

    def _settings(self):
        config = getattr(self.wsgi, "config", None) or {}

        return (
            float(config.get("BODY_TIMEOUT", defaults.BODY_TIMEOUT)),
            float(config.get("BODY_MIN_RATE", defaults.BODY_MIN_RATE)),
            int(config.get("MAX_SUBMISSION_BYTES", defaults.MAX_SUBMISSION_BYTES)),
        )

    def _read_whole(self, conn):
        """Keep `conn` on the event loop until its next request has arrived (or dispatch it at once)."""
        if self.cfg.is_ssl or not self.alive:
            conn.data_ready = False
            return super().enqueue_req(conn)
        conn.sock.setblocking(False)
        seconds = getattr(self, "header_timeout", DEFAULT_SECONDS)  # set by deploy/gunicorn.conf.py
        self.reading[conn] = _Reading(time.monotonic() + seconds)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_readable, conn))

    def accept(self, listener):
        try:
            client_sock, client_addr = listener.accept()
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        self._read_whole(TConn(self.cfg, client_sock, client_addr, listener.getsockname()))

    def _keepalive_after(self, conn, keepalive):
        """Keep the connection when the app left a body unread that is all here already.

        gunicorn drains an unread body at most 64 kB deep before it serves the next request on the connection,
        and otherwise closes it, after an answer that promised to keep it: a 503 to a photo's upload (refused
        before its body was read) closed the connection under a tablet about to send its next request on it.
        A body this worker read whole is in memory or its spool: reading the rest is local and quick.
        """
        if keepalive and getattr(conn, "whole", False):
            return bool(conn.parser.finish_body())
        return super()._keepalive_after(conn, keepalive)

    def set_accept_enabled(self, enabled):
        super().set_accept_enabled(enabled)
        if not enabled and not self.alive:
            # Stopping (SIGTERM): the arbiter has closed its copy of the listening sockets; closing this worker's
            # too lets the kernel refuse new connections at once, where they would otherwise wait unanswered in the
            # listen queue until the uploads in flight are done and the worker exits. Those go on meanwhile.
            for listener in self.sockets:
                listener.close()

    def on_client_socket_readable(self, conn, client):
        """A kept-alive connection's next request starts: read it whole too."""
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self._read_whole(conn)

    def _dispatch(self, conn):
        state = self.reading.pop(conn)
        self.poller.unregister(conn.sock)
        conn.prefetched = state
        conn.data_ready = True
        super().enqueue_req(conn)

    def _drop(self, conn, answer: bytes = b""):
        state = self.reading.pop(conn)
        try:
            self.poller.unregister(conn.sock)
        except (KeyError, ValueError, OSError):
            pass
        if state.spool is not None:
            state.spool.close()
        if answer:
            try:
                conn.sock.send(answer)
            except OSError:
                pass
        self.nr_conns -= 1
        conn.close()

    def _on_readable(self, conn, _sock):
        state = self.reading[conn]
        try:
            data = conn.sock.recv(256 * 1024)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            return self._drop(conn)
        if not data:  # the client closed its side: gunicorn and the app answer what arrived (400 if cut short)
            return self._dispatch(conn) if state.head else self._drop(conn)
        if not state.body:
            state.head += data
            end = state.head.find(_HEAD_END)
            if end < 0:
                if len(state.head) > HEAD_BYTES:  # never handed to a thread, which would wait for the rest
                    self._drop(conn, _TOO_LARGE)
                return
            head = bytes(state.head[: end + 2])
            length = _LENGTH.search(head)
            proceed = _CONTINUE.search(head)
            chunked = _CHUNKED.search(head) and b"\r\ncontent-length" not in head.lower()
            streamed = (_CODED.search(head) and not chunked) or (_EXPECT.search(head) and not proceed)
            unparsed = length is None and b"\r\ncontent-length" in head.lower()
            if streamed or unparsed:
                return self._dispatch(conn)  # malformed or unusual: a thread (and gunicorn) deal with it
            size = int(length.group(1)) if length else 0
            grace, rate, state.largest = self._settings()
            if size > state.largest:
                return self._dispatch(conn)  # refused with 413 before the body is read
            state.body = True
            if proceed and (size or chunked):
                try:  # the client waits for this before sending its body (gunicorn says it again later)
                    conn.sock.send(b"HTTP/1.1 100 Continue\r\n\r\n")
                except OSError:
                    return self._drop(conn)
            state.head_end = end + 4
            state.received = len(state.head) - state.head_end
            state.needed = size - state.received
            state.started, state.grace, state.rate = time.monotonic(), grace, rate
            if chunked:
                state.chunks = _Chunks()
                state.chunks.feed(bytes(state.head[state.head_end :]))
        else:
            if state.spool is None and len(state.head) + len(data) > MEMORY_BYTES:
                state.spool = tempfile.TemporaryFile()  # noqa: SIM115 (handed to the request)
            if state.spool is not None:
                state.spool.write(data)
            else:
                state.head += data
            state.needed -= len(data)
            state.received += len(data)
            if state.chunks is not None:
                state.chunks.feed(data)
        # collector.transport.bodies' rule: BODY_TIMEOUT, plus a second per BODY_MIN_RATE bytes received.
        state.deadline = state.started + state.grace + state.received / state.rate
        if state.chunks is not None:
            # Complete, or broken, or too large: gunicorn and the app take it from here (400, 413).
            ready = state.chunks.done or state.chunks.broken or state.received > state.largest
        else:
            ready = state.needed <= 0
        if ready:
            if state.spool is not None:
                state.spool.seek(0)
            state.whole = state.chunks is None or state.chunks.done
            self._dispatch(conn)

    def murder_pending(self):
        super().murder_pending()
        now = time.monotonic()
        for conn, state in list(self.reading.items()):
            if state.deadline <= now or (not self.alive and not state.body):  # stopping: no new requests
                self._drop(conn, _TOO_SLOW if state.body else b"")

    def handle(self, conn):
        state = getattr(conn, "prefetched", None)
        conn.whole = state is not None and state.whole
        if state is not None:
            conn.prefetched = None
            conn.sock.setblocking(True)
            conn.init()
            if state.spool is not None:
                unreader = _Prefetched(conn.sock, state.spool)
                unreader.unread(conn.parser.unreader.take_buffered())
                conn.parser.unreader = unreader
            conn.parser.unreader.unread(bytes(state.head))
        return super().handle(conn)
