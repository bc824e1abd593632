"""The `collector` command group and what its subcommands share."""

from __future__ import annotations

import functools
import json
import sys

import click
from flask.cli import AppGroup, ScriptInfo
from sqlalchemy import select

from collector import create_app
from ingest import scope
from ingest.access import SYSTEM, user_caller
from ingest.models import Form, User


def _app_factory():
    return create_app()


# A plain group of the project's own commands: Flask's FlaskGroup would add --env-file, --app and --debug,
# which mean nothing to an operator. AppGroup only lets `with_appcontext` build the app from ScriptInfo.
@click.group(cls=AppGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def main(ctx):
    """Run and manage the trafficking case collection server."""
    if ctx.obj is None:  # Flask's test runner passes its own ScriptInfo with the test's app
        ctx.obj = ScriptInfo(create_app=_app_factory, set_debug_flag=False)


def fail(message: str) -> None:
    """Print `message` in red on stderr and exit with status 1."""
    click.secho(message, fg="red", err=True)
    sys.exit(1)


def print_rows(columns: list[str], rows: list[dict], as_json: bool) -> None:
    """Print rows as a JSON array of objects, or as tab-separated lines under a header row of `columns`
    (lists joined with commas, None as `-`)."""
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return
    click.echo("\t".join(columns))
    for row in rows:
        click.echo("\t".join(_cell(row[name]) for name in columns))


def _cell(value) -> str:
    if isinstance(value, list):
        return ",".join(value) or "-"
    return "-" if value is None else str(value)


#: `--json` of the list commands.
json_option = click.option("--json", "as_json", is_flag=True, help="Print a JSON array of objects instead.")


def _attribute(problem, name: str, default=None):
    return getattr(problem, name, default)


def print_problems(problems) -> None:
    """Print a compiler's errors and warnings, each with the sheet and row pyxform gives: the compiler's own
    problems, or the `errors` of a server's JSON answer (dicts with the same names; no level is an error)."""
    for problem in problems:
        get = problem.get if isinstance(problem, dict) else functools.partial(_attribute, problem)
        level, sheet, row = get("level") or "error", get("sheet"), get("row")
        where = ", ".join(x for x in (f"sheet '{sheet}'" if sheet else "", f"row {row}" if row else "") if x)
        click.secho(
            f"  {level}{' (' + where + ')' if where else ''}: {get('message')}",
            fg="red" if level == "error" else "yellow",
            err=True,
        )


def as_option(command):
    """Add `--as EMAIL` to a command that reads records: it then sees exactly what that user may see."""
    return click.option(
        "--as",
        "as_email",
        metavar="EMAIL",
        default=None,
        help="Read as this user: their provinces, redaction and consent rules apply, and the "
        "read is audited under their name. Without it the command reads as the server.",
    )(command)


def act_as(session, email: str | None, right: str, reads: str):
    """Make `session` read for the user `email` (or for the server itself); return that user (or None).

    Exits with status 1 when there is no active user with that email, or their role lacks `right` (an
    ingest.access right; `reads` names it in the message, e.g. "records").
    """

    if email is None:
        scope.use(session, SYSTEM)
        return None
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or user.disabled_at is not None:
        fail(f"No active user with the email {email}.")
    caller = user_caller(user)
    if not caller.may(right):
        fail(f"A {user.role} may not read {reads}.")
    scope.use(session, caller)
    return user


def find_form(session, project_id: int, xml_form_id: str):
    """Return a project's form by its form ID; exit with status 1 naming it when there is none."""

    form = session.scalar(select(Form).where(Form.project_id == project_id, Form.xml_form_id == xml_form_id))
    if form is None:
        fail(f"No form '{xml_form_id}' in project {project_id}.")
    return form
