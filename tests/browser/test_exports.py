"""The exports page in a real browser (issue 18 page 6): a record sent through the live server's OpenRosa
endpoint is in the workbook the page downloads, for the administrator, and not for province 05's officer."""

from __future__ import annotations

from datetime import datetime

import pytest
from openpyxl import load_workbook

from tests.conftest import make_instance
from tests.support.browser import assert_clean, open_console, screenshots
from tests.support.collect import Collect

PAGE = "/console/projects/1/exports"
NAME = "ນາງ ທົດສອບ Browser"


@pytest.fixture(scope="module")
def submitted(console_server):
    """Publish the sample form and send one record of province 01 through the OpenRosa endpoint."""
    tablet = Collect(console_server.sample_device())
    response = tablet.submit(make_instance("uuid:browser-export", name=NAME, photo=None))
    assert response.status_code == 201, response.text
    return console_server


def download_xlsx(chromium, server, role: str, tmp_path) -> list[dict]:
    """Choose the sample form and XLSX on the page, download it and return the root sheet's rows."""
    page = open_console(chromium, server, role, lang="en")
    page.goto(PAGE)
    page.select_option("select[name=form]", "sample_case")
    page.check("input[name=format][value=xlsx]")
    with page.expect_download() as started:
        page.click("form.export button[type=submit]")
    download = started.value
    assert download.suggested_filename == "sample_case.xlsx"
    target = tmp_path / f"{role}.xlsx"
    download.save_as(target)
    page.wait_for_selector("#export-status:not(.hidden)")
    assert "Downloaded: sample_case.xlsx" in page.inner_text("#export-status")
    assert page.is_hidden("#export-progress")
    assert_clean(page)
    page.context.close()
    sheet = load_workbook(target)["sample_case"]
    header = [c.value for c in sheet[1]]
    return [dict(zip(header, (c.value for c in row), strict=True)) for row in sheet.iter_rows(min_row=2)]


def test_the_admin_downloads_a_workbook_holding_the_record_sent_by_collect(chromium, submitted, tmp_path):
    rows = download_xlsx(chromium, submitted, "admin", tmp_path)
    mine = [r for r in rows if r["KEY"] == "uuid:browser-export"]
    assert len(mine) == 1 and mine[0]["full_name"] == NAME and mine[0]["age"] == 30
    assert isinstance(mine[0]["SubmissionDate"], datetime)  # an Excel date, not text


def test_province_05_officer_downloads_no_record_of_province_01(chromium, submitted, tmp_path):
    rows = download_xlsx(chromium, submitted, "provincial-officer", tmp_path)
    assert [r for r in rows if r["KEY"] == "uuid:browser-export"] == []


def test_a_bad_range_is_shown_on_the_page_and_choices_follow_the_format(chromium, submitted):
    page = open_console(chromium, submitted, "analyst", lang="en")
    page.goto(PAGE)
    page.fill("input[name=start]", "2026-12-02")
    page.fill("input[name=end]", "2026-12-01")
    page.click("form.export button[type=submit]")
    page.wait_for_selector("#export-status.bad")
    assert page.inner_text("#export-status") == "The end date is before the start date."
    page.check("input[name=format][value=ctdc]")
    assert page.is_disabled("select[name=form]") and page.is_disabled("input[name=start]")
    page.check("input[name=format][value=geojson]")
    assert page.is_disabled("select[name=lang]") and not page.is_disabled("select[name=form]")
    assert_clean(page)
    page.context.close()


def test_screenshots_of_the_exports_page(chromium, submitted):
    shots = screenshots(chromium, submitted, "provincial-officer", PAGE, "exports")
    assert all(shot.stat().st_size > 10_000 for shot in shots)
