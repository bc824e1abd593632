"""Structured logs: one JSON object per line, each request's line naming its route, never its values.

The server (collector.wsgi) and the job worker log through `configure`. Every request ends with one line from
`collector.requests`: its request id (the client's X-Request-Id when it is a plain token of at most 64
characters, else a new one, sent back in the answer's X-Request-Id), method, route (the rule that served it:
`/v1/key/<token>/projects/<int:project_id>/submission`, or the path's shape for a path no route matched),
query parameter names, status, duration, and the numeric id of the user or device that made it. Never a
path, a query value, a token or a submitted value (collector.transport.logredact decides what may be said).
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid

from flask import Flask, Response, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter
from sqlalchemy import inspect

from collector.transport.logredact import path_shape, query_names

#: The project's loggers, logged at LOG_LEVEL.
OWN_LOGGERS = ("collector", "ingest", "forms", "migrations")
#: The logger of the one line per request.
request_logger = logging.getLogger("collector.requests")
_CLIENT_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_HANDLER_MARK = "_collector_handler"


class RequestIdFilter(logging.Filter):
    """Add the request id to every record logged while a request is served (`-` outside requests)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        return True


def json_formatter() -> logging.Formatter:
    """Return the formatter of the JSON lines: time, level, logger, message, request id, then the extras."""
    return JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        datefmt="%Y-%m-%dT%H:%M:%S%z",
    )


def configure(app: Flask) -> None:
    """Send the app's logs to stderr at LOG_LEVEL (its libraries' from WARNING), as JSON lines or text (LOG_FORMAT).

    Idempotent: a second app in the same process (a test) replaces the handler instead of adding one.
    """
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    setattr(handler, _HANDLER_MARK, True)
    handler.addFilter(RequestIdFilter())
    if str(app.config["LOG_FORMAT"]).lower() == "json":
        handler.setFormatter(json_formatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    root.addHandler(handler)
    level = logging.getLevelName(str(app.config["LOG_LEVEL"]).upper())
    # The project's own loggers at LOG_LEVEL; libraries (the matcher's splink and duckdb, rq) only from WARNING
    # on, whatever LOG_LEVEL says: their INFO lines are chatty, and nobody has read what each may quote.
    root.setLevel(max(level, logging.WARNING))
    for name in OWN_LOGGERS:
        logging.getLogger(name).setLevel(level)


def start_request() -> None:
    """Note when the request began and give it an id (before_request)."""
    g.request_started = time.perf_counter()
    given = request.headers.get("X-Request-Id", "")
    g.request_id = given if _CLIENT_ID.fullmatch(given) else uuid.uuid4().hex


def route() -> str:
    """Return what may be said of the request's target: its route, or the shape of a path no route matched."""
    return request.url_rule.rule if request.url_rule is not None else path_shape(request.path)


def end_request(response: Response) -> Response:
    """Log the request's line and send its id back (after_request)."""
    duration = time.perf_counter() - g.get("request_started", time.perf_counter())
    response.headers.setdefault("X-Request-Id", g.get("request_id", "-"))
    actor = g.get("actor")
    request_logger.info(
        "request",
        extra={
            "method": request.method,
            "route": route(),
            "query": query_names(request.query_string.decode("latin-1")) or None,
            "status": response.status_code,
            "duration_ms": round(duration * 1000, 1),
            "user_id": _row_id(actor.user) if actor is not None else None,
            "device_id": _row_id(actor.device) if actor is not None else None,
        },
    )
    g.request_duration = duration
    return response


def _row_id(row) -> int | None:
    """Return a loaded row's primary key without asking the database (which may be the reason of a 503)."""
    if row is None:
        return None
    identity = inspect(row).identity
    return identity[0] if identity else None
