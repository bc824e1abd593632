"""`collector submissions` and `collector ingest`: read received records, rebuild derived data."""

from __future__ import annotations

import json
import sys

import click
from flask.cli import with_appcontext

from collector.cli.base import act_as, as_option, find_form, main
from collector.db import get_session
from ingest.receiving.replay import count_replayable, replay_all
from ingest.records.service import stream_records


@main.group()
def submissions():
    """Read received submissions."""


@submissions.command("list")
@click.argument("xml_form_id")
@click.option("--project", "project_id", default=1, show_default=True)
@as_option
@with_appcontext
def submissions_list(xml_form_id, project_id, as_email):
    """Print a form's submissions with their normalised values, one JSON object a line."""

    session = get_session()
    act_as(session, as_email, "records", "records")
    form = find_form(session, project_id, xml_form_id)
    count, records = stream_records(session, form)
    session.commit()
    for body in records():
        click.echo(json.dumps(body, ensure_ascii=False))
    click.echo(f"{count} submission(s).", err=True)


@main.group()
def ingest():
    """Rebuild derived data from what was received."""


@ingest.command("replay")
@click.argument("xml_form_id", required=False)
@click.option("--form", "form_option", metavar="FORM_ID", help="Replay only this form's records (as the argument).")
@click.option(
    "--batch", default=500, show_default=True, type=click.IntRange(1, 10000), help="Versions replayed per transaction."
)
@with_appcontext
def ingest_replay(xml_form_id, form_option, batch):
    """Rebuild the normalised rows of every stored submission (or one form's) from the raw XML, each
    record's province (field tagged scope_province), consent to share and case code, and the case register.

    Runs as the server, a page of versions per transaction; safe to run again (same rows, same register).
    """

    if xml_form_id and form_option and xml_form_id != form_option:
        raise click.UsageError("Name the form once: as the argument or with --form.")
    xml_form_id = xml_form_id or form_option
    session = get_session()
    total = count_replayable(session, xml_form_id)
    session.rollback()
    with click.progressbar(length=total, label="Replaying submissions", file=sys.stderr) as bar:
        versions, rows = replay_all(session, xml_form_id, batch=batch, on_page=bar.update)
    click.echo(f"Replayed {versions} submission version(s) into {rows} row(s).")
