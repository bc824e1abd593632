"""`collector tasks`: follow-up tasks owed by a person's home province (issue 10)."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from collector.cli.base import act_as, as_option, fail, main
from collector.db import get_session
from ingest.cases import service as cases_service
from ingest.cases.tasks import MAX_PAGE, STATUSES, TASK_READERS, BadTaskQuery, sync_all


@main.group("tasks")
def tasks():
    """Follow-up tasks owed by the home province of a person identified in another."""


@tasks.command("list")
@click.option(
    "--province", "provinces", multiple=True, metavar="CODE", help="Only tasks owed by this home province (repeatable)."
)
@click.option("--status", type=click.Choice(STATUSES), default=None, help="Only open or only closed tasks.")
@click.option("--project", "project_id", default=1, show_default=True)
@as_option
@with_appcontext
def list_tasks(provinces, status, project_id, as_email):
    """Print one JSON object per task, oldest first (no names: the case code and what is known)."""
    session = get_session()
    user = act_as(session, as_email, "submit", "tasks")
    if user is not None and user.role not in TASK_READERS:
        fail(f"A {user.role} may not read tasks.")
    try:
        page, _cursor = cases_service.list_tasks(
            session, project_id, status=status, provinces=provinces, limit=MAX_PAGE, pages=True
        )
    except BadTaskQuery as exc:
        fail(str(exc))
    session.commit()
    for task in page:
        click.echo(json.dumps(task, ensure_ascii=False))


@tasks.command("sync")
@click.option("--project", "project_id", type=int, default=None, help="Only this project (default: all).")
@with_appcontext
def sync(project_id):
    """Rebuild every case's tasks from its records (after upgrading; running it again changes nothing)."""
    session = get_session()
    cases = sync_all(session, project_id)
    click.echo(f"{cases} case(s) looked at.", err=True)
