"""gunicorn settings for the collector service; each can be overridden by an environment variable."""
import logging
import os
import re

from gunicorn.glogging import Logger

bind = os.environ.get("COLLECTOR_BIND", "127.0.0.1:8080")
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
# Threaded workers: a tablet uploading over a slow link holds one thread, not a whole process, so a few
# slow (or hostile) uploads cannot starve everyone else. gunicorn's gthread worker also waits for a
# request's first bytes in its event loop rather than in a thread. The app bounds how long a body may
# take (BODY_TIMEOUT / BODY_MIN_RATE), so a dribbling client cannot hold its thread for long either.
worker_class = "gthread"
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


def post_worker_init(worker):
    """Apply the header deadline in each worker, before it reads a request."""
    from collector.transport.header_deadline import install

    install(header_timeout)

# Secrets that travel in URLs: device tokens (/v1/key/<token>/) and draft test tokens (/v1/test/<token>/).
_TOKEN = re.compile(r"/(key|test)/[^/\s'\"]+")
_QUERY = re.compile(r"\?[^\s'\"]*")


def redact(text):
    """Remove URL tokens and query strings from a logged request line or URL; None stays None."""
    if not isinstance(text, str):
        return text
    return _QUERY.sub("", _TOKEN.sub(r"/\1/***", text))


class _RedactErrors(logging.Filter):
    """Redact tokens from gunicorn's own messages (e.g. "Invalid HTTP request line: 'GET /v1/key/...'")."""

    def filter(self, record):
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


class RedactingLogger(Logger):
    """Logs that never write a token, a query string or a Basic-auth user name.

    A request gunicorn refused before parsing (a bad header line) reaches `atoms` with no path: every atom
    may be None, and this must not raise, or the worker dies without answering.
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
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U", "f"):
            if key in atoms:
                atoms[key] = redact(atoms[key])
        # Basic-auth user names are staff emails, or whatever an attacker typed: personal data either way.
        atoms["u"] = "-"
        atoms["q"] = ""
        return atoms


logger_class = RedactingLogger
