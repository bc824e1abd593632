"""`collector submissions` and `collector ingest`: read received records, rebuild derived data."""
from __future__ import annotations

import json
import sys

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from collector.cli.base import act_as, as_option, find_form, main
from collector.db import get_session
from ingest import audit, scope
from ingest.access import SYSTEM


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
    from ingest.records import submission_json
    from ingest.queries import submissions_of

    session = get_session()
    user = act_as(session, as_email, "records", "records")
    form = find_form(session, project_id, xml_form_id)
    count = 0
    for sub in session.scalars(submissions_of(form)):
        click.echo(json.dumps(submission_json(session, sub), ensure_ascii=False))
        count += 1
    audit.record(session, "submission.list", f"form:{xml_form_id}", user_id=user.id if user else None,
                 address="cli", count=count)
    session.commit()
    click.echo(f"{count} submission(s).", err=True)


@main.group()
def ingest():
    """Rebuild derived data from what was received."""


@ingest.command("replay")
@click.argument("xml_form_id", required=False)
@with_appcontext
def ingest_replay(xml_form_id):
    """Rebuild the normalised rows of every stored submission (or one form's) from the raw XML, and each
    record's province (field tagged scope_province) and consent to share."""
    from ingest.models import Form, SubmissionVersion
    from ingest.submissions import replay

    session = get_session()
    scope.use(session, SYSTEM)  # the server rebuilds its own derived data
    query = select(SubmissionVersion).order_by(SubmissionVersion.id)
    if xml_form_id:
        query = query.join(Form, Form.id == SubmissionVersion.form_id).where(Form.xml_form_id == xml_form_id)
    ids = list(session.scalars(query.with_only_columns(SubmissionVersion.id)))
    rows = 0
    with click.progressbar(ids, label="Replaying submissions", file=sys.stderr) as bar:
        for version_id in bar:
            rows += replay(session, session.get(SubmissionVersion, version_id))
            session.commit()
    click.echo(f"Replayed {len(ids)} submission version(s) into {rows} row(s).")
