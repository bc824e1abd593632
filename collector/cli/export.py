"""`collector export`: write a form's records to a file, as the streamed API export does."""
from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from collector.cli.base import act_as, as_option, find_form, main
from collector.db import get_session
from ingest import audit


@main.command("export")
@click.argument("xml_form_id")
@click.option("--format", "fmt", type=click.Choice(["csv"]), default="csv", show_default=True,
              help="csv: a zip of CSVs, one for the records and one per repeat, as ODK Central names them.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), required=True,
              help="File to write (e.g. case_intake.csv.zip).")
@click.option("--project", "project_id", default=1, show_default=True)
@as_option
@with_appcontext
def export(xml_form_id, fmt, output, project_id, as_email):
    """Export a form's records to a file, with a progress bar on stderr (audited)."""
    from ingest.exports import count_records, csv_zip

    session = get_session()
    user = act_as(session, as_email, "records", "records")
    form = find_form(session, project_id, xml_form_id)
    count = count_records(session, form)
    audit.record(session, "submission.export", f"form:{xml_form_id}", user_id=user.id if user else None,
                 address="cli", count=count, format=fmt)
    session.commit()
    with open(output, "wb") as out, click.progressbar(length=count, label="Exporting records",
                                                      file=sys.stderr) as bar:
        for chunk in csv_zip(session, form, on_record=lambda: bar.update(1)):
            out.write(chunk)
    click.echo(f"{count} record(s) written to {output}.", err=True)
