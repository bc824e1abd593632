"""gunicorn settings for the collector service; each can be overridden by an environment variable."""
import os
import re

from gunicorn.glogging import Logger

bind = os.environ.get("COLLECTOR_BIND", "127.0.0.1:8080")
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
# Photos and videos arrive over slow mobile links: give an upload time to finish.
timeout = int(os.environ.get("COLLECTOR_TIMEOUT", "300"))
graceful_timeout = 30
# Workers are forked before the app is built, so each opens its own database connections.
preload_app = False
accesslog = os.environ.get("COLLECTOR_ACCESS_LOG", "-")
errorlog = "-"
# One shared control socket in $HOME would clash between instances on one host; it is not used.
control_socket_disable = True
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

_TOKEN = re.compile(r"/key/[^/]+/")
_QUERY = re.compile(r"\?\S*")


class RedactingLogger(Logger):
    """Access log that never writes a device token (it is a credential) or a query string."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "U"):
            if key in atoms:
                atoms[key] = _QUERY.sub("", _TOKEN.sub("/key/***/", atoms[key]))
        atoms["q"] = ""
        return atoms


logger_class = RedactingLogger
