"""`collector stats`: counts of cases from the register, suppressed as the API suppresses them."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from collector.cli.base import act_as, as_option, fail, main
from collector.db import get_session
from ingest.csv_safe import Writer, neutralise
from ingest.stats.counts import DIMENSIONS, TOTAL, UnknownDimension
from ingest.stats.service import count_cases


@main.command("stats")
@click.option("--by", "by", multiple=True, required=True, help=f"Dimension (repeatable): {', '.join(DIMENSIONS)}.")
@click.option(
    "--filter",
    "filters",
    multiple=True,
    metavar="DIMENSION=VALUE",
    help="Count only cases with this value (repeatable), e.g. --filter province=05.",
)
@click.option("--project", "project_id", default=1, show_default=True)
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV instead of a table.")
@as_option
@with_appcontext
def stats(by, filters, project_id, as_csv, as_email):
    """Count cases by one or more dimensions; cells below STATS_THRESHOLD (and those giving them away) hidden."""
    session = get_session()
    act_as(session, as_email, "stats", "statistics")
    wanted: dict[str, list[str]] = {}
    for item in filters:
        name, sep, value = item.partition("=")
        if not sep:
            fail(f"A filter is DIMENSION=VALUE, not {item!r}.")
        wanted.setdefault(name, []).append(value)
    try:
        table = count_cases(session, project_id, list(by), wanted, int(current_app.config["STATS_THRESHOLD"]))
    except UnknownDimension as exc:
        fail(str(exc))
    session.commit()
    rows = [[*key, "(hidden)" if key in table.hidden else table.counts[key]] for key in sorted(table.counts)]
    if as_csv:
        # A dimension's value is a tablet's answer (a gender, a country): kept from running as a formula.
        writer = Writer(sys.stdout)
        writer.writerow([*by, "count"])
        for row in rows:
            writer.writerow(neutralise(v) if isinstance(v, str) else "" if v is None else str(v) for v in row)
        return
    for row in rows:
        click.echo("\t".join(str(v) for v in row))
    click.echo(
        f"{len(table.hidden)} cell(s) hidden (fewer than {current_app.config['STATS_THRESHOLD']} cases, "
        f"or would give such a cell away); '{TOTAL}' rows are totals.",
        err=True,
    )
