"""`collector db`: the database schema."""

from __future__ import annotations

from importlib.util import find_spec

import click
from flask import current_app
from flask.cli import with_appcontext

from collector.cli.base import main


@main.group()
def db():
    """Manage the database schema."""


@db.command("upgrade")
@with_appcontext
def db_upgrade():
    """Apply every Alembic migration (creates the database on first run)."""
    upgrade_database(current_app.config["DATABASE_URL"])
    click.echo("Database is up to date.")


def upgrade_database(url: str) -> None:
    """Run `alembic upgrade head` on `url`."""

    from alembic import command  # alembic only for migrations
    from alembic.config import Config  # alembic only for migrations

    # Locate the migrations folder without importing it (it sits above this layer).
    location = find_spec("migrations").submodule_search_locations[0]
    config = Config()
    config.set_main_option("script_location", location)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(config, "head")
