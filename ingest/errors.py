"""The table of stable error codes, and the errors the service layer raises, each carrying one of them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorCode:
    """A stable code a client can act on, as ODK Central numbers them: the HTTP status, a dot, a number."""

    #: The code as written in the documentation and sent as a JSON number, e.g. "404.1".
    code: str
    #: One English sentence: what the code means, whatever the message says.
    meaning: str

    @property
    def status(self) -> int:
        """The HTTP status the code is answered with (the part before the dot)."""
        return int(self.code.split(".")[0])

    @property
    def number(self) -> float:
        """The code as Central sends it: a JSON number (pyodk compares its text, `str(404.1)`)."""
        return float(self.code)


# Numbering: Central's code wherever Central gives the same meaning (lib/util/problem.js); our own codes count
# from .51 under a status Central uses, so a code Central adds later never means something else here, and
# from .1 under a status Central never answers. No code ends in 0: as a JSON number 409.10 would be 409.1.
UNPARSEABLE = ErrorCode("400.1", "The body could not be read as the JSON, multipart or XML it should be.")
MISSING_PARAMETER = ErrorCode("400.2", "A required parameter or body is missing.")
UNEXPECTED_VALUE = ErrorCode("400.8", "A parameter or value is not one this server accepts.")
XLSFORM_NOT_VALID = ErrorCode("400.15", "The XLSForm was refused; `errors` lists its problems.")
PASSWORD_TOO_SHORT = ErrorCode("400.21", "The password is shorter than the server accepts.")
PASSWORD_TOO_WEAK = ErrorCode("400.51", "The password is a common one or too easy to guess.")
INVALID_ENTITY = ErrorCode("400.28", "The entity is not valid: a bad UUID, label, property name or value.")
ODATA_UNPARSEABLE = ErrorCode("400.18", "The OData $filter expression could not be parsed.")
ODATA_NO_PROPERTY = ErrorCode("400.23", "The OData query names a property the form does not have.")
ODATA_REPEAT_PROPERTY = ErrorCode("400.24", "The OData query names a property inside a repeat.")
AUTHENTICATION_FAILED = ErrorCode(
    "401.2", "The credentials are wrong, or the session or token is unknown, expired or revoked."
)
AUTHENTICATION_REQUIRED = ErrorCode("401.4", "No credentials were given; sign in first.")
INSUFFICIENT_RIGHTS = ErrorCode("403.1", "This account, role or device may not do that, or its access was revoked.")
OUTSIDE_SCOPE = ErrorCode("403.51", "The record or device is in a province outside the caller's provinces.")
IDENTITIES_HIDDEN = ErrorCode("403.52", "The field or file is sensitive and the caller's role does not see identities.")
HTTPS_ONLY = ErrorCode("403.53", "Passwords are accepted over HTTPS only.")
NOT_FOUND = ErrorCode("404.1", "Not found, or outside what the caller may read (answered alike).")
EDIT_TARGET_MISSING = ErrorCode("404.5", "The submission an edit replaces (its deprecatedID) is not on the server.")
ENTITY_VERSION_NOT_FOUND = ErrorCode("404.9", "The entity has no version with the number the update was made from.")
METHOD_NOT_ALLOWED = ErrorCode("405.1", "The method is not allowed on this URL; `Allow` lists those that are.")
TOO_SLOW = ErrorCode("408.1", "The body arrived too slowly and was stopped; nothing was stored.")
SUBMISSION_XML_CONFLICT = ErrorCode("409.1", "A different submission with the same instance ID is already stored.")
FORM_CLOSED = ErrorCode("409.2", "The form is closed and accepts no submissions.")
ALREADY_EXISTS = ErrorCode("409.3", "Something with the same unique value (email, form ID) already exists.")
VERSION_PUBLISHED = ErrorCode("409.6", "This version of the form is already published.")
EDIT_OUT_OF_DATE = ErrorCode("409.9", "The submission this edit replaces was already replaced by another edit.")
ENTITY_VERSION_MISMATCH = ErrorCode(
    "409.15", "The entity changed since the version the update was made from (baseVersion); read it again."
)
CONFLICT = ErrorCode("409.51", "The request clashes with the state the server holds.")
SUBMISSION_DELETED = ErrorCode("409.52", "The submission was deleted on the server and cannot be sent again.")
ATTACHMENT_RECEIVED = ErrorCode("409.53", "This file of the submission was already received and cannot be replaced.")
MEDIA_MISSING = ErrorCode("409.54", "The form needs media files that were not uploaded.")
TOO_LARGE = ErrorCode("413.1", "The body is larger than this server accepts.")
RANGE_NOT_SATISFIABLE = ErrorCode("416.1", "The requested byte range is outside the file.")
NOT_VALID = ErrorCode("422.1", "The request is well formed but its data is not valid; `fields` says where.")
RATE_LIMITED = ErrorCode("429.1", "Too many failed sign-ins; `Retry-After` says when to try again.")
UNKNOWN = ErrorCode("500.1", "The server hit an unexpected error; nothing was stored.")
NO_CALLER = ErrorCode(
    "500.51", "A read of records ran without a caller and was refused (a server bug; nothing was read)."
)
DATABASE_UNAVAILABLE = ErrorCode(
    "503.1", "The database is out of reach for a moment; nothing was stored, and sending again is safe (`Retry-After`)."
)
MEDIA_STORE_UNAVAILABLE = ErrorCode(
    "503.2",
    "The media store cannot take or give back files for a moment; nothing was stored, and sending again is safe "
    "(`Retry-After`).",
)
NOT_IMPLEMENTED = ErrorCode("501.1", "The feature is not supported by this server.")
ODATA_EXPRESSION_UNSUPPORTED = ErrorCode(
    "501.4", "The OData $filter expression uses an operator or function this server does not support."
)
ODATA_FIELD_UNSUPPORTED = ErrorCode(
    "501.5", "The OData $filter names a __system property this server does not filter on."
)
ODATA_EXPAND_UNSUPPORTED = ErrorCode("501.6", "The OData $expand expression is not supported (only `*` is).")
ODATA_SELECT_WITH_EXPAND = ErrorCode("501.11", "OData $select together with $expand is not supported.")

#: Every code, declared once: the documentation's table lists exactly these (tests/test_docs.py).
CODES: dict[str, ErrorCode] = {
    c.code: c
    for c in sorted(
        (v for v in globals().copy().values() if isinstance(v, ErrorCode)),
        key=lambda c: tuple(int(part) for part in c.code.split(".")),
    )
}

#: The code of an error that says no more than its HTTP status (`abort(404, ...)`).
GENERIC: dict[int, ErrorCode] = {
    c.status: c
    for c in (
        UNEXPECTED_VALUE,
        AUTHENTICATION_REQUIRED,
        INSUFFICIENT_RIGHTS,
        NOT_FOUND,
        METHOD_NOT_ALLOWED,
        TOO_SLOW,
        CONFLICT,
        TOO_LARGE,
        RANGE_NOT_SATISFIABLE,
        NOT_VALID,
        RATE_LIMITED,
        UNKNOWN,
        NOT_IMPLEMENTED,
        DATABASE_UNAVAILABLE,
    )
}


def code_for_status(status: int) -> ErrorCode:
    """Return the generic code of an HTTP status; a status the server never answers with falls back to the
    generic client (400.8) or server (500.1) error."""
    return GENERIC.get(status) or (UNKNOWN if status >= 500 else UNEXPECTED_VALUE)


class IngestError(Exception):
    """A request the service layer refuses; `message` is a sentence a field officer can act on, `code` is
    the stable code (its status is the HTTP status), a subclass's own unless one is given."""

    code: ErrorCode = UNEXPECTED_VALUE

    def __init__(self, message: str, code: ErrorCode | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    @property
    def status(self) -> int:
        """The HTTP status the service answers with."""
        return self.code.status


class BadSubmission(IngestError):
    """The submission is malformed (400)."""

    code = UNEXPECTED_VALUE


class Forbidden(IngestError):
    """The caller may not do this (403)."""

    code = INSUFFICIENT_RIGHTS


class NotFound(IngestError):
    """The form, version or record does not exist (404)."""

    code = NOT_FOUND


class Conflict(IngestError):
    """The request clashes with what is stored (409)."""

    code = CONFLICT
