"""`collector users`: web users (trainers and ministry staff)."""

from __future__ import annotations

import os
import sys

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from collector.cli.base import fail, json_option, main, print_rows
from collector.db import get_session
from ingest.access import ROLES
from ingest.accounts.admin import add_user, user_updated
from ingest.accounts.users import set_disabled, set_role
from ingest.errors import IngestError
from ingest.models import User


@main.group()
def users():
    """Manage web users (trainers and ministry staff)."""


@users.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), default="analyst", show_default=True)
@click.option(
    "--province", "provinces", multiple=True, help="Two-digit province code a provincial officer works in (repeatable)."
)
@click.option("--password-file", type=click.File("r"), help="Read the password from this file.")
@with_appcontext
def users_create(email, role, provinces, password_file):
    """Create a web user; the password comes from --password-file, COLLECTOR_PASSWORD or a prompt."""

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
        user = add_user(session, email, password, role, provinces=provinces)
        session.commit()
    except IngestError as exc:
        fail(exc.message)
    click.echo(f"Created {role} {user.email} (id {user.id}).")


def find_user(session, email: str) -> User:
    """Return the user with this email (disabled or not); exit with status 1 when there is none."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        fail(f"No user with the email {email}.")
    return user


@users.command("list")
@json_option
@with_appcontext
def users_list(as_json):
    """List web users: id, email, role, provinces, and whether access is disabled."""
    rows = [
        {
            "id": user.id,
            "email": user.email,
            "role": user.role,
            "provinces": list(user.provinces),
            "state": f"disabled {user.disabled_at:%Y-%m-%d}" if user.disabled_at else "active",
        }
        for user in get_session().scalars(select(User).order_by(User.id))
    ]
    print_rows(["id", "email", "role", "provinces", "state"], rows, as_json)


@users.command("set-role")
@click.argument("email")
@click.argument("role", type=click.Choice(ROLES))
@click.option(
    "--province",
    "provinces",
    multiple=True,
    help="Two-digit province code a provincial officer works in (repeatable); replaces the old ones.",
)
@with_appcontext
def users_set_role(email, role, provinces):
    """Give a user a role and provinces, replacing the old ones (audited)."""

    session = get_session()
    user = find_user(session, email)
    try:
        set_role(session, user, role, provinces)
    except IngestError as exc:
        fail(exc.message)
    user_updated(session, user, role=role, provinces=user.provinces)
    session.commit()
    click.echo(f"{user.email} is now {role}" + (f" in {', '.join(user.provinces)}." if user.provinces else "."))


def _set_access(email: str, disabled: bool) -> None:

    session = get_session()
    user = find_user(session, email)
    if (user.disabled_at is not None) == disabled:
        click.echo(f"{user.email} is already {'disabled' if disabled else 'enabled'}.")
        return
    set_disabled(session, user, disabled)
    user_updated(session, user, disabled=disabled)
    session.commit()
    click.echo(f"{'Disabled' if disabled else 'Enabled'} {user.email}.")


@users.command("disable")
@click.argument("email")
@with_appcontext
def users_disable(email):
    """Disable a user: their sessions end and their API tokens are refused from the next request on."""
    _set_access(email, True)


@users.command("enable")
@click.argument("email")
@with_appcontext
def users_enable(email):
    """Let a disabled user sign in again (their unrevoked API tokens work again too)."""
    _set_access(email, False)
