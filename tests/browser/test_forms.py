"""The forms pages in a real browser: a trainer uploads a broken XLSForm and sees the error at its row, uploads
a good one, adds its media, publishes it, uploads a changed version, sees what changed and publishes that;
the test QR code scans to the draft's test URL; screenshots of the list, form and upload pages."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from collector.devices import decode_payload
from tests.conftest import DATA
from tests.support.browser import assert_clean, open_console, screenshots, text_of
from tests.support.xlsforms import BROKEN_NAME, BROKEN_ROW, broken_sample, changed_sample

FORMS = "/console/projects/1/forms"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _xlsform(data: bytes, name: str = "sample_case.xlsx") -> dict:
    return {"name": name, "mimeType": XLSX, "buffer": data}


def _upload(page, data: bytes) -> None:
    page.set_input_files("input[name=xlsform]", _xlsform(data))
    page.click("form[enctype] button[type=submit] >> nth=-1")
    page.wait_for_load_state()


def _publish(page) -> None:
    page.check("input[name=confirm]")
    page.click("form.publish button[type=submit]")
    page.wait_for_load_state()


def test_a_trainer_uploads_tests_and_publishes_a_form(chromium, console_server):
    page = open_console(chromium, console_server, "trainer", lang="en")
    page.goto(FORMS)
    page.click(f"a[href='{FORMS}/new']")
    page.wait_for_load_state()
    assert page.url.endswith(f"{FORMS}/new")
    # A broken XLSForm: the page names the sheet and row of pyxform's error.
    _upload(page, broken_sample())
    error = page.locator("table.problems tr.error").first
    assert error.locator("td.sheet").inner_text() == "survey"
    assert error.locator("td.row").inner_text() == str(BROKEN_ROW)
    assert BROKEN_NAME in error.locator("td.message").inner_text()
    # A good one: a new form, as a draft whose media file is missing.
    _upload(page, (DATA / "sample_case.xlsx").read_bytes())
    assert page.url.endswith(f"{FORMS}/sample_case")
    assert "Draft 2026112901 stored." in page.locator("p.flash[role=status]").inner_text()
    assert page.locator("table.media tr.missing").count() == 1
    page.set_input_files("table.media input[type=file]", str(DATA / "media" / "provinces.csv"))
    page.click("table.media button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("table.media tr.missing").count() == 0
    # The test QR code is ODK Collect's settings for the draft's test URL.
    test_url = page.input_value("#test-url")
    assert "/v1/test/" in test_url and page.evaluate("document.querySelector('img.qr').naturalWidth") > 300
    _scans_to(page.request.get(f"{FORMS}/sample_case/draft/qr.png").body(), test_url)
    _publish(page)
    assert "2026112901" in page.locator("code.version").inner_text()
    # A changed version: what changed, side by side, then publish it.
    _upload(page, changed_sample())
    diff = page.locator(".diff").inner_text()
    for text in ("Phone number", "Photo", "Age in years", "Forced labour", "No, not given"):
        assert text in diff, text
    screenshots(chromium, console_server, "trainer", f"{FORMS}/sample_case", "forms-detail")
    _publish(page)
    assert "2026120601" in page.locator("code.version").inner_text()
    assert page.locator("table.history tbody tr").count() == 2
    assert_clean(page)
    page.context.close()


def _scans_to(png: bytes, url: str) -> None:
    """Read the QR code with zbarimg (where installed) and check it carries `url` as Collect's server URL."""
    if shutil.which("zbarimg") is None:
        pytest.skip("zbarimg is not installed")
    out = subprocess.run(["zbarimg", "-q", "--raw", "-"], input=png, capture_output=True, check=True).stdout
    assert decode_payload(out.decode().strip())["general"]["server_url"] == url


def test_screenshots_of_the_list_and_upload_pages(chromium, console_server):
    for path, name in ((FORMS, "forms-list"), (f"{FORMS}/new", "forms-upload")):
        shots = screenshots(chromium, console_server, "trainer", path, name)
        assert all(shot.stat().st_size > 10_000 for shot in shots)


def test_an_analyst_gets_a_403_page(chromium, console_server):
    page = open_console(chromium, console_server, "analyst", lang="lo")
    response = page.goto(f"{FORMS}/new")
    assert response.status == 403 and "ບົດບາດຂອງທ່ານ" in text_of(page.locator("main"))
    assert_clean(page)
    page.context.close()
