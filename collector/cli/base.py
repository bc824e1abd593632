"""The `collector` command group and what its subcommands share."""
from __future__ import annotations

import sys

import click
from flask.cli import FlaskGroup

from collector import create_app


def _app_factory():
    return create_app()


@click.group(cls=FlaskGroup, create_app=_app_factory, add_default_commands=False, add_version_option=False)
def main():
    """Run and manage the trafficking case collection server."""


def fail(message: str) -> None:
    """Print `message` in red on stderr and exit with status 1."""
    click.secho(message, fg="red", err=True)
    sys.exit(1)


def print_problems(problems) -> None:
    """Print a compiler's errors and warnings, each with the sheet and row pyxform gives."""
    for problem in problems:
        colour = "red" if problem.level == "error" else "yellow"
        where = ", ".join(x for x in (f"sheet '{problem.sheet}'" if problem.sheet else "",
                                      f"row {problem.row}" if problem.row else "") if x)
        click.secho(f"  {problem.level}{' (' + where + ')' if where else ''}: {problem.message}", fg=colour, err=True)
