"""The dashboard in a real browser: records sent through the OpenRosa endpoint of a live server become charts
and tables with the small cells hidden; a chart downloads as PNG (drawn by dashboard.js) and its table as CSV;
no script error or CSP violation; screenshots at both sizes in both languages."""

from __future__ import annotations

import struct

import pytest

from forms import BUNDLED_FORMS_DIR
from forms.compiler import compile_xlsform
from tests.support.browser import assert_clean, open_console, screenshots
from tests.support.cases import SCREENING, instance
from tests.support.collect import Collect

DASH = "/console/projects/1/dashboard"
#: 12 women screened in province 05 and 2 men in province 01: the men (and so the women) hidden by province.
PEOPLE = [("05", "Female")] * 12 + [("01", "Male")] * 2


@pytest.fixture(scope="module")
def server(console_server):
    """The module's live server with the cases above, sent by a ministry tablet as ODK Collect sends them."""
    fields = compile_xlsform(BUNDLED_FORMS_DIR / "screening.xlsx", validate=False).fields
    tablet = Collect(console_server.device_url(console_server.cli("devices", "create", "Dashboard tablet").stdout))
    for n, (province, gender) in enumerate(PEOPLE):
        answers = {**SCREENING, "case_code": f"DASH-{n}", "scope_province": province, "gender": gender}
        sent = tablet.submit(instance("screening", fields, f"uuid:browser-dash-{n}", answers))
        assert sent.status_code == 201, sent.text
    return console_server


def test_the_charts_render_with_small_cells_hidden_and_download(chromium, server, tmp_path):
    page = open_console(chromium, server, "statistician", lang="en")
    page.goto(DASH)
    assert page.locator("section.chart figure svg").count() == 6
    # The map draws the 17 provinces of its boundary file and Xaisomboun's box; 01 and 05 hatched as hidden.
    province = page.locator("#chart-province svg")
    assert province.locator("path[data-province]").count() == 17
    assert province.locator('rect[data-province="18"]').count() == 1
    assert province.locator('[data-province="05"]').get_attribute("fill") == "url(#hatch)"
    rows = page.locator("#chart-province tbody tr")
    assert rows.count() == 18
    assert "hidden" in page.locator("#chart-province tbody tr", has_text="Bokeo").inner_text()
    assert page.locator("#chart-province tfoot td").inner_text() == "14"
    assert "12" not in page.locator("#chart-province tbody td").all_inner_texts()
    # PNG: dashboard.js draws the chart's SVG onto a canvas and saves it.
    with page.expect_download() as download:
        page.click("#chart-province button.png")
    png = tmp_path / "province.png"
    download.value.save_as(png)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert width >= 800 and height >= 600, (width, height)
    # CSV: the table as a download, hidden cells saying so.
    with page.expect_download() as download:
        page.click("#chart-gender a.csv")
    text = download.value.path().read_text(encoding="utf-8-sig")
    assert text.splitlines()[0] == "gender,label,count"
    assert "Female,Female,hidden" in text and "Male,Male,hidden" in text and "Total,Total,14" in text
    # SVG: the same picture as a file.
    with page.expect_download() as download:
        page.click("#chart-month a.svg")
    assert download.value.suggested_filename == "cases-month-all-years-all-provinces.svg"
    assert "<svg" in download.value.path().read_text(encoding="utf-8")
    assert_clean(page)
    page.context.close()


def test_the_filters_keep_to_the_province_chosen(chromium, server):
    page = open_console(chromium, server, "statistician", lang="en", size="tablet")
    page.goto(DASH)
    page.select_option("#province", "05")
    page.click("form.filters button[type=submit]")
    page.wait_for_load_state()
    assert "province=05" in page.url
    # Province 05's own count would give back 01's hidden 2 from the national total: hidden here too.
    assert page.locator("#chart-gender tbody tr", has_text="Female").locator("td").inner_text() == "hidden"
    assert "province=05" in page.locator("#chart-gender a.csv").get_attribute("href")
    # Nothing is wider than the tablet's screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 800
    assert_clean(page)
    page.context.close()


def test_screenshots_of_the_dashboard(chromium, server):
    shots = screenshots(chromium, server, "statistician", DASH, "dashboard")
    assert all(shot.stat().st_size > 20_000 for shot in shots)
