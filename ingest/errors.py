"""Errors raised by the write path, each carrying the HTTP status the service answers with."""
from __future__ import annotations


class IngestError(Exception):
    """A request the database layer refuses; `message` is a sentence a field officer can act on."""

    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class BadSubmission(IngestError):
    """The submission is malformed (400)."""

    status = 400


class Forbidden(IngestError):
    """The caller may not do this (403)."""

    status = 403


class NotFound(IngestError):
    """The form, version or record does not exist (404)."""

    status = 404


class Conflict(IngestError):
    """The request clashes with what is stored (409)."""

    status = 409
