"""`collector persons`: find records of the same person across provinces."""
from __future__ import annotations

import time

import click

from collector.cli.base import fail, main
from ingest.matching import DEFAULT_THRESHOLD


@main.group()
def persons():
    """Find records of the same person across provinces."""


@persons.command("match-file")
@click.argument("records", type=click.Path(exists=True, dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, writable=True),
              help="CSV file to write record_id_a,record_id_b rows to.")
@click.option("--min-score", type=click.FloatRange(0, 1), default=DEFAULT_THRESHOLD, show_default=True,
              help="Match probability from which a pair is written.")
def persons_match_file(records, output, min_score):
    """Match the records of a CSV file (the development set's columns) and write the likely duplicate pairs."""
    from ingest.matching import match_file

    started = time.monotonic()
    try:
        summary = match_file(records, output, min_score)
    except (KeyError, ValueError, UnicodeDecodeError) as exc:
        fail(f"Cannot match {records}: {exc}")
    click.echo(f"{summary.records} records ({summary.skipped_without_name} without a name, skipped); "
               f"{summary.pairs} pairs written to {output} in {time.monotonic() - started:.1f} s")
