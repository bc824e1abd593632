"""App-wide error handlers: JSON bodies for the API, OpenRosaResponse XML for ODK Collect."""

from __future__ import annotations

import logging
import re
from email.utils import formatdate
from typing import NoReturn
from xml.sax.saxutils import escape

from flask import Flask, Response, current_app, jsonify, request
from marshmallow import ValidationError
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException, default_exceptions

from collector import config as defaults
from ingest.errors import DATABASE_UNAVAILABLE as DATABASE_CODE
from ingest.errors import (
    MEDIA_STORE_UNAVAILABLE,
    NO_CALLER,
    NOT_VALID,
    UNKNOWN,
    ErrorCode,
    IngestError,
    code_for_status,
)
from ingest.scope import ScopeMissing
from ingest.storage import StoreUnavailable

logger = logging.getLogger(__name__)

OPENROSA_BLUEPRINTS = {"openrosa", "openrosa_key", "drafts_test"}
OPENROSA_NS = "http://openrosa.org/http/response"
#: Seconds a client is asked to wait (Retry-After) when the database cannot be reached; ODK Collect and
#: pyodk try again, and by then the pool has reconnected (pool_pre_ping, ingest.db.make_engine).
#: The setting DATABASE_RETRY_AFTER overrides it.
DATABASE_RETRY_AFTER = defaults.DATABASE_RETRY_AFTER
#: Seconds a client is asked to wait when the media store cannot take a file (a full or read-only disk, object
#: storage out of reach): long enough for an operator's fix or the service's return, short for Collect's queue.
#: The setting MEDIA_STORE_RETRY_AFTER overrides it.
MEDIA_STORE_RETRY_AFTER = defaults.MEDIA_STORE_RETRY_AFTER


def _retry_after(setting: str, default: int) -> str:
    """The Retry-After of a 503, in whole seconds (at least 1), from the app's setting."""
    try:
        return str(max(1, int(current_app.config.get(setting, default))))
    except (TypeError, ValueError):
        return str(default)


def json_error(
    status: int, error: str, *, code: ErrorCode | None = None, errors: list | None = None, fields: dict | None = None
) -> Response:
    """Build the one JSON error body every API error uses; `code` defaults to the status's generic code."""
    code = code or code_for_status(status)
    # `code` and `message` are the names ODK Central gives them (pyodk's PyODKError.is_central_error reads
    # `code`); `error` is the same sentence under the name this API has always used.
    body = {
        "ok": False,
        "status": status,
        "code": code.number,
        "message": error,
        "error": error,
        "errors": errors or [],
        "fields": fields or {},
    }
    response = jsonify(body)
    response.status_code = status
    return response


def openrosa_headers(response: Response) -> Response:
    """Add the headers every OpenRosa response carries."""
    response.headers["X-OpenRosa-Version"] = "1.0"
    response.headers.setdefault("Date", formatdate(usegmt=True))
    return response


#: Characters XML 1.0 does not allow even escaped; a message quoting one from a URL would not parse.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def openrosa_message(status: int, message: str, nature: str = "error") -> Response:
    """Build an OpenRosaResponse XML body; Collect shows its message to the officer."""
    text = escape(_NOT_XML.sub("\ufffd", message))
    body = f'<OpenRosaResponse xmlns="{OPENROSA_NS}"><message nature="{nature}">{text}</message></OpenRosaResponse>'
    return openrosa_headers(Response(body, status=status, content_type="text/xml; charset=utf-8"))


#: URLs of ODK Collect's requests: the OpenRosa paths (also below a device's /v1/key/<token>/) and everything
#: below a draft's /v1/test/<token>/. Errors on them are OpenRosaResponse XML even when no route matched.
# A form ID may hold a slash once %2F is decoded; the JSON API's paths below a form (submissions, versions,
# draft) are told apart by their next segment.
_FORM = r"forms/(?!.*/(?:submissions|versions|draft)/).*"
_OPENROSA_PATH = re.compile(
    rf"/v1/(?:key/.*?/)?projects/[^/]*/(?:formList|submission|{_FORM}\.xml"
    rf"|{_FORM}/manifest|{_FORM}/attachments/.*)\Z|/v1/test/",
    re.DOTALL,
)


def _wants_openrosa() -> bool:
    """Say whether ODK Collect is the caller: an OpenRosa view, or a URL of the shape Collect requests."""
    return request.blueprint in OPENROSA_BLUEPRINTS or bool(_OPENROSA_PATH.match(request.path))


def refuse(code: ErrorCode, message: str) -> NoReturn:
    """Abort like `flask.abort(code.status, message)`, with a code more specific than the status's generic one.

    :raise HTTPException: always, of `code`'s status.
    """
    exc = default_exceptions[code.status](message)
    exc.error_code = code  # type: ignore[attr-defined]  # read by handle_http below
    raise exc


def _respond(status: int, message: str, **extra) -> Response:
    # The OpenRosa XML keeps its shape (Collect shows the message and nothing else reads it): no code there.
    if _wants_openrosa():
        response = openrosa_message(status, message)
    else:
        response = json_error(status, message, **extra)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Basic realm="collector", charset="UTF-8"'
    return response


_MESSAGES = {
    400: "The request is not one this server understands.",
    401: "Sign in first: this needs a user name and password or a device link.",
    403: "This account or device may not do that, or its access was revoked.",
    404: "Not found on this server.",
    405: "That method is not allowed here.",
    409: "That clashes with what the server already holds.",
    413: "The upload is larger than this server accepts.",
}


def with_exception_headers(response: Response, exc: HTTPException) -> Response:
    """Add an HTTP exception's own headers (Allow on a 405, Retry-After, Content-Range) to the answer made for
    it, keeping the answer's Content-Type."""
    for name, value in exc.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


#: What SQLAlchemy raises when the database cannot be reached: a lost connection (server restarted, backend
#: terminated, network cut), a full pool, SQLite's lock that did not come.
DATABASE_UNAVAILABLE = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError, sa_exc.TimeoutError)


def database_unavailable(exc: Exception, response: Response) -> Response:
    """Log a database out of reach (its type and the route, no data) and make `response` a 503 with Retry-After.

    The request's transaction was rolled back and nothing it did is kept, so the client may simply send it
    again. The exception's text may quote parameters: only its type is logged.
    """
    logger.warning(
        "database unavailable (%s) on %s %s: answered 503", type(exc).__name__, request.method, request.url_rule
    )
    response.status_code = 503
    response.headers["Retry-After"] = _retry_after("DATABASE_RETRY_AFTER", DATABASE_RETRY_AFTER)
    return response


def init_app(app: Flask) -> None:
    """Register the handlers on `app`."""

    @app.errorhandler(HTTPException)
    def handle_http(exc: HTTPException):
        message = (
            exc.description
            if exc.description and exc.description != type(exc).description
            else _MESSAGES.get(exc.code, exc.name)
        )
        return with_exception_headers(_respond(exc.code or 500, message, code=getattr(exc, "error_code", None)), exc)

    @app.errorhandler(IngestError)
    def handle_ingest(exc: IngestError):
        return _respond(exc.status, exc.message, code=exc.code)

    @app.errorhandler(ValidationError)
    def handle_validation(exc: ValidationError):
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        return _respond(422, "The request data is not valid.", code=NOT_VALID, fields=messages)

    @app.errorhandler(ScopeMissing)
    def handle_no_caller(exc: ScopeMissing):
        # A read that forgot its caller: refused (no row was read), and a bug to fix, so logged as one.
        logger.error("read without a caller on %s %s", request.method, request.url_rule, exc_info=app.debug)
        return _respond(500, "The server hit an unexpected error; nothing was read. Please try again.", code=NO_CALLER)

    def handle_database_unavailable(exc: Exception):
        return database_unavailable(
            exc,
            _respond(
                503,
                "The database is unavailable for a moment; nothing was stored. Please try again.",
                code=DATABASE_CODE,
            ),
        )

    for error in DATABASE_UNAVAILABLE:
        app.register_error_handler(error, handle_database_unavailable)

    @app.errorhandler(StoreUnavailable)
    def handle_store_unavailable(exc: StoreUnavailable):
        # The errno's name or the service's error code only, never a path or a key.
        logger.warning(
            "media store unavailable (%s) on %s %s: answered 503", exc.strerror, request.method, request.url_rule
        )
        response = _respond(
            503,
            "The media store cannot take files for a moment; nothing was stored. Please try again.",
            code=MEDIA_STORE_UNAVAILABLE,
        )
        response.headers["Retry-After"] = _retry_after("MEDIA_STORE_RETRY_AFTER", MEDIA_STORE_RETRY_AFTER)
        return response

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception):
        # Log the type and place only: exception text may quote submitted data.
        logger.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url_rule, exc_info=app.debug)
        return _respond(500, "The server hit an unexpected error; nothing was stored. Please try again.", code=UNKNOWN)
