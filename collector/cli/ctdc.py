"""`collector export-ctdc`: the case register in the CTDC global data set's variables."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from collector.cli.base import act_as, as_option, fail, main
from collector.db import get_session
from ingest.models import Project
from ingest.stats import service as stats_service
from ingest.stats.ctdc import write_csv


@main.command("export-ctdc")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    required=True,
    help="CSV file to write (e.g. ctdc.csv).",
)
@click.option("--project", "project_id", default=1, show_default=True)
@click.option(
    "--threshold",
    type=click.IntRange(min=2),
    default=None,
    metavar="K",
    help="Smallest number of cases that may share a published combination (default and lowest: STATS_THRESHOLD).",
)
@as_option
@with_appcontext
def export_ctdc(output, project_id, threshold, as_email):
    """Write the cases as CTDC's global data set, k-anonymised; refused consent left out (audited)."""
    session = get_session()
    act_as(session, as_email, "stats", "statistics")
    floor = int(current_app.config["STATS_THRESHOLD"])
    k = floor if threshold is None else threshold
    if k < floor:
        fail(f"The threshold may not be below STATS_THRESHOLD ({floor}): the export would single out people.")
    if session.get(Project, project_id) is None:
        fail(f"No project {project_id}.")
    result = stats_service.export_ctdc(session, project_id, k)
    session.commit()
    with open(output, "w", encoding="utf-8", newline="") as out:
        write_csv(result.rows, out)
    click.echo(
        f"{len(result.rows)} case(s) written to {output}; every combination of gender, age, citizenship, "
        f"country, year, duration, type and sector of exploitation is shared by at least {k}: {result.blanked} cell(s) "
        f"blanked, {result.dropped} row(s) left out.",
        err=True,
    )
