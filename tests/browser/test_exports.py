"""The exports page in a real browser (issue 18 page 6): a record sent through the live server's OpenRosa
endpoint is in the workbook the page downloads, for the administrator, and not for province 05's officer; with
Redis, the job's page follows the job run by a worker process and downloads the file when it is ready."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest
from openpyxl import load_workbook

from tests.conftest import make_instance
from tests.support.browser import assert_clean, open_console, screenshots
from tests.support.collect import Collect
from tests.support.live import LiveServer

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


@pytest.fixture(scope="module")
def redis_server(database_url, tmp_path_factory, submitted):
    """A second live server on the same database, its background jobs on a queue of its own on Redis."""
    from redis import Redis

    name = f"test-browser-{uuid.uuid4().hex[:12]}"
    live = LiveServer(
        database_url,
        tmp_path_factory.mktemp("redis") / "instance",
        workers=1,
        REDIS_URL="redis://127.0.0.1:6379/15",
        JOB_QUEUE=name,
    ).start()
    yield live
    live.stop()
    redis = Redis.from_url("redis://127.0.0.1:6379/15")
    for key in redis.scan_iter(f"*{name}*"):
        redis.delete(key)


def test_with_redis_the_job_page_follows_the_worker_and_downloads_the_file(chromium, redis_server, tmp_path):
    page = open_console(chromium, redis_server, "admin", lang="en")
    page.goto(PAGE)
    page.check("input[name=format][value=xlsx]")
    page.select_option("select[name=form]", "sample_case")
    page.click("form.export button[type=submit]")
    page.wait_for_url("**/exports/jobs/*")
    assert page.locator("#export-job").get_attribute("data-state") == "queued"
    assert "Waiting in the queue" in page.inner_text("#export-job")
    screenshots(chromium, redis_server, "admin", page.url.removeprefix(redis_server.url), "exports-job")
    with page.expect_download(timeout=60_000) as started:
        assert redis_server.cli("worker", "--burst").returncode == 0
    download = started.value
    assert download.suggested_filename == "sample_case.xlsx"
    download.save_as(tmp_path / "job.xlsx")
    assert page.locator("#export-job").get_attribute("data-state") == "finished"
    assert page.inner_text("h1") == "Export: sample_case.xlsx"
    assert_clean(page)
    page.context.close()
    sheet = load_workbook(tmp_path / "job.xlsx")["sample_case"]
    header = [c.value for c in sheet[1]]
    keys = [dict(zip(header, (c.value for c in row), strict=True))["KEY"] for row in sheet.iter_rows(min_row=2)]
    assert "uuid:browser-export" in keys
