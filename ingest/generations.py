"""Per-process caches of what rarely changes (devices, forms, their versions and assignments), correct across
gunicorn workers and hosts: one generation number in the database, checked once per transaction.

Every INSERT, UPDATE, DELETE (and TRUNCATE) of `projects`, `devices`, `device_forms`, `forms` or
`form_versions` bumps the single row of `cache_generation`, by a database trigger in the same transaction
(migrations/versions/..._f20a0e5c0001_cache_generation.py): whoever makes the change, a web worker, the command
line or a hand-typed SQL statement, every worker sees the new number with the first query of its next request
and reloads what it had cached. A revoked device or a closed, replaced or unassigned form is therefore refused
by every worker from the moment the change commits, as it was when every request read them afresh.

Order matters, and is kept here: a request reads the generation first, then (on a miss) the data, and files
the data under the generation it read. Data read after a newer change committed is filed under the older
number, which is then never seen again: the only cost is one more reload, never a stale answer.

When the row is missing (a fresh database before its first change, or one emptied by the tests) nothing is
cached. The row is created with a random value and counts up from there, so an emptied and refilled database
never meets the numbers of its former contents.

Batch migrations on SQLite recreate a table and lose its triggers: a migration that batch-alters one of the
tables above must create its trigger again (tests/ingest/test_generations.py checks each at head).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from psycopg.pq import TransactionStatus
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

#: The tables whose every change bumps the generation.
WATCHED = ("projects", "devices", "device_forms", "forms", "form_versions")


_READ = "SELECT value FROM cache_generation WHERE id = 1"
#: On psycopg: the transaction's BEGIN and the read in one simple query, one round trip instead of two.
_BEGIN_AND_READ = f"BEGIN; {_READ}"
_KEY = "cache_generation"
#: Set in a pooled connection's info while its driver connection is in autocommit mode because of _read.
_BEGUN = "generations.begun"


def current(session: Session) -> int | None:
    """Return the generation as this session's transaction sees it (read once per transaction), or None."""
    transaction = session.get_transaction()
    seen = session.info.get(_KEY)
    if transaction is not None and seen is not None and seen[0] is transaction:
        return seen[1]
    # A plain driver statement: no ORM, no compilation, one round trip (the transaction's first, often).
    value = _read(session.connection())
    session.info[_KEY] = (session.get_transaction(), value)
    return value


def _read(connection: Connection) -> int | None:
    """Read the generation on `connection`, with the transaction's BEGIN when the driver has yet to send it.

    psycopg sends BEGIN as a round trip of its own before a transaction's first statement. When the read is
    that first statement, it goes with the BEGIN instead, as one simple query ("BEGIN; SELECT ..."), with
    the driver connection switched to autocommit so that it sends no BEGIN of its own. The transaction is
    then the one psycopg would have begun: psycopg commits and rolls back by the server's transaction
    status, not by its autocommit flag, and the flag is switched back (by `track`'s listeners) before the
    connection's next transaction and when it returns to the pool.
    """
    raw = connection.connection.driver_connection
    if connection.dialect.driver != "psycopg" or raw is None or not _can_begin(raw):
        return connection.exec_driver_sql(_READ).scalar()
    dbapi = connection.dialect.loaded_dbapi
    try:
        raw.autocommit = True
        connection.info[_BEGUN] = True
        with raw.cursor() as cursor:
            cursor.execute(_BEGIN_AND_READ)
            cursor.nextset()
            row = cursor.fetchone()
    except dbapi.Error as exc:
        # As SQLAlchemy does for its own statements: a lost connection is invalidated (the pool replaces it)
        # and the error reaches the caller as SQLAlchemy's (answered 503 like any other).
        invalidated = connection.dialect.is_disconnect(exc, raw, None)
        if invalidated:
            connection.invalidate(exc)
        raise sa_exc.DBAPIError.instance(
            _BEGIN_AND_READ,
            None,
            exc,
            dbapi.Error,
            hide_parameters=True,
            connection_invalidated=invalidated,
            dialect=connection.dialect,
        ) from exc
    return row[0] if row else None


def _can_begin(raw) -> bool:
    """Whether psycopg has yet to begin this transaction, at the default isolation and access mode."""
    return (
        raw.pgconn.transaction_status == TransactionStatus.IDLE
        and not raw.autocommit
        and raw.isolation_level is None
        and raw.read_only is None
        and raw.deferrable is None
    )


def _restore(connection_info: dict, raw) -> None:
    """Switch a driver connection that `_read` put in autocommit back, once its transaction has ended."""
    if raw.pgconn.transaction_status == TransactionStatus.IDLE:
        raw.autocommit = False
        connection_info.pop(_BEGUN, None)


def track(engine: Engine) -> None:
    """Listen on `engine` (psycopg only) so that a connection `_read` began is back to normal afterwards."""
    if engine.dialect.driver != "psycopg" or event.contains(engine, "begin", _on_begin):
        return
    event.listen(engine, "begin", _on_begin)
    event.listen(engine.pool, "checkin", _on_checkin)


def _on_begin(connection: Connection) -> None:
    # A connection held across transactions (not returned to the pool in between).
    if _BEGUN in connection.info:
        _restore(connection.info, connection.connection.driver_connection)


def _on_checkin(dbapi_connection, record) -> None:
    if dbapi_connection is not None and _BEGUN in record.info:
        _restore(record.info, dbapi_connection)


K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class GenerationCache(Generic[K, V]):
    """A per-process map whose entries count only under the generation they were read at."""

    def __init__(self, size: int = 4096):
        self._size = size
        self._entries: dict[K, tuple[int, V]] = {}
        self._lock = threading.Lock()

    def get(self, session: Session, key: K, load: Callable[[], V]) -> V:
        """Return the value of `key` cached at the current generation, else `load()` it (and cache it)."""
        generation = current(session)
        if generation is None:
            return load()
        found = self._entries.get(key)
        if found is not None and found[0] == generation:
            return found[1]
        value = load()
        with self._lock:
            if len(self._entries) >= self._size:
                self._entries.clear()
            self._entries[key] = (generation, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
