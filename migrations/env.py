"""Alembic environment: takes the URL from the caller or DATABASE_URL, batch mode for SQLite."""

import os

from alembic import context

import ingest.models  # noqa: F401  (registers the tables for autogenerate)
from ingest.db import Base, make_engine

config = context.config
url = config.get_main_option("sqlalchemy.url") or os.environ.get("DATABASE_URL")
if not url:
    raise SystemExit("No database URL: set DATABASE_URL or use `collector db upgrade`.")


def run_migrations_offline() -> None:
    """Emit SQL for the migrations without a connection."""
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on a live connection."""
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
