"""Every console page an administrator can reach by following links, in Lao and English: each input has a
label, the page says its language, loads nothing inline or from elsewhere, and answers 200 with HTML.

The crawl starts at the console's start page and follows the console's own links (downloads and sign-out
aside), so a page added later is checked without being listed here.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urldefrag, urlsplit

import pytest

from forms.lao import strip_marks
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, make_instance
from tests.support.console import console_sign_in
from tests.support.openrosa import post

#: Links the crawl does not open: downloads (not pages) and signing out.
NOT_PAGES = re.compile(r"\.(pdf|csv|png|svg|xlsx|xml|zip|geojson)(\?|$)|/logout|/file(\?|$)|/files/")
#: At most this many pages per language (the crawl keeps the first of each route with its query dropped).
LIMIT = 60


class PageShape(HTMLParser):
    """Collect a page's form controls, labels, scripts, inline styles and handlers."""

    def __init__(self):
        super().__init__()
        self.controls: list[dict] = []
        self.label_for: set[str] = set()
        self.label_depth = 0
        self.links: list[str] = []
        self.problems: list[str] = []
        self.lang = None

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "html":
            self.lang = attributes.get("lang")
        if tag == "label":
            self.label_depth += 1
            if attributes.get("for"):
                self.label_for.add(attributes["for"])
        if tag in ("input", "select", "textarea") and attributes.get("type") not in ("hidden", "submit", "button"):
            self.controls.append({**attributes, "_tag": tag, "_wrapped": self.label_depth > 0})
        if tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"])
        if tag == "script" and not (attributes.get("src") or "").startswith("/console/static/"):
            self.problems.append("a script that is not a file of the console")
        if tag == "style" or "style" in attributes:
            self.problems.append(f"inline style on <{tag}>")
        for name in attributes:
            if name.startswith("on"):
                self.problems.append(f"inline handler {name} on <{tag}>")

    def handle_endtag(self, tag):
        if tag == "label" and self.label_depth:
            self.label_depth -= 1

    def unlabelled(self) -> list[str]:
        return [
            f"<{c['_tag']} name={c.get('name')!r} id={c.get('id')!r}>"
            for c in self.controls
            if not (c["_wrapped"] or c.get("id") in self.label_for or c.get("aria-label") or c.get("aria-labelledby"))
        ]


@pytest.fixture
def busy_console(client, admin, device, db_session):
    """A console with a published form, a record and a device, for an administrator signed in."""
    response = post(client, device, make_instance("uuid:every-page", name="Crawl"))
    assert response.status_code == 201
    assert console_sign_in(client, ADMIN_EMAIL, ADMIN_PASSWORD).status_code == 302
    return client


@pytest.mark.parametrize("lang", ["lo", "en"])
def test_every_page_reached_by_links_is_labelled_and_self_contained(busy_console, lang):
    client = busy_console
    client.get(f"/console/?lang={lang}")
    queue, seen, routes, failures = ["/console/"], set(), set(), []
    while queue and len(seen) < LIMIT:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        response = client.get(path, follow_redirects=True)
        if response.mimetype != "text/html":
            continue
        html = strip_marks(response.get_data(as_text=True))
        shape = PageShape()
        shape.feed(html)
        where = f"{path} ({response.status_code})"
        if response.status_code != 200:
            failures.append(f"{where}: not 200")
        if shape.lang != lang:
            failures.append(f"{where}: lang={shape.lang!r}")
        failures += [f"{where}: unlabelled {control}" for control in shape.unlabelled()]
        failures += [f"{where}: {problem}" for problem in shape.problems]
        for href in shape.links:
            href = urldefrag(href)[0]
            parts = urlsplit(href)
            if parts.netloc or not parts.path.startswith("/console/") or NOT_PAGES.search(href):
                continue
            if "lang=" in parts.query:
                continue  # the language switch: the same page in the other language
            route = re.sub(r"\d+", "N", parts.path)
            if route not in routes:  # one page per route: a table's hundred rows are one shape
                routes.add(route)
                queue.append(href)
    assert len(seen) >= 12, sorted(seen)  # the crawl reached the console's areas, not only the start page
    # The pages that fill a form in the browser and the desk links' page are reached through the menu.
    assert {"/console/projects/1/forms/sample_case/fill", "/console/desks"} <= seen, sorted(seen)
    assert not failures, "\n".join(failures)
