"""The one Alembic history: it matches the models and runs down and up again on each engine."""

from __future__ import annotations

from importlib.util import find_spec

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from ingest.db import Base, make_engine


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", find_spec("migrations").submodule_search_locations[0])
    config.set_main_option("sqlalchemy.url", url)
    return config


def test_models_and_migrations_agree(clean_db):
    engine = make_engine(clean_db)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), Base.metadata)
    engine.dispose()
    assert diff == []


def test_downgrade_to_base_and_upgrade_again(clean_db):
    config = alembic_config(clean_db)
    command.downgrade(config, "base")
    engine = make_engine(clean_db)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    command.upgrade(config, "head")
    engine = make_engine(clean_db)
    assert {"submissions", "form_versions", "device_forms", "audit_events"} <= set(inspect(engine).get_table_names())
    engine.dispose()
