"""gunicorn settings for the collector service; each can be overridden by an environment variable."""

import logging
import os

from flask import Flask
from gunicorn.glogging import Logger

from collector.ops import multiproc

bind = os.environ.get("COLLECTOR_BIND", "127.0.0.1:8080")
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
# Each worker listens on its own socket (SO_REUSEPORT) and the kernel spreads new connections across them by
# their addresses. With one shared socket, the worker whose event loop is idle takes every connection that
# arrives at once, and Collect's keep-alive connections then stay on it: at 4 tablets one worker of three did
# about three quarters of the work (issue 20). TCP addresses only (a unix socket path is shared as it was);
# COLLECTOR_REUSE_PORT=false gives the shared socket back.
reuse_port = os.environ.get("COLLECTOR_REUSE_PORT", "true").lower() not in ("0", "false", "no") and not bind.startswith(
    "unix:"
)
# Threaded workers that read each request whole on their event loop before a thread serves it
# (collector/transport/worker.py): a tablet on a slow link, or a client dribbling headers or a body on purpose, costs
# a socket and a buffer, never a thread, so threads are always free for requests that have arrived.
# COLLECTOR_WORKER_CLASS=gthread gives gunicorn's own worker back, whose threads read bodies themselves (as this
# worker does for TLS connections); the tests use it to reach a request mid-body.
worker_class = os.environ.get("COLLECTOR_WORKER_CLASS", "collector.transport.worker.BufferingWorker")
threads = int(os.environ.get("COLLECTOR_THREADS", "16"))
# The heartbeat limit for a worker that stops answering its arbiter (a thread busy with a large upload
# does not stop the heartbeat: that runs in the worker's main loop).
timeout = int(os.environ.get("COLLECTOR_TIMEOUT", "300"))
graceful_timeout = 30
# Collect keeps connections alive between formList, manifest and media downloads.
keepalive = 5
# Workers are forked before the app is built, so each opens its own database connections.
preload_app = False
accesslog = os.environ.get("COLLECTOR_ACCESS_LOG", "-")
errorlog = "-"
# One shared control socket in $HOME would clash between instances on one host; it is not used.
control_socket_disable = True
# gunicorn itself takes the scheme from X-Forwarded-Proto of these peers only: the same proxies the app
# trusts (COLLECTOR_TRUSTED_PROXIES, empty by default: nobody).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", os.environ.get("COLLECTOR_TRUSTED_PROXIES", ""))
# Seconds a request has to deliver its request line and headers (a client sending them a byte at a time
# would otherwise hold a thread for ever; see collector/transport/header_deadline.py).
header_timeout = float(os.environ.get("COLLECTOR_HEADER_TIMEOUT", "20"))


def on_starting(server):
    """Give the workers a folder to share their metrics in, before the first is forked.

    /metrics adds up every worker's counts from files in PROMETHEUS_MULTIPROC_DIR (prometheus_client's
    multi-process mode), which must be set before a worker imports prometheus_client. Unset, it is one folder
    per master in the instance folder, emptied at its start (collector/ops/multiproc.py); Flask finds the
    instance folder as create_app does.
    """
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        instance = Flask("collector", instance_path=os.environ.get("COLLECTOR_INSTANCE_PATH") or None).instance_path
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = multiproc.prepare(instance, os.getpid())


def child_exit(server, worker):
    """Forget a dead worker's live gauges; its counts stay in the sums."""
    multiproc.worker_exited(worker.pid)


def post_worker_init(worker):
    """Apply the header deadline in each worker, before it reads a request (on its event loop, or a thread)."""
    from collector.transport.header_deadline import install

    install(header_timeout)
    worker.header_timeout = header_timeout


def redact(text):
    """Redact free text that may quote a request (see collector.transport.logredact.text); None stays None."""
    from collector.transport.logredact import text as redact_text

    return redact_text(text)


class _RedactErrors(logging.Filter):
    """Redact gunicorn's own messages, which quote malformed request lines ("Invalid HTTP Version: '...'"),
    and the tracebacks attached to them."""

    def filter(self, record):
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + logging.Formatter().formatException(record.exc_info)
            record.exc_info, record.exc_text = None, None
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        return True


class RedactingLogger(Logger):
    """Logs that never write a token, a query value, a path segment outside a route, or a user name.

    The access log names each request by the route that served it and its query parameter names
    (collector.transport.logredact.target). A request gunicorn refused before parsing (a bad header line) reaches
    `atoms` with no path: every atom may be None, and this must not raise, or the worker dies without
    answering.
    """

    def setup(self, cfg):
        super().setup(cfg)
        for handler in self.error_log.handlers:
            if not any(isinstance(f, _RedactErrors) for f in handler.filters):
                handler.addFilter(_RedactErrors())

    def access(self, resp, req, environ, request_time):
        try:
            super().access(resp, req, environ, request_time)
        except Exception:  # a log line is never worth a worker
            self.error_log.warning("access log line dropped for a malformed request")

    def atoms(self, resp, req, environ, request_time):
        from collector.transport.logredact import agent, target

        atoms = super().atoms(resp, req, environ, request_time)
        where = target(environ.get("collector.route"), environ.get("RAW_URI") or environ.get("PATH_INFO"))
        atoms["r"] = f"{environ.get('REQUEST_METHOD') or '-'} {where} {environ.get('SERVER_PROTOCOL') or '-'}"
        atoms["U"] = where.split("?", 1)[0]
        atoms["q"] = ""
        referer = environ.get("HTTP_REFERER")
        atoms["f"] = target(None, referer) if referer else "-"
        # Basic-auth user names are staff emails, or whatever an attacker typed: personal data either way.
        atoms["u"] = "-"
        # Header and environ atoms are free text a client chose; the user agent is kept as a known client's name.
        atoms["a"] = agent(environ.get("HTTP_USER_AGENT"))
        for key in list(atoms):
            if key.startswith("{") and key[-2:] in ("}i", "}e"):
                atoms[key] = "-"
        return atoms


logger_class = RedactingLogger
