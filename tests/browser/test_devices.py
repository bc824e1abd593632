"""Tablets and courses in a real browser (issue 18, page 2): a trainer creates a tablet, its QR code image is read
with zbarimg (as a phone camera would) to Collect's settings for that tablet's URL, which Collect can use; a
course kit downloads as a PDF; revoking shuts the tablet out; screenshots of each page."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader

from collector.devices import decode_payload
from tests.support.browser import assert_clean, open_console, screenshots
from tests.support.collect import Collect


def scan(png: bytes) -> str:
    """Read a QR code image with zbarimg (Debian's zbar-tools) and return what it carries."""
    if shutil.which("zbarimg") is None:
        pytest.fail("zbarimg is not installed: `make test` installs zbar-tools")
    result = subprocess.run(["zbarimg", "--raw", "-q", "-"], input=png, capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.decode().strip()


def test_a_trainer_creates_a_tablet_scans_its_qr_code_and_revokes_it(chromium, console_server):
    page = open_console(chromium, console_server, "trainer", lang="en")
    page.goto("/console/devices")
    page.fill("#device-name", "Browser tablet 05")
    page.select_option("#device-province", "05")
    page.click("form.stacked button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text().startswith("Browser tablet 05")
    shown_url = page.locator("code.server-url").inner_text()
    assert shown_url.startswith(f"{console_server.url}/v1/key/") and shown_url.endswith("/projects/1")
    # The image the page shows, fetched with the page's own cookie, read as a phone camera would.
    src = page.locator("img.qr").get_attribute("src")
    assert page.locator("img.qr").bounding_box()["width"] >= 500  # large on a laptop, for a projector
    png = page.request.get(f"{console_server.url}{src}").body()
    settings = decode_payload(scan(png))
    assert settings["general"]["server_url"] == shown_url
    tablet = Collect(shown_url)
    listed = tablet.form_list()
    assert listed.status_code == 200 and "<xform>" in listed.text
    detail = page.url
    assert_clean(page)

    screenshots(chromium, console_server, "trainer", detail.removeprefix(console_server.url), "device")

    page.check("#confirm-revoke")
    page.click("button.danger")
    page.wait_for_load_state()
    assert "revoked" in page.locator("dl.device-facts").inner_text()
    assert tablet.form_list().status_code == 403
    page.goto("/console/devices")
    assert "Browser tablet 05" in page.locator("table.devices").inner_text()
    assert_clean(page)
    page.context.close()


def test_a_course_kit_downloads_as_one_pdf(chromium, console_server):
    page = open_console(chromium, console_server, "trainer", lang="lo")
    page.goto("/console/devices/course")
    page.fill("#course-name", "Luang Prabang course")
    page.select_option("#course-province", "06")
    page.fill("#course-count", "2")
    page.select_option("#course-lang", "en")
    page.check("input[name=forms][value=referral]")  # one form's handbook: the kit lays out quicker
    with page.expect_download(timeout=120_000) as download:
        page.click("form.stacked button[type=submit]", no_wait_after=True)
    pdf = Path(download.value.path()).read_bytes()
    pages = PdfReader(io.BytesIO(pdf)).pages
    text = "".join(p.extract_text() for p in pages)
    assert pdf.startswith(b"%PDF") and "Luang Prabang course" in text and "tablet 06-02" in text
    page.goto("/console/devices")
    assert page.locator("table.devices").inner_text().count("tablet 06-0") == 2
    assert_clean(page)
    page.context.close()


def test_screenshots_of_the_tablet_pages(chromium, console_server):
    for path, name in (("/console/devices", "devices"), ("/console/devices/course", "devices-course")):
        shots = screenshots(chromium, console_server, "trainer", path, name)
        assert all(shot.stat().st_size > 10_000 for shot in shots)
