"""`collector users`: web users (trainers and ministry staff)."""
from __future__ import annotations

import os
import sys

import click
from flask.cli import with_appcontext

from collector.cli.base import fail, main
from collector.db import get_session
from ingest import audit
from ingest.access import ROLES
from ingest.errors import IngestError


@main.group()
def users():
    """Manage web users (trainers and ministry staff)."""


@users.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), default="analyst", show_default=True)
@click.option("--province", "provinces", multiple=True,
              help="Two-digit province code a provincial officer works in (repeatable).")
@click.option("--password-file", type=click.File("r"), help="Read the password from this file.")
@with_appcontext
def users_create(email, role, provinces, password_file):
    """Create a web user; the password comes from --password-file, COLLECTOR_PASSWORD or a prompt."""
    from ingest.accounts import create_user

    if password_file is not None:
        password = password_file.read().rstrip("\n")
    elif os.environ.get("COLLECTOR_PASSWORD"):
        password = os.environ["COLLECTOR_PASSWORD"]
    elif sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        fail("No password: use --password-file, COLLECTOR_PASSWORD, or run in a terminal.")
    session = get_session()
    try:
        user = create_user(session, email, password, role, provinces=provinces)
        audit.record(session, "user.create", f"user:{user.id}", role=role, provinces=user.provinces)
        session.commit()
    except IngestError as exc:
        fail(exc.message)
    click.echo(f"Created {role} {user.email} (id {user.id}).")
