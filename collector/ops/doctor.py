"""`collector doctor`'s checks: is everything the server needs there and working? One finding per check.

Each check takes the app (inside its application context) and returns a Finding; it never raises, so one
broken part never hides the state of the others. Findings name settings, paths, counts and sha256 digests,
never a record's content.
"""

from __future__ import annotations

import hashlib
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

import requests
from flask import Flask
from sqlalchemy import select, text

from collector.jobs import queue_state
from collector.ops import publicurl
from forms.java import java_problem
from ingest import scope
from ingest.access import SYSTEM
from ingest.models import Blob

#: Seconds the public URL has to answer.
URL_TIMEOUT = 10


@dataclass
class Finding:
    """What one check found: `ok`, `warn` (works, but worth a look) or `FAIL`."""

    name: str
    status: str
    detail: str

    @property
    def failed(self) -> bool:
        return self.status == "FAIL"


def _ok(name: str, detail: str) -> Finding:
    return Finding(name, "ok", detail)


def _fail(name: str, detail: str) -> Finding:
    return Finding(name, "FAIL", detail)


def _why(exc: BaseException) -> str:
    """Say what went wrong in one line: the exception's type and first line (settings and paths, not data)."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {first}"[:300] if first else type(exc).__name__


def check_database(app: Flask) -> Finding:
    """The database answers, and its schema is at the newest migration."""
    from alembic.runtime.migration import MigrationContext  # alembic only for migrations
    from alembic.script import ScriptDirectory  # alembic only for migrations

    # Located without importing the migrations package, as collector.cli.db does.
    heads = set(ScriptDirectory(find_spec("migrations").submodule_search_locations[0]).get_heads())
    engine = app.extensions["collector.engine"]
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            current = set(MigrationContext.configure(conn).get_current_heads())
    except Exception as exc:
        return _fail("database", f"not reachable at {engine.url.render_as_string(hide_password=True)}: {_why(exc)}")
    if current != heads:
        have, newest = ", ".join(sorted(current)) or "none", ", ".join(sorted(heads))
        return _fail("database", f"migrations at {have}, newest is {newest}: run `collector db upgrade`")
    return _ok("database", f"{engine.dialect.name} reachable, migrations at head ({', '.join(sorted(heads))})")


def check_media_store(app: Flask) -> Finding:
    """A file can be written to the media store, read back and removed."""
    store = app.extensions["collector.store"]
    where = app.config["MEDIA_DIR"] if store.local_path("0" * 64) else f"bucket {app.config['S3_BUCKET']}"
    probe = f"collector doctor probe {secrets.token_hex(16)}".encode()
    try:
        stored = store.put_bytes(probe)
        with store.open(stored.sha256) as handle:
            same = handle.read() == probe
        store.remove(stored.sha256, keep_newer_than=0)
    except Exception as exc:
        return _fail("media store", f"{where} is not writable: {_why(exc)}")
    if not same:
        return _fail("media store", f"{where} gave back other bytes than were written")
    return _ok("media store", f"{where} writable")


def check_queue(app: Flask) -> Finding:
    """The job queue answers (Redis, when REDIS_URL is set)."""
    if not app.config.get("REDIS_URL"):
        return _ok("queue", "no REDIS_URL: jobs run on a thread of each web process")
    waiting, failed = queue_state(app)
    if waiting is None:
        return _fail("queue", f"Redis at REDIS_URL does not answer (queue '{app.config['JOB_QUEUE']}')")
    return _ok("queue", f"Redis answers: {waiting} job(s) waiting, {failed} failed job(s) kept")


def check_java(app: Flask) -> Finding:
    """Java 8+ is there for ODK Validate (when forms are validated)."""
    if not app.config["VALIDATE_FORMS"]:
        return Finding("java", "warn", "VALIDATE_FORMS is off: forms are published without ODK Validate")
    problem = java_problem()
    return _fail("java", problem) if problem else _ok("java", "Java 8 or newer found for ODK Validate")


def _existing(path: Path) -> Path:
    """Return `path`, or its nearest parent that exists (a store not yet created lives on its parent's disk)."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_disk(app: Flask) -> Finding:
    """The disks of the media store and of a SQLite database have DISK_MIN_FREE_MB free."""
    minimum = float(app.config["DISK_MIN_FREE_MB"])
    places = {"media store": Path(app.config["MEDIA_DIR"])}
    engine = app.extensions["collector.engine"]
    if engine.dialect.name == "sqlite" and engine.url.database:
        places["database"] = Path(engine.url.database)
    free, short = [], []
    for label, place in places.items():
        try:
            megabytes = shutil.disk_usage(_existing(place)).free / 2**20
        except OSError as exc:
            return _fail("disk space", f"{place}: {_why(exc)}")
        (short if megabytes < minimum else free).append(f"{label} {megabytes:,.0f} MB free")
    if short:
        return _fail("disk space", f"{'; '.join(short)} (DISK_MIN_FREE_MB is {minimum:,.0f})")
    return _ok("disk space", "; ".join(free))


def check_public_url(app: Flask) -> Finding:
    """PUBLIC_URL is known and this server answers there."""
    url = app.config["PUBLIC_URL"]
    warnings = publicurl.warnings(app)
    if app.extensions.get("collector.public_url_origin") == "default":
        return _fail("public URL", "not known: set COLLECTOR_PUBLIC_URL and run `collector setup` once")
    try:
        response = requests.get(url.rstrip("/") + "/v1/projects", timeout=URL_TIMEOUT, allow_redirects=True)
    except requests.RequestException as exc:
        return _fail("public URL", f"{url} does not answer: {type(exc).__name__}")
    if "X-Request-Id" not in response.headers:
        return _fail("public URL", f"{url} answers {response.status_code}, but not as this server (no X-Request-Id)")
    if warnings:
        return Finding("public URL", "warn", f"{url} answers, but {warnings[0].split(': ', 1)[1]}")
    return _ok("public URL", f"{url} answers")


def check_blobs(app: Flask) -> Finding:
    """Every stored file's bytes are there and hash to the sha256 they are stored under (--deep)."""
    from collector.db import get_session  # the request's session helper; doctor runs in an app context

    store = app.extensions["collector.store"]
    session = get_session()
    scope.use(session, SYSTEM)
    checked, missing, corrupt = 0, [], []
    for sha256 in session.scalars(select(Blob.sha256).order_by(Blob.id)).yield_per(1000):
        checked += 1
        digest = hashlib.sha256()
        try:
            with store.open(sha256) as handle:
                while chunk := handle.read(1024 * 1024):
                    digest.update(chunk)
        except FileNotFoundError:
            missing.append(sha256)
            continue
        except OSError as exc:
            return _fail("blobs", f"cannot read {sha256}: {_why(exc)}")
        if digest.hexdigest() != sha256:
            corrupt.append(sha256)
    if missing or corrupt:
        named = ", ".join((missing + corrupt)[:5]) + (" ..." if len(missing) + len(corrupt) > 5 else "")
        return _fail("blobs", f"{checked} checked: {len(missing)} missing, {len(corrupt)} changed ({named})")
    return _ok("blobs", f"{checked} stored file(s), every sha256 matches")


#: The checks, in the order they are printed.
CHECKS: tuple[Callable[[Flask], Finding], ...] = (
    check_database,
    check_media_store,
    check_queue,
    check_java,
    check_disk,
    check_public_url,
)


def run(app: Flask, deep: bool = False) -> list[Finding]:
    """Run every check (and with `deep`, the sha256 of every stored file); return their findings."""
    findings = []
    for check in (*CHECKS, check_blobs) if deep else CHECKS:
        try:
            findings.append(check(app))
        except Exception as exc:  # a check that breaks is a finding too, not the end of the others
            findings.append(_fail(check.__name__.removeprefix("check_").replace("_", " "), _why(exc)))
    return findings
