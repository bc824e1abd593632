"""The database part of a backup: every table's rows, read in one consistent snapshot, as JSON lines.

Why rows through SQLAlchemy rather than `pg_dump`: a restore goes into an *empty database already migrated by
`collector db upgrade`* (so the schema, its indexes and constraints come from the migrations, never from the
backup), in one transaction that either loads everything or nothing. A `pg_dump` archive carries its own
schema: restoring it into a migrated database means `--data-only` with triggers disabled, a pg_restore of the
same major version as the server, and no single transaction around the media. Rows as JSON lines restore the
same way on both engines, need no client binary, and can even move a SQLite installation to PostgreSQL.

Consistency: on PostgreSQL every table is read inside one REPEATABLE READ, READ ONLY transaction, so the dump
is one snapshot however long it takes while submissions keep arriving. On SQLite the online backup API
(`sqlite3.Connection.backup`) first copies the database file as it is at one instant; the rows are then read
from that copy.

Line format: one JSON array ``[table name, {column: value}]`` per row, tables in foreign-key order, rows in
primary-key order. Values JSON cannot carry are written as text and read back by the column's type:
date-times and dates in ISO 8601 (with their UTC offset), bytes in base64.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import tempfile
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import (
    Connection,
    Date,
    DateTime,
    Engine,
    LargeBinary,
    Table,
    create_engine,
    func,
    inspect,
    select,
    text,
)

import ingest.models
import ingest.person_models
import ingest.session_models
import ingest.task_models  # noqa: F401  (every model registers its table on Base.metadata)
from ingest.db import Base

_BATCH = 500


def tables() -> list[Table]:
    """Every table of the schema, each after the tables its foreign keys point at.

    Except a table marked `info={"backup": False}`: the cache generation (ingest/generations.py), which the
    restored rows' own inserts set again.
    """
    return [table for table in Base.metadata.sorted_tables if table.info.get("backup", True)]


def _encode(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    return value


def _decoder(table: Table):
    kinds = {}
    for column in table.columns:
        if isinstance(column.type, DateTime):
            kinds[column.name] = datetime.fromisoformat
        elif isinstance(column.type, Date):
            kinds[column.name] = date.fromisoformat
        elif isinstance(column.type, LargeBinary):
            kinds[column.name] = base64.b64decode

    def decode(row: dict) -> dict:
        for name, parse in kinds.items():
            if row.get(name) is not None:
                row[name] = parse(row[name])
        return row

    return decode


def _revision(conn: Connection) -> str | None:
    return conn.scalar(text("SELECT version_num FROM alembic_version"))


def _dump_rows(conn: Connection, out: IO[bytes]) -> tuple[dict[str, int], list[str]]:
    counts, blobs = {}, []
    for table in tables():
        counts[table.name] = 0
        query = select(table).order_by(*table.primary_key.columns)
        for row in conn.execution_options(yield_per=_BATCH).execute(query).mappings():
            encoded = {name: _encode(value) for name, value in row.items()}
            out.write(json.dumps([table.name, encoded], ensure_ascii=False, separators=(",", ":")).encode() + b"\n")
            counts[table.name] += 1
            if table.name == "blobs":
                blobs.append(row["sha256"])
    return counts, blobs


def dump(engine: Engine, out: IO[bytes]) -> tuple[str | None, dict[str, int], list[str]]:
    """Write every row of the database to `out`; return (schema revision, rows per table, sha256 of each blob)."""
    if engine.dialect.name == "sqlite":
        with tempfile.TemporaryDirectory(prefix="collector-backup-") as folder:
            copy = Path(folder) / "snapshot.sqlite3"
            source = sqlite3.connect(engine.url.database or "", timeout=30)
            target = sqlite3.connect(copy)
            try:
                source.backup(target)  # one consistent instant, even while gunicorn writes
            finally:
                target.close()
                source.close()
            snapshot = create_engine(f"sqlite:///{copy}")
            try:
                with snapshot.connect() as conn:
                    return _revision(conn), *_dump_rows(conn, out)
            finally:
                snapshot.dispose()
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
        conn.execute(text("SET TRANSACTION READ ONLY"))
        return _revision(conn), *_dump_rows(conn, out)


def rows(lines: IO[bytes]) -> Iterator[tuple[Table, dict]]:
    """Read back what `dump` wrote: (table, row with Python values) in the order written."""
    known = {table.name: (table, _decoder(table)) for table in tables()}
    for number, line in enumerate(lines, 1):
        name, row = json.loads(line)
        if name not in known:
            raise ValueError(f"line {number} names a table this version does not have: {name}")
        table, decode = known[name]
        yield table, decode(row)


def first_rows(conn: Connection) -> tuple[str, int] | None:
    """Return (table, rows) for the first table of the schema that holds rows, or None when all are empty."""
    for table in tables():
        count = conn.scalar(select(func.count()).select_from(table))
        if count:
            return table.name, count
    return None


def load(conn: Connection, lines: IO[bytes]) -> dict[str, int]:
    """Insert every row `dump` wrote into the (empty) database of `conn`; return rows per table.

    The caller holds the transaction. On PostgreSQL the sequences behind integer keys are then moved past the
    restored ids, so that new rows do not collide with them.
    """
    counts: dict[str, int] = {}
    batch: list[dict] = []
    current: Table | None = None
    for table, row in rows(lines):
        if table is not current or len(batch) >= _BATCH:
            if current is not None and batch:
                conn.execute(current.insert(), batch)
            batch, current = [], table
        batch.append(row)
        counts[table.name] = counts.get(table.name, 0) + 1
    if current is not None and batch:
        conn.execute(current.insert(), batch)
    if conn.dialect.name == "postgresql":
        _advance_sequences(conn)
    return counts


def _advance_sequences(conn: Connection) -> None:
    for table in tables():
        for column in table.primary_key.columns:
            sequence = conn.scalar(
                text("SELECT pg_get_serial_sequence(:table, :column)"), {"table": table.name, "column": column.name}
            )
            if sequence:
                highest = conn.scalar(select(func.max(column)))
                conn.execute(
                    text("SELECT setval(:sequence, :next, false)"), {"sequence": sequence, "next": (highest or 0) + 1}
                )


def revision(conn: Connection) -> str | None:
    """Return the database's schema revision, or None when it has not been migrated."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    return _revision(conn)
