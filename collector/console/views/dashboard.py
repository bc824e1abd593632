"""The dashboard: the national (or the user's provincial) picture of cases, each chart with its table and its
downloads, for every role with the `stats` right.

Every number comes from ingest.stats.service.count_cases, the function behind GET /v1/projects/<p>/stats,
with the same threshold and the same small-cell suppression: a hidden cell is shown as "hidden" in the table,
the CSV and the chart, never as a number, a bar or a colour. The service scopes the counts to the caller's
provinces and audits each read (`stats.read`). Nothing record-level is read here.
"""

from __future__ import annotations

import functools
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import Response, abort, current_app, render_template, request, url_for
from markupsafe import Markup
from sqlalchemy import select

from collector.console import charts, web
from collector.console.frame import bp, needs, refuse
from collector.console.web import _
from collector.db import get_session
from forms import media_rows
from ingest.csv_safe import Writer, neutralise
from ingest.models import Form, Project
from ingest.publishing.choices import choice_labels
from ingest.publishing.versions import current_version
from ingest.stats.counts import TOTAL, Table, suppress_together
from ingest.stats.service import count_cases


@dataclass(frozen=True)
class Chart:
    """A chart of the dashboard: the register dimension it counts by and its title's message key."""

    name: str
    title: str


#: The charts, in the page's order; each name is also its download's file name.
CHARTS = {
    c.name: c
    for c in (
        Chart("month", "dash_by_month"),
        Chart("province", "dash_by_province"),
        Chart("exploitation_type", "dash_by_exploitation"),
        Chart("gender", "dash_by_gender"),
        Chart("age_band", "dash_by_age"),
        Chart("country_of_exploitation", "dash_by_country"),
    )
}
#: The forms whose choice lists name the values counted (gender, age band, type of exploitation).
LABEL_FORMS = ("screening", "case_intake")
_YEAR = re.compile(r"^(19|20)\d\d$")
_AGE_START = re.compile(r"(\d+)")


def _provinces() -> dict[str, dict[str, str]]:
    """Return the 18 provinces by code, from the forms' bundled list."""
    return {row["name"]: row for row in media_rows("provinces.csv")}


def _filters() -> dict[str, str]:
    """Read ?year= and ?province= (empty: all), refusing anything else with a page in the page language.

    :raise 400: a year that is not four digits from 1900 to 2099, or a province code that is not one of the 18.
    """
    year = request.args.get("year", "").strip()
    province = request.args.get("province", "").strip()
    if year and not _YEAR.match(year):
        refuse(400, _("dash_bad_year"))
    if province and province not in _provinces():
        refuse(400, _("dash_bad_province"))
    return {"year": year, "province": province}


@dataclass(frozen=True)
class Counts:
    """A chart's counts for the filters chosen: (value, count or None when hidden) by value, and the total."""

    cells: dict[str, int | None]
    total: int | None


def _tables(project_id: int) -> dict[str, Table]:
    """Count the caller's cases for every chart through the statistics service (scoped, suppressed, audited).

    Each chart's table counts by the chart's dimension, the year and the province, and the filters take its
    slice, rather than a table of the filtered cases alone: then every view of a chart (all years, one year,
    one province) is part of the same suppressed table, and no view's total gives back a cell that another
    view hides (province 05's total, seen with ?province=05, taken from the national total would give back a
    hidden 01). The tables share their (year, province) totals, so they are made to agree on which of those
    are hidden (`suppress_together`): no chart shows a total that another hides.
    """
    threshold = int(current_app.config["STATS_THRESHOLD"])
    tables = {
        chart.name: count_cases(get_session(), project_id, _dimensions(chart), {}, threshold)
        for chart in CHARTS.values()
    }
    suppress_together([(table, _shared(name)) for name, table in tables.items()], threshold)
    return tables


def _dimensions(chart: Chart) -> list[str]:
    return [chart.name, *(d for d in ("year", "province") if d != chart.name)]


def _shared(name: str):
    """Return what a chart's cell shares with the other charts: its (year, province) total, or None."""
    if name == "province":
        return lambda key: (key[1], key[0])  # (province, year): every cell is such a total
    return lambda key: (key[1], key[2]) if key[0] == TOTAL else None


def _counts(chart: Chart, tables: dict[str, Table], chosen: dict[str, str]) -> Counts:
    """Return one chart's counts for the filters chosen: the slice of its table."""
    table = tables[chart.name]
    fixed = tuple(chosen[d] or TOTAL for d in _dimensions(chart)[1:])
    cells = {key[0]: table.shown(key) for key in table.counts if key[0] != TOTAL and key[1:] == fixed}
    total = table.shown((TOTAL, *fixed))
    if chart.name == "province":
        cells = {code: cells.get(code, 0) for code in sorted({*_provinces(), *cells})}  # every province
        if chosen["province"]:
            # The province chosen, and no other (its total is its own cell).
            cells = {code: n if code == chosen["province"] else 0 for code, n in cells.items()}
            total = table.shown((chosen["province"], *fixed))
    return Counts(cells, total)


@functools.lru_cache(maxsize=32)
def _choice_labels(xml_md5: str, xml: str, lang: str) -> dict[str, str]:
    labels: dict[str, str] = {}
    for by_name in choice_labels(xml, lang).values():
        labels.update(by_name)
    return labels


def _value_labels(project_id: int, lang: str) -> dict[str, str]:
    """Return the labels of the counted values in `lang`: the choices of the case forms, countries, provinces."""
    db = get_session()
    labels: dict[str, str] = {}
    for form in db.scalars(select(Form).where(Form.project_id == project_id, Form.xml_form_id.in_(LABEL_FORMS))):
        version = current_version(db, form)
        if version is not None and version.xml:
            labels.update(_choice_labels(version.xml_md5, version.xml, lang))
    for row in media_rows("countries.csv"):
        labels[row["name"]] = row.get(f"label_{lang}") or row["label_en"]
    for code, row in _provinces().items():
        labels[code] = f"{code} {row[f'label_{lang}']}"
    labels["Unknown"] = _("dash_unknown")
    return labels


def _order(chart: Chart, value: str) -> tuple:
    """Sort a chart's rows by their value, never by their count: the place of a hidden row must say nothing."""
    if chart.name == "age_band":
        start = _AGE_START.search(value)
        return (value == "Unknown", int(start.group(1)) if start else 999, value)
    return (value == "Unknown", value)


def _rows(chart: Chart, counts: Counts, labels: dict[str, str]) -> list[dict]:
    """Return the rows of a chart's table in the order of their values: value, label and count (None: hidden)."""
    return [
        {"value": v, "label": labels.get(v, v), "count": counts.cells[v]}
        for v in sorted(counts.cells, key=lambda v: _order(chart, v))
    ]


def _words(chart: Chart) -> charts.Words:
    return charts.Words(
        title=_(chart.title),
        hidden=_("dash_hidden"),
        total=_("dash_total"),
        empty=_("dash_no_cases"),
        legend_zero=_("dash_legend_zero"),
        legend_hidden=_("dash_hidden"),
        no_boundary=_("dash_no_boundary"),
    )


def _svg(chart: Chart, rows: list[dict], total: int | None) -> str:
    """Draw a chart from its table's rows (what the table shows, and nothing more)."""
    if chart.name == "province":
        hasc = {code: row["iso"].replace("-", ".") for code, row in _provinces().items()}
        names = {code: row[f"label_{web.page_language()}"] for code, row in _provinces().items()}
        counts = {row["value"]: row["count"] for row in rows}
        return charts.province_map(counts, total, hasc, names, _words(chart))
    items = [charts.Item(row["label"], row["count"]) for row in rows]
    return charts.bar_chart(items, total, _words(chart))


def _chart(project_id: int, name: str) -> Chart:
    """:raise 404: no such project or no such chart."""
    if get_session().get(Project, project_id) is None:
        abort(404)
    chart = CHARTS.get(name)
    if chart is None:
        refuse(404, _("dash_no_such_chart"))
    return chart


@bp.get("/projects/<int:project_id>/dashboard")
@needs("stats")
def dashboard(project_id: int):
    """Show cases by month, province (a map), type of exploitation, gender, age band and country of
    exploitation, for ?year= and ?province=, each chart with its table and its SVG, PNG and CSV downloads.

    :raise 400: a bad year or province.  :raise 403: no `stats` right.  :raise 404: no such project.
    """
    project = get_session().get(Project, project_id)
    if project is None:
        abort(404)
    chosen = _filters()
    keep = {name: value for name, value in chosen.items() if value}
    labels = _value_labels(project_id, web.page_language())
    sections = []
    tables = _tables(project_id)
    for chart in CHARTS.values():
        counts = _counts(chart, tables, chosen)
        rows = _rows(chart, counts, labels)
        total = counts.total
        links = {"project_id": project_id, "name": chart.name, **keep}
        sections.append(
            {
                "chart": chart,
                "rows": rows,
                "total": total,
                "svg": Markup(_svg(chart, rows, total)),  # noqa: S704 (built by charts.py, every text escaped)
                "svg_url": url_for("console.dashboard_svg", **links),
                "csv_url": url_for("console.dashboard_csv", **links),
            }
        )
    get_session().commit()  # the audit of each read
    provinces = _provinces()
    mine = sorted(provinces) if not web.signed_in_user().provinces else sorted(web.signed_in_user().provinces)
    this_year = datetime.now(UTC).year
    return render_template(
        "console/dashboard/dashboard.html",
        project=project,
        sections=sections,
        chosen=chosen,
        years=[str(y) for y in range(this_year, this_year - 15, -1)],
        provinces=[(code, f"{code} {provinces[code][f'label_{web.page_language()}']}") for code in mine],
        threshold=int(current_app.config["STATS_THRESHOLD"]),
    )


def _download_name(chart: Chart, chosen: dict[str, str], ext: str) -> str:
    parts = ["cases", chart.name, chosen["year"] or "all-years", chosen["province"] or "all-provinces"]
    return "-".join(parts) + "." + ext


def _chart_rows(project_id: int, name: str):
    """Return one chart, the filters chosen, its counts and its rows in the page language (a download's data).

    :raise 400: a bad year or province.  :raise 404: no such project or chart.
    """
    chart = _chart(project_id, name)
    chosen = _filters()
    counts = _counts(chart, _tables(project_id), chosen)
    get_session().commit()
    return chart, chosen, counts, _rows(chart, counts, _value_labels(project_id, web.page_language()))


@bp.get("/projects/<int:project_id>/dashboard/<name>.csv")
@needs("stats")
def dashboard_csv(project_id: int, name: str):
    """Download one chart's table as CSV (hidden cells say "hidden"), for the same ?year= and ?province=.

    :raise 400: a bad year or province.  :raise 404: no such project or chart.
    """
    chart, chosen, counts, rows = _chart_rows(project_id, name)
    out = io.StringIO()
    writer = Writer(out)
    writer.writerow([chart.name, "label", "count"])
    hidden = _("dash_hidden")
    for row in [*rows, {"value": TOTAL, "label": _("dash_total"), "count": counts.total}]:
        # A value or label is a tablet's answer (a country, a type): kept from running as a formula.
        count = hidden if row["count"] is None else str(row["count"])
        writer.writerow([neutralise(row["value"]), neutralise(row["label"]), count])
    return Response(
        "\ufeff" + out.getvalue(),  # the BOM makes Excel read the Lao labels as UTF-8
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{_download_name(chart, chosen, "csv")}"'},
    )


@bp.get("/projects/<int:project_id>/dashboard/<name>.svg")
@needs("stats")
def dashboard_svg(project_id: int, name: str):
    """Download one chart as the SVG the page shows, for the same ?year= and ?province=.

    :raise 400: a bad year or province.  :raise 404: no such project or chart.
    """
    chart, chosen, counts, rows = _chart_rows(project_id, name)
    svg = '<?xml version="1.0" encoding="utf-8"?>\n' + _svg(chart, rows, counts.total)
    return Response(
        svg,
        content_type="image/svg+xml; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{_download_name(chart, chosen, "svg")}"'},
    )
