"""Shared test helpers (moved from tests/collector/console/test_console.py)."""

from __future__ import annotations

import re

import pytest

from tests.support.logscan import log_scan  # noqa: F401 (fixture)

TRAINER, ANALYST, OFFICER = "trainer@example.la", "analyst@example.la", "officer05@example.la"


PASSWORD = "a long enough password"


@pytest.fixture
def staff(app, db_session):
    """Create a trainer, an analyst and a provincial officer of province 05, each with a display name."""
    from ingest.accounts.users import create_user

    create_user(db_session, TRAINER, PASSWORD, "trainer", display_name="ຄູ ບົວພັນ Trainer")
    create_user(db_session, ANALYST, PASSWORD, "analyst", display_name="Analyst Vanh")
    create_user(db_session, OFFICER, PASSWORD, "provincial-officer", provinces=["05"], display_name="Officer Noy")
    db_session.commit()


def csrf_of(response) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', response.get_data(as_text=True))
    assert match, "the page carries no CSRF token"
    return match.group(1)


def console_sign_in(client, email, password=PASSWORD, *, next_page=None, **kwargs):
    """Open the sign-in page (for its CSRF token) and post the form, as a browser does."""
    token = csrf_of(client.get("/console/login", **kwargs))
    data = {"csrf_token": token, "email": email, "password": password}
    if next_page:
        data["next"] = next_page
    return client.post("/console/login", data=data, **kwargs)


def routed(app, path: str, method: str) -> bool:
    """Say whether a path reaches the console's code: an id its converter refuses (past 2**31) ends Werkzeug's
    routing before any blueprint is chosen, and the app's handler answers that 404 in JSON."""
    from urllib.parse import unquote

    from werkzeug.exceptions import MethodNotAllowed, NotFound

    try:
        app.url_map.bind("localhost").match(unquote(path, errors="replace"), method=method)
    except MethodNotAllowed:
        return True  # the console's own answer is wanted (its catch-all route takes every method)
    except NotFound:
        return False
    return True
