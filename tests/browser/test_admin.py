"""Users and audit in a real browser (issue 18, page 7): an administrator creates a user, a weak password is
refused in Lao, and the creation is found in the audit log through the page's filters; screenshots."""

from __future__ import annotations

import re

from tests.support.browser import assert_clean, open_console, screenshots, text_of


def test_an_admin_creates_a_user_and_finds_it_in_the_audit_log(chromium, console_server):
    page = open_console(chromium, console_server, "admin", lang="lo")
    page.goto("/console/users")
    page.fill("#user-email", "browser.user@example.la")
    page.fill("#user-name", "ນາງ ທົດລອງ")
    page.select_option("#user-role", "provincial-officer")
    page.fill("#user-provinces", "05")
    page.fill("#user-password", "password1234")
    page.click("form.stacked button[type=submit]")
    page.wait_for_load_state()
    assert "ເດົາງ່າຍ" in text_of(page.locator("p.flash.bad"))  # refused, in Lao
    assert page.input_value("#user-email") == "browser.user@example.la"  # the form kept what was typed
    page.fill("#user-password", "river temple noodle umbrella")
    page.click("form.stacked button[type=submit]")
    page.wait_for_load_state()
    assert "browser.user@example.la" in page.locator("p.flash").inner_text()
    user_id = re.search(r"/console/users/(\d+)$", page.url).group(1)
    assert_clean(page)

    screenshots(chromium, console_server, "admin", f"/console/users/{user_id}", "user")

    page.goto("/console/audit?lang=en")
    page.select_option("#audit-action", "user.create")
    page.click("form.filters button[type=submit]")
    page.wait_for_load_state()
    rows = page.locator("table.audit tbody tr")
    assert rows.count() == 1
    assert f"user:{user_id}" in rows.first.inner_text() and "admin@example.la" in rows.first.inner_text()
    with page.expect_download() as download:
        page.click("a.download")
    assert download.value.suggested_filename == "audit.csv"
    assert_clean(page)
    page.context.close()


def test_screenshots_of_the_users_and_audit_pages(chromium, console_server):
    for path, name in (("/console/users", "users"), ("/console/audit", "audit")):
        shots = screenshots(chromium, console_server, "admin", path, name)
        assert all(shot.stat().st_size > 10_000 for shot in shots)
