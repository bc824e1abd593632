"""Every page's frame in a real browser: sign in, the menu each role may open, the language switch, the
keyboard, and no script error or CSP violation, at a tablet's and a laptop's size."""

from __future__ import annotations

import pytest

from tests.support.browser import SIZES, assert_clean, open_console, screenshots, text_of

#: Menu entries (by href tail) that each role must, and must not, see.
MENU = {
    "admin": {"must": ("/forms", "/devices", "/users", "/audit"), "never": ()},
    "trainer": {"must": ("/forms", "/devices"), "never": ("/users", "/audit", "/cases", "/persons")},
    "statistician": {"must": (), "never": ("/cases", "/persons", "/records", "/exports", "/users", "/devices")},
    "analyst": {"must": (), "never": ("/persons", "/users", "/audit", "/devices")},
}


@pytest.mark.parametrize("size", sorted(SIZES))
def test_sign_in_switch_language_and_sign_out(chromium, console_server, size):
    page = open_console(chromium, console_server, "trainer", lang="lo", size=size)
    assert page.locator("html").get_attribute("lang") == "lo"
    assert "ທົດສອບ trainer" in text_of(page.locator("header .who"))
    page.click("a.lang-switch")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Sign out" in page.locator("header").inner_text()
    # Nothing is wider than the screen: a tablet never scrolls the whole page sideways.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= SIZES[size]["width"], width
    page.click("header button[type=submit]")
    page.wait_for_load_state()
    assert "/console/login" in page.url and "out=1" in page.url
    assert_clean(page)
    page.context.close()


def test_the_keyboard_reaches_the_content_first(chromium, console_server):
    page = open_console(chromium, console_server, "admin", lang="en")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.getAttribute('href')")
    assert focused == "#content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "content"
    page.context.close()


@pytest.mark.parametrize("role", sorted(MENU))
def test_the_menu_offers_each_role_only_its_pages(chromium, console_server, role):
    page = open_console(chromium, console_server, role, lang="en")
    hrefs = page.eval_on_selector_all("nav.menu a", "links => links.map(a => a.getAttribute('href'))")
    for tail in MENU[role]["must"]:
        assert any(h.endswith(tail) for h in hrefs), (role, tail, hrefs)
    for tail in MENU[role]["never"]:
        assert not any(tail in h for h in hrefs), (role, tail, hrefs)
    assert_clean(page)
    page.context.close()


def test_screenshots_of_the_sign_in_and_forms_pages(chromium, console_server):
    shots = screenshots(chromium, console_server, "trainer", "/console/projects/1/forms", "forms-list")
    assert all(shot.stat().st_size > 10_000 for shot in shots)
