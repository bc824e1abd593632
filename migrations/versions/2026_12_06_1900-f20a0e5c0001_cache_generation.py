"""A generation number bumped by triggers on every change of the tables the per-process caches hold.

Workers cache devices, forms and their versions (ingest/generations.py) and check this one number once per
request; every INSERT, UPDATE, DELETE (or TRUNCATE on PostgreSQL) of a watched table bumps it in the same
transaction, so every worker reloads from the moment the change commits.

The row is created by the first change, with a random start (an emptied and refilled database never meets its
old numbers), and counted up after that.

Revision ID: f20a0e5c0001
Revises: wf19a0e50001
Create Date: 2026-12-06 19:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "f20a0e5c0001"
down_revision = "wf19a0e50001"
branch_labels = None
depends_on = None

#: The same list as ingest.generations.WATCHED, frozen here as migrations are.
WATCHED = ("projects", "devices", "device_forms", "forms", "form_versions")

_PG_FUNCTION = """
CREATE FUNCTION bump_cache_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO cache_generation (id, value) VALUES (1, floor(random() * 4611686018427387904)::bigint)
    ON CONFLICT (id) DO UPDATE SET value = cache_generation.value + 1;
    RETURN NULL;
END
$$
"""
_SQLITE_BUMP = (
    "INSERT INTO cache_generation (id, value) VALUES (1, abs(random() / 2)) "
    "ON CONFLICT (id) DO UPDATE SET value = value + 1;"
)


def upgrade() -> None:
    op.create_table(
        "cache_generation",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cache_generation")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        for table in WATCHED:
            op.execute(
                f"CREATE TRIGGER bump_cache_generation AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION bump_cache_generation()"
            )
    else:
        for table in WATCHED:
            for event in ("INSERT", "UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER bump_cache_generation_{table}_{event.lower()} AFTER {event} ON {table} "
                    f"BEGIN {_SQLITE_BUMP} END"
                )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in WATCHED:
            op.execute(f"DROP TRIGGER IF EXISTS bump_cache_generation ON {table}")
        op.execute("DROP FUNCTION IF EXISTS bump_cache_generation()")
    else:
        for table in WATCHED:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS bump_cache_generation_{table}_{event}")
    op.drop_table("cache_generation")
