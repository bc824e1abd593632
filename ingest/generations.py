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

from sqlalchemy.orm import Session

#: The tables whose every change bumps the generation.
WATCHED = ("projects", "devices", "device_forms", "forms", "form_versions")


_READ = "SELECT value FROM cache_generation WHERE id = 1"
_KEY = "cache_generation"


def current(session: Session) -> int | None:
    """Return the generation as this session's transaction sees it (read once per transaction), or None."""
    transaction = session.get_transaction()
    seen = session.info.get(_KEY)
    if transaction is not None and seen is not None and seen[0] is transaction:
        return seen[1]
    # A plain driver statement: no ORM, no compilation, one round trip (the transaction's first, often).
    value = session.connection().exec_driver_sql(_READ).scalar()
    session.info[_KEY] = (session.get_transaction(), value)
    return value


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
