"""`collector tokens`: long-lived, named, revocable API tokens for tools (pyodk, Power BI)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from collector.cli.base import fail, main
from collector.cli.users import find_user
from collector.db import get_session
from ingest.accounts.admin import add_api_token, end_api_token
from ingest.accounts.users import token_live
from ingest.errors import IngestError
from ingest.models import ApiToken


@main.group()
def tokens():
    """Manage API tokens: each acts as its user, with that user's rights and no more."""


@tokens.command("create")
@click.argument("name")
@click.option("--user", "email", required=True, help="Email of the user the token acts as.")
@click.option(
    "--expires",
    "days",
    type=click.IntRange(1, 3650),
    default=None,
    help="Days until the token expires (default: never; revoke it when the tool is retired).",
)
@with_appcontext
def tokens_create(name, email, days):
    """Make an API token and print it once: only its hash is kept, so it cannot be shown again."""

    session = get_session()
    user = find_user(session, email)
    if user.disabled_at is not None:
        fail(f"{user.email} is disabled; enable the user first.")
    try:
        token, row = add_api_token(session, user, name, days, expiresDays=days)
    except IngestError as exc:
        fail(exc.message)
    session.commit()
    click.echo(
        f"Created API token {row.id} '{row.name}' for {user.email}"
        + (f", expiring {row.expires_at:%Y-%m-%d %H:%M} UTC." if row.expires_at else ", with no expiry.")
    )
    click.echo("Send it as 'Authorization: Bearer <token>'. It is shown only this once:")
    click.echo(token)


@tokens.command("list")
@click.option("--user", "email", default=None, help="Only this user's tokens.")
@with_appcontext
def tokens_list(email):
    """List API tokens (never their secrets): id, name, user, state, last use."""
    session = get_session()
    query = select(ApiToken).order_by(ApiToken.id)
    if email is not None:
        query = query.where(ApiToken.user_id == find_user(session, email).id)
    for row in session.scalars(query):
        if row.revoked_at is not None:
            state = f"revoked {row.revoked_at:%Y-%m-%d}"
        elif not token_live(row):
            state = "expired"
        else:
            state = f"expires {row.expires_at:%Y-%m-%d}" if row.expires_at else "no expiry"
        used = f"{row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else "never used"
        click.echo(f"{row.id}\t{row.name}\t{row.user.email}\t{state}\t{used}")


@tokens.command("revoke")
@click.argument("token_id", type=click.IntRange(1, 2**31 - 1))
@with_appcontext
def tokens_revoke(token_id):
    """Revoke an API token: its next request is refused."""

    session = get_session()
    row = session.get(ApiToken, token_id)
    if row is None:
        fail(f"No API token with the id {token_id}.")
    end_api_token(session, row)
    session.commit()
    click.echo(f"Revoked API token {row.id} '{row.name}' of {row.user.email}.")
