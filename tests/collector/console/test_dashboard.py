"""The dashboard (issue 18 page 5): the statistics service's suppressed counts as charts, tables and downloads;
a hidden cell never shows as a number, a bar or a colour; scoped to the caller's provinces; nothing record-level."""

from __future__ import annotations

import csv
import io
import re
from xml.etree import ElementTree

import pytest

from tests.support.cases import SCREENING, instance
from tests.support.console import OFFICER, PASSWORD, TRAINER, console_sign_in
from tests.support.openrosa import post

DASH = "/console/projects/1/dashboard"
STATISTICIAN = "statistician@example.la"
CHARTS = ("month", "province", "exploitation_type", "gender", "age_band", "country_of_exploitation")
#: The register below: 19 women screened in province 05 and 3 men in province 01, all in January 2026. With
#: the threshold of 11, the men (3) are hidden, and so is the women's 19 wherever it would give the 3 away.
WOMEN, MEN = 19, 3
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def device(national_device):
    """A ministry tablet without a province: the records name their own."""
    return national_device


@pytest.fixture
def register(client, device, forms, db_session, staff):
    from ingest.accounts.users import create_user

    create_user(db_session, STATISTICIAN, PASSWORD, "statistician", display_name="Stat Dao")
    db_session.commit()
    people = [("05", "Female")] * WOMEN + [("01", "Male")] * MEN
    for n, (province, gender) in enumerate(people):
        answers = {**SCREENING, "case_code": f"CASE-{n}", "scope_province": province, "gender": gender}
        sent = post(client, device, instance("screening", forms["screening"], f"uuid:dash-{n}", answers))
        assert sent.status_code == 201


def signed_in(client, email):
    assert console_sign_in(client, email).status_code == 302
    return client


def numbers_in_html(html: str) -> set[str]:
    """Every number the page's tables show."""
    return set(re.findall(r'<td class="num">([\d,]+)</td>', html))


def svg_numbers(svg: str) -> set[str]:
    """Every number an SVG writes: its texts (a province's code excepted) and the counts in its tooltips."""
    root = ElementTree.fromstring(svg)
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    titles = ["".join(t.itertext()) for t in root.iter(f"{SVG}title")]
    found = set()
    for text in texts + titles:
        found |= set(re.findall(r"(?<![\d-])(\d[\d,]*)(?![\d-])", text.rsplit(":", 1)[-1]))
    return found


def svgs_of(html: str) -> list[str]:
    return re.findall(r"<svg .*?</svg>", html, re.S)


def test_a_statistician_sees_every_chart_with_small_cells_hidden_everywhere(client, register):
    html = signed_in(client, STATISTICIAN).get(DASH + "?lang=en").get_data(as_text=True)
    for chart in CHARTS:
        assert f'id="chart-{chart}"' in html
        assert f"{DASH}/{chart}.csv" in html and f"{DASH}/{chart}.svg" in html
    # Shown: the national total; hidden: the men (3) and the women (19) wherever they would give them away.
    assert "22" in numbers_in_html(html)
    assert {"3", "19"}.isdisjoint(numbers_in_html(html))
    assert html.count('class="num hidden-cell">hidden<') >= 4  # province 01 and 05, gender Female and Male
    assert len(svgs_of(html)) == len(CHARTS)
    for svg in svgs_of(html):
        assert {"3", "19"}.isdisjoint(svg_numbers(svg)), svg
    # Nothing record-level: no case code, no instance ID, no answer beyond the counted values.
    assert "CASE-" not in html and "uuid:" not in html


def test_a_hidden_cell_is_never_a_bar_or_a_colour(client, register):
    signed_in(client, STATISTICIAN)
    gender = client.get(f"{DASH}/gender.svg?lang=en")
    assert gender.status_code == 200 and gender.mimetype == "image/svg+xml"
    root = ElementTree.fromstring(gender.get_data())
    # The chart's only shapes are its white background: both genders are hidden, so no bar at all.
    assert [r.get("fill") for r in root.iter(f"{SVG}rect")] == ["#ffffff"]
    assert [t.text for t in root.iter(f"{SVG}text")].count("hidden") == 2  # both rows; the total (22) shows
    provinces = ElementTree.fromstring(client.get(f"{DASH}/province.svg").get_data())
    fills = {p.get("data-province"): p.get("fill") for p in provinces.iter(f"{SVG}path")}
    assert fills["01"] == fills["05"] == "url(#hatch)"  # the one pattern of every hidden cell
    assert fills["02"] == "#f4f4f4"  # none


def test_the_csv_of_each_chart_says_hidden_and_never_the_number(client, register):
    signed_in(client, STATISTICIAN)
    for chart in CHARTS:
        response = client.get(f"{DASH}/{chart}.csv?lang=en")
        assert response.status_code == 200 and response.mimetype == "text/csv"
        assert "attachment" in response.headers["Content-Disposition"]
        rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
        assert rows[0] == [chart, "label", "count"]
        counts = [row[2] for row in rows[1:]]
        assert {"3", "19"}.isdisjoint(counts), (chart, rows)
        assert rows[-1][:1] == ["Total"]
    province = client.get(f"{DASH}/province.csv?lang=en").get_data(as_text=True)
    assert "01,01 Vientiane Capital,hidden" in province and "05,05 Bokeo,hidden" in province
    assert len(province.strip().splitlines()) == 1 + 18 + 1  # every province, zero or not, and the total


def test_a_provincial_officer_sees_only_their_province(client, register):
    html = signed_in(client, OFFICER).get(DASH + "?lang=en").get_data(as_text=True)
    shown = numbers_in_html(html)
    assert "19" in shown
    assert {"3", "22"}.isdisjoint(shown)  # neither province 01's men nor the national total
    assert '<option value="01"' not in html  # the province filter offers their province only
    for svg in svgs_of(html):
        assert {"3", "22"}.isdisjoint(svg_numbers(svg))
    csv_text = client.get(f"{DASH}/province.csv?lang=en").get_data(as_text=True)
    assert "01,01 Vientiane Capital,0" in csv_text and "05,05 Bokeo,19" in csv_text


def test_filters_by_year_and_province(client, register):
    signed_in(client, STATISTICIAN)
    html = client.get(DASH + "?year=2025&lang=en").get_data(as_text=True)
    assert numbers_in_html(html) <= {"0"}  # no case in 2025
    html = client.get(DASH + "?year=2026&lang=en").get_data(as_text=True)
    assert "22" in numbers_in_html(html) and {"3", "19"}.isdisjoint(numbers_in_html(html))
    assert f"{DASH}/gender.csv?year=2026" in html
    html = client.get(DASH + "?year=2026&province=05&lang=en").get_data(as_text=True)
    assert f"{DASH}/gender.csv?year=2026&amp;province=05" in html


def test_a_filtered_view_never_gives_back_what_the_national_view_hides(client, register):
    # Nationally 01 (3) and 05 (19) are hidden, the total (22) shown. Were province 05's own total shown under
    # ?province=05, 22 - 19 would give back 01's 3: each view is a slice of one table suppressed as a whole.
    signed_in(client, STATISTICIAN)
    for query in ("?province=05", "?province=05&year=2026", "?province=01"):
        html = client.get(DASH + query + "&lang=en").get_data(as_text=True)
        assert {"3", "19"}.isdisjoint(numbers_in_html(html)), query
        for svg in svgs_of(html):
            assert {"3", "19"}.isdisjoint(svg_numbers(svg)), query
        for chart in CHARTS:
            counts = [
                r[2] for r in csv.reader(io.StringIO(client.get(f"{DASH}/{chart}.csv{query}").get_data(as_text=True)))
            ]
            assert {"3", "19"}.isdisjoint(counts), (query, chart)
    rows = client.get(f"{DASH}/gender.csv?year=2026&province=05").get_data(as_text=True)
    assert "Female,Female,hidden" in rows


def test_the_statistician_may_and_the_trainer_may_not(client, register):
    assert signed_in(client, STATISTICIAN).get(DASH).status_code == 200
    client.post("/console/logout", data={"csrf_token": ""})
    client.delete_cookie("session", domain="localhost", path="/console")
    signed_in(client, TRAINER)
    for path in (DASH, f"{DASH}/gender.csv", f"{DASH}/province.svg"):
        refused = client.get(path)
        assert refused.status_code == 403 and refused.mimetype == "text/html", path


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        ("?year=abc", 400, "That is not a year"),
        ("?year=20266", 400, "That is not a year"),
        ("?year=2026%27%3B--", 400, "That is not a year"),
        ("?province=99", 400, "There is no such province"),
        ("?province=" + "x" * 5000, 400, "There is no such province"),
        ("/religion.csv", 404, "There is no such chart"),
        ("/religion.svg", 404, "There is no such chart"),
        ("/gender.csv?province=99", 400, "There is no such province"),
        ("/gender.svg?year=abc", 400, "That is not a year"),
    ],
)
def test_hostile_filters_and_unknown_charts_get_a_clean_page(client, register, path, status, says):
    response = signed_in(client, STATISTICIAN).get(DASH + path + ("&" if "?" in path else "?") + "lang=en")
    assert response.status_code == status
    assert response.mimetype == "text/html"
    assert says in response.get_data(as_text=True)


def test_an_unknown_project_is_a_404_page(client, register):
    signed_in(client, STATISTICIAN)
    for path in ("/console/projects/9/dashboard", "/console/projects/9/dashboard/gender.csv"):
        response = client.get(path)
        assert response.status_code == 404 and response.mimetype == "text/html"


def test_the_page_is_in_lao_by_default(client, register):
    html = signed_in(client, STATISTICIAN).get(DASH).get_data(as_text=True)
    html = html.replace("\u200b", "").replace("\u2060", "")  # the frame's marks of Lao word breaks
    assert '<html lang="lo">' in html and "ຄະດີຕາມແຂວງ" in html and "ເຊື່ອງໄວ້" in html
