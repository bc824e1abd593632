"""`collector export`: write a form's records to a file, as the streamed API exports do."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from collector.cli.base import act_as, as_option, fail, find_form, main
from collector.db import get_session, get_store
from ingest.exports.service import export_records
from ingest.exports.walk import count_records


@main.command("export")
@click.argument("xml_form_id")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "xlsx", "geojson"]),
    default="csv",
    show_default=True,
    help="csv: a zip of CSVs, one for the records and one per repeat, as ODK Central names them; "
    "xlsx: the same tables as sheets of one workbook; geojson: one point per geopoint answer.",
)
@click.option(
    "--lang",
    type=click.Choice(["lo", "en"]),
    default=None,
    help="Write choice labels in this language instead of choice names.",
)
@click.option("--attachments", is_flag=True, help="csv only: add the records' files as media/<name>.")
@click.option(
    "--raw",
    is_flag=True,
    help="csv only: write text answers as received, without the quote put before a cell that starts "
    "with =, +, -, @, a tab or a carriage return (a spreadsheet would run it as a formula).",
)
@click.option("--geopoint", default=None, metavar="FIELD", help="geojson only: keep this geopoint question.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    required=True,
    help="File to write (e.g. case_intake.csv.zip).",
)
@click.option("--project", "project_id", default=1, show_default=True)
@as_option
@with_appcontext
def export(xml_form_id, fmt, lang, attachments, raw, geopoint, output, project_id, as_email):
    """Export a form's records to a file, with a progress bar on stderr (audited)."""
    if attachments and fmt != "csv":
        fail("--attachments goes with --format csv.")
    if raw and fmt != "csv":
        fail("--raw goes with --format csv.")
    if geopoint and fmt != "geojson":
        fail("--geopoint goes with --format geojson.")
    session = get_session()
    act_as(session, as_email, "records", "records")
    form = find_form(session, project_id, xml_form_id)
    with click.progressbar(length=count_records(session, form), label="Exporting records", file=sys.stderr) as bar:
        try:
            count, stream = export_records(
                session,
                fmt,
                form,
                lang=lang,
                store=get_store(),
                attachments=attachments,
                raw=raw,
                geopoint=geopoint,
                on_record=lambda: bar.update(1),
            )
            chunks = stream()
        except LookupError:
            fail(f"{geopoint} is no geopoint question of {xml_form_id}.")
        session.commit()
        with open(output, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
    click.echo(f"{count} record(s) written to {output}.", err=True)
