"""Real headless Chromium (Debian's `chromium`) driven by Playwright's Python client, against a live gunicorn.

Playwright never downloads a browser here: it launches the machine's /usr/bin/chromium (`make test` installs
Debian's package). `console_server` is one live server per database for a test module, with the bundled forms
published and one user for each role; `open_console` gives a signed-in page at a tablet's or a laptop's size,
in Lao or English, that fails the test on any script error or Content-Security-Policy violation;
`screenshots` writes a page at both sizes in both languages under tests/.screenshots (or
$CONSOLE_SCREENSHOTS), where docs/render_pages.py takes the ones the documentation shows.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from forms.lao import strip_marks
from tests.support.live import ROOT, LiveServer

#: Debian's Chromium; never a browser downloaded by Playwright.
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
#: Without the background-networking flags Chromium knocks on Google's hosts, which this network refuses.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
#: A 2019 Android tablet held upright, and a common laptop screen.
SIZES = {"tablet": {"width": 800, "height": 1280}, "laptop": {"width": 1366, "height": 768}}
#: Where the test run writes its screenshots.
SHOTS = Path(os.environ.get("CONSOLE_SCREENSHOTS", ROOT / "tests" / ".screenshots"))
PASSWORD = "a long enough browser password"
#: One user per role: role -> (email, provinces).
ROLE_USERS = {
    "admin": ("admin@example.la", ()),
    "trainer": ("trainer@example.la", ()),
    "case-officer": ("caseofficer@example.la", ()),
    "provincial-officer": ("officer05@example.la", ("05",)),
    "analyst": ("analyst@example.la", ()),
    "statistician": ("statistician@example.la", ()),
}


@pytest.fixture(scope="session")
def chromium():
    """Start headless Chromium once per test process."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed: `make test` installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright  # only the browser tests need it

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def console_server(database_url, tmp_path_factory):
    """A live server with the bundled forms published and one user per role (ROLE_USERS), emptied after."""
    from tests.conftest import truncate

    truncate(database_url)
    live = LiveServer(database_url, tmp_path_factory.mktemp("console") / "instance", workers=2).start()
    live.cli("forms", "publish", *sorted(str(p) for p in (ROOT / "forms" / "xlsforms").glob("*.xlsx")))
    add_role_users(database_url)
    yield live
    live.stop()
    truncate(database_url)


def add_role_users(database_url: str) -> None:
    """Create the ROLE_USERS, each with a Lao display name."""
    from sqlalchemy.orm import Session

    from ingest.accounts.users import create_user
    from ingest.db import make_engine

    engine = make_engine(database_url)
    with Session(engine) as db:
        for role, (email, provinces) in ROLE_USERS.items():
            name = f"ທົດສອບ {role}"
            create_user(db, email, PASSWORD, role, provinces=list(provinces), display_name=name)
        db.commit()
    engine.dispose()


@dataclass
class PageErrors:
    """Script errors and CSP violations a page reported while a test used it."""

    messages: list[str] = field(default_factory=list)

    def watch(self, page) -> None:
        page.on("pageerror", lambda exc: self.messages.append(f"script error: {exc}"))
        page.on(
            "console",
            lambda msg: (
                self.messages.append(msg.text)
                if msg.type == "error" and ("Content Security Policy" in msg.text or "Refused" in msg.text)
                else None
            ),
        )


def open_console(chromium, server: LiveServer, role: str, *, lang: str = "lo", size: str = "laptop"):
    """Return a Playwright page signed in as the `role` user, in `lang`, at `size`; `page.errors` collects
    script errors and CSP violations (assert it is empty with `assert_clean`)."""
    context = chromium.new_context(viewport=SIZES[size], base_url=server.url, accept_downloads=True)
    page = context.new_page()
    page.errors = PageErrors()
    page.errors.watch(page)
    page.goto(f"/console/login?lang={lang}")
    page.fill("#email", ROLE_USERS[role][0])
    page.fill("#password", PASSWORD)
    page.click("form button[type=submit] >> nth=-1")
    page.wait_for_load_state()
    return page


def text_of(locator) -> str:
    """The text a locator shows, without the Lao word-break marks every console page carries."""
    return strip_marks(locator.inner_text())


def assert_clean(page) -> None:
    """Fail on any script error or Content-Security-Policy violation the page reported."""
    assert not page.errors.messages, page.errors.messages


def screenshots(chromium, server: LiveServer, role: str, path: str, name: str, prepare=None) -> list[Path]:
    """Write `path` as `role` sees it at both sizes in both languages: SHOTS/<name>-<lang>-<size>.png.

    `prepare(page)`, if given, runs after the page loads (to open a detail or fill a filter).
    """
    SHOTS.mkdir(parents=True, exist_ok=True)
    written = []
    for lang in ("lo", "en"):
        for size in SIZES:
            page = open_console(chromium, server, role, lang=lang, size=size)
            page.goto(path)
            if prepare is not None:
                prepare(page)
            assert page.locator("html").get_attribute("lang") == lang
            target = SHOTS / f"{name}-{lang}-{size}.png"
            page.screenshot(path=str(target), full_page=True)
            assert_clean(page)
            page.context.close()
            written.append(target)
    return written
