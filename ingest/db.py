"""Declarative base, engine and session factory shared by every writer and reader."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ClassVar

from sqlalchemy import JSON, MetaData, Table, create_engine, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from ingest import generations

logger = logging.getLogger(__name__)

#: Stable constraint names, so Alembic revisions can refer to them on both engines.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: JSON on SQLite, JSONB on PostgreSQL (indexable, compact).
JSONType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    """Base class of every model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)

    if TYPE_CHECKING:
        # Every model here is declared with mapped_column, so its table is a Table (DeclarativeBase says only
        # FromClause, which has no insert() and which insert()/update()/delete() do not accept).
        __table__: ClassVar[Table]


def insert_ignore(session: Session, model):
    """Return an INSERT for `model` that does nothing when a unique constraint is hit (both engines)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql_insert(model).on_conflict_do_nothing()
    return sqlite_insert(model).on_conflict_do_nothing()


def utcnow() -> datetime:
    """Return the current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def aware(moment: datetime) -> datetime:
    """Return a stored moment as UTC-aware (SQLite hands back naive datetimes even for timezone-aware columns)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


#: Seconds a new PostgreSQL connection may take before the request gives up (and is answered 503).
CONNECT_TIMEOUT = 10


def make_engine(url: str, **kwargs) -> Engine:
    """Create an engine for `url`, with SQLite set up for concurrent writers."""
    if url.startswith("sqlite"):
        # Several gunicorn workers write to one file: wait for the lock instead of failing at once.
        kwargs.setdefault("connect_args", {"timeout": 30})
    else:
        kwargs.setdefault("pool_pre_ping", True)
        # A database host that drops packets (down, or a firewall) would keep a request waiting on libpq's
        # default (no limit, then the system's TCP retries): give up after CONNECT_TIMEOUT seconds, answered 503.
        if url.startswith("postgresql") and "connect_timeout=" not in url:
            kwargs.setdefault("connect_args", {"connect_timeout": CONNECT_TIMEOUT})
    # One connection per gunicorn thread (16 by default) without waiting; a thread holds one only while it
    # talks to the database, never while a body arrives.
    kwargs.setdefault("pool_size", 16)
    kwargs.setdefault("max_overflow", 4)
    # Query parameters are submitted values: never let them reach a log, whatever an operator's log level.
    kwargs.setdefault("hide_parameters", True)
    engine = create_engine(url, **kwargs)
    # psycopg: the generation read sends the transaction's BEGIN with it (one round trip fewer).
    generations.track(engine)
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        _private_file(engine.url.database)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _private_file(path: str) -> None:
    """Create the SQLite file readable by its owner only (0600), and tighten an existing one and its WAL.

    SQLite gives the -wal and -shm files it creates the database file's mode, so they follow.
    """
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    for name in (path, f"{path}-wal", f"{path}-shm"):
        if os.path.exists(name) and os.stat(name).st_mode & 0o077:
            os.chmod(name, 0o600)


def _sqlite_on_connect(dbapi_connection, _record) -> None:
    # pysqlite's own transaction handling defers BEGIN; we issue it ourselves (see _sqlite_on_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_on_begin(conn) -> None:
    # A writer takes the lock up front (IMMEDIATE): a reader that later upgrades to a writer would get
    # SQLITE_BUSY at once, without waiting, when another writer got there first.
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("sqlite_write") else "BEGIN")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Return a session factory bound to `engine`."""
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    event.listen(factory, "after_transaction_end", _forget_write)
    return factory


def _forget_write(session: Session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop("writing", None)


def begin_write(session: Session) -> None:
    """Make the session's transaction a writing one.

    Every function that writes calls this before its first query. On SQLite it ends a read-only
    transaction and takes the write lock up front (BEGIN IMMEDIATE), so that it waits for the lock instead
    of failing. On PostgreSQL (READ COMMITTED: each statement sees the latest commits) the transaction
    simply goes on, saving a round trip.
    """
    if session.info.get("writing"):
        return
    if session.get_bind().dialect.name == "sqlite":
        if session.in_transaction():
            session.commit()
        session.connection(execution_options={"sqlite_write": True})
    session.info["writing"] = True
