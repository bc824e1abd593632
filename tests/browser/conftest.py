"""Browser tests: real headless Chromium against a live gunicorn (tests/support/browser.py)."""

from tests.support.browser import chromium, console_server  # noqa: F401 (fixtures)
