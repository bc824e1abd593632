"""Sign-in limits: atomic counts of failed sign-ins per account, address and known device, with growing waits."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import timedelta
from typing import cast

from sqlalchemy import case, delete, literal, null, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from ingest.db import aware, utcnow
from ingest.models import SignInLimit


def account_key(email: str) -> str:
    """Return the sha256 of a lower-cased email: failures are counted per account without storing who was tried."""
    return hashlib.sha256((email or "").strip().lower().encode()).hexdigest()


@dataclass(frozen=True)
class SignInPolicy:
    """How many failed sign-ins a key may have, and the delays that follow (collector.config SIGNIN_*)."""

    #: Failures in a row allowed before the first delay.
    limit: int = 10
    #: Failures are forgotten once this long has passed since a key's last attempt.
    window: timedelta = timedelta(minutes=60)
    #: The first delay; each further failure doubles it, up to max_delay.
    first_delay: timedelta = timedelta(seconds=30)
    max_delay: timedelta = timedelta(minutes=15)

    def delay(self, failures: int) -> timedelta:
        """Return the wait after the `failures`-th failure in a row (none below the limit)."""
        if failures < self.limit:
            return timedelta(0)
        return min(self.max_delay, self.first_delay * 2 ** min(failures - self.limit, 30))


def _limits_connection(session: Session):
    # The counters are written on a connection of their own and committed at once: the request's transaction
    # must not hold them (or the write lock) while a password is hashed, and a refused request still counts.
    # The app's sessions are bound to an Engine (ingest.db), never to a Connection.
    return cast(Engine, session.get_bind()).connect().execution_options(sqlite_write=True)


def _insert(dialect: str):
    return sqlite_insert if dialect == "sqlite" else pg_insert


def reserve_sign_in(session: Session, keys: list[str], policy: SignInPolicy) -> int:
    """Count a sign-in attempt against every key before its password is checked; return 0 when it may go on,
    else the seconds to wait (the keys already counted for it are given back).

    Each key is counted by one INSERT ... ON CONFLICT DO UPDATE ... RETURNING, on SQLite and PostgreSQL alike,
    which counts only while the key is not blocked: of many parallel attempts exactly `limit` get through.
    The attempt that reaches the limit blocks the key until its outcome is known (sign_in_failed or
    sign_in_succeeded), so no parallel attempt slips past it either.
    """
    now = utcnow()
    table = SignInLimit.__table__
    held = literal(now + policy.max_delay, SignInLimit.blocked_until.type)
    with _limits_connection(session) as conn, conn.begin():
        taken = []
        for key in keys:
            stale = table.c.last_at <= now - policy.window
            failures = case((stale, 1), else_=table.c.failures + 1)
            statement = _insert(conn.dialect.name)(table).values(
                key=key, failures=1, last_at=now, blocked_until=held if policy.limit <= 1 else None
            )
            statement = statement.on_conflict_do_update(
                index_elements=[table.c.key],
                set_={
                    "failures": failures,
                    "last_at": now,
                    "blocked_until": case((failures >= policy.limit, held), else_=null()),
                },
                where=or_(stale, table.c.blocked_until.is_(None), table.c.blocked_until <= now),
            ).returning(table.c.failures)
            if conn.execute(statement).scalar() is not None:
                taken.append(key)
                continue
            until = conn.scalar(select(table.c.blocked_until).where(table.c.key == key))
            for done in taken:
                _give_back(conn, done, now)
            return max(1, math.ceil((aware(until) - now).total_seconds())) if until is not None else 1
    return 0


def _give_back(conn, key: str, now) -> None:
    table = SignInLimit.__table__
    conn.execute(
        update(table)
        .where(table.c.key == key)
        .values(
            failures=case((table.c.failures > 0, table.c.failures - 1), else_=0),
            blocked_until=case((table.c.blocked_until > now, now), else_=table.c.blocked_until),
        )
    )


def sign_in_failed(session: Session, keys: list[str], policy: SignInPolicy) -> int:
    """Block each key that has reached the limit for its delay; return the longest delay in seconds (0: none)."""
    now = utcnow()
    table = SignInLimit.__table__
    longest = 0
    with _limits_connection(session) as conn, conn.begin():
        for key in keys:
            failures = conn.scalar(select(table.c.failures).where(table.c.key == key)) or 0
            delay = policy.delay(failures)
            if delay:
                conn.execute(update(table).where(table.c.key == key).values(blocked_until=now + delay))
                longest = max(longest, math.ceil(delay.total_seconds()))
        conn.execute(
            delete(table).where(
                table.c.last_at <= now - policy.window,
                or_(table.c.blocked_until.is_(None), table.c.blocked_until <= now),
            )
        )
    return longest


def sign_in_succeeded(session: Session, keys: list[str], forget: list[str]) -> None:
    """Give back a successful attempt's count: the keys in `forget` (the account, the browser) start afresh,
    the others (the address) lose this one attempt only, so a guesser cannot clear them with an account of
    their own."""
    now = utcnow()
    table = SignInLimit.__table__
    with _limits_connection(session) as conn, conn.begin():
        for key in keys:
            if key in forget:
                conn.execute(delete(table).where(table.c.key == key))
            else:
                _give_back(conn, key, now)
