"""Refuse, before any view runs, request values that no database should see: NULs, huge or non-ASCII ids.

PostgreSQL refuses a NUL in a text value and an integer past 2^31 with an error of its own (a 500 to the
caller, and a tablet that retries forever); SQLite stores them and then cannot find them again. Both are
turned into a 400 or a 404 here, the same on both databases.
"""

from __future__ import annotations

from flask import Flask, abort, request
from werkzeug.routing import IntegerConverter

#: Largest id in a URL: the database's 32-bit integer columns hold no more.
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """Match ASCII digits only (Werkzeug's `int` also takes '١') and ids a 32-bit column can hold."""

    regex = r"[0-9]{1,10}"

    def __init__(self, map, **kwargs):  # noqa: A002 (Werkzeug's signature)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, **kwargs)


def _has_nul(value: str | bytes) -> bool:
    return ("\x00" in value) if isinstance(value, str) else (b"\x00" in value or b"%00" in value)


def refuse_nul() -> None:
    """:raise 400: a NUL character in the path, the query string or the credentials."""
    if _has_nul(request.path) or _has_nul(request.query_string) or _has_nul(request.headers.get("Authorization", "")):
        abort(400, "The request contains a NUL character, which is never valid here.")


def init_app(app: Flask) -> None:
    """Install the id converter (before any blueprint is registered) and the NUL check."""
    app.url_map.converters["int"] = IdConverter
    # No redirects from "//" to "/": ODK Collect does not follow them, and a 404 says what is wrong.
    app.url_map.merge_slashes = False
    app.before_request(refuse_nul)
