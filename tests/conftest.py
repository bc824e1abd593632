"""Shared fixtures: every test that touches the database runs on SQLite and, with TEST_DATABASE_URL, PostgreSQL."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import text

from collector import create_app
from collector.cli import upgrade_database
from forms.compiler import compile_xlsform
from ingest.db import Base, make_engine

DATA = Path(__file__).parent / "data"
PG_URL = os.environ.get("TEST_DATABASE_URL")
ADMIN_EMAIL, ADMIN_PASSWORD = "admin@example.la", "correct horse battery"


def worker_database(url: str) -> str:
    """Give each pytest-xdist worker its own PostgreSQL database beside TEST_DATABASE_URL's (created if missing)."""
    from sqlalchemy.engine import make_url

    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    parsed = make_url(url)
    name = f"{parsed.database}_{worker}"
    admin = make_engine(
        parsed.set(database="postgres").render_as_string(hide_password=False), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}):
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(autouse=True)
def _cheap_password_hashing(request, monkeypatch):
    """Hash passwords with argon2id at its cheapest: at its real cost every Basic-auth request of the suite
    pays tens of milliseconds of CPU. Tests of the real cost are marked `real_passwords`."""
    if request.node.get_closest_marker("real_passwords"):
        return
    from argon2 import PasswordHasher

    from ingest.accounts import users as accounts

    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(accounts, "_hasher", cheap)
    monkeypatch.setattr(accounts, "_DUMMY_HASH", cheap.hash("not a real password"))


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request, tmp_path_factory):
    """Yield a migrated, empty database URL for each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.sqlite3'}"
    else:
        if not PG_URL:
            pytest.skip("PostgreSQL run skipped: TEST_DATABASE_URL is not set (CI sets it; see README)")
        url = worker_database(PG_URL)
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    upgrade_database(url)
    yield url


def truncate(database_url: str) -> None:
    """Empty every table of the test database."""
    engine = make_engine(database_url)
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))
    engine.dispose()


@pytest.fixture
def clean_db(database_url):
    """Empty every table after the test, so each test starts from a blank database."""
    yield database_url
    truncate(database_url)


@pytest.fixture
def instance_path(tmp_path, monkeypatch):
    """Give the app a fresh instance folder."""
    path = tmp_path / "instance"
    monkeypatch.setenv("COLLECTOR_INSTANCE_PATH", str(path))
    return path


@pytest.fixture
def app(clean_db, instance_path, media_settings):  # noqa: F811 (the fixture imported below)
    """Return an app on the test database (media in a local folder, or in object storage: `media_settings`)."""
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": clean_db,
            "MEDIA_DIR": str(instance_path / "media"),
            "SECRET_KEY": "test",
            "MAX_SUBMISSION_BYTES": 5 * 1024 * 1024,
            "PUBLIC_URL": "http://collect.test",
            # As deployed: nginx on this machine is the one proxy whose forwarded headers count.
            "TRUSTED_PROXIES": "127.0.0.1, ::1",
            # Background person matching after named records: on only in the tests of jobs
            # (tests/collector/test_jobs.py).
            "PERSON_MATCH_ON_SUBMIT": False,
            **media_settings,
        }
    )
    yield app
    app.extensions["collector.engine"].dispose()


@pytest.fixture
def client(app):
    """Return a test client."""
    return app.test_client()


class CollectorRunner:
    """Invoke the `collector` command group against the test app."""

    def __init__(self, app):
        self._runner = app.test_cli_runner()

    def invoke(self, args, **kwargs):
        from collector.cli import main

        return self._runner.invoke(main, args=args, **kwargs)


@pytest.fixture
def runner(app):
    """Return a CLI runner bound to the app."""
    return CollectorRunner(app)


@pytest.fixture
def db_session(app):
    """Return a database session outside any request."""
    session = app.extensions["collector.sessions"]()
    yield session
    session.close()


@pytest.fixture(scope="session")
def compiled_sample():
    """Compile the sample XLSForm once (ODK Validate runs Java)."""
    return compile_xlsform(DATA / "sample_case.xlsx")


@pytest.fixture
def published_form_project(app, db_session):
    """Create project 1 with no forms."""
    from ingest.publishing.versions import ensure_project

    project = ensure_project(db_session, 1)
    db_session.commit()
    return project


@pytest.fixture
def published_form(app, db_session, compiled_sample):
    """Publish the sample form with its media into project 1 and return its version."""
    from ingest.publishing.versions import ensure_project, publish

    ensure_project(db_session, 1)
    result = publish(
        db_session,
        app.extensions["collector.store"],
        1,
        compiled_sample,
        {"provinces.csv": (DATA / "media" / "provinces.csv").read_bytes()},
    )
    db_session.commit()
    return result.version


@pytest.fixture
def device(app, db_session, published_form):
    """Create a device in project 1, assigned to the sample form, and return it."""
    from ingest.accounts.users import create_device
    from ingest.publishing.versions import ensure_project

    ensure_project(db_session, 1)
    device = create_device(db_session, 1, "Test tablet", "01")
    db_session.commit()
    return device


@pytest.fixture
def national_device(app, db_session, published_form):
    """A ministry tablet without a province: it sends records for whichever province they answer (a provincial
    tablet keeps what names another province in its own: the province rule, tests/collector/test_scope.py)."""
    from ingest.accounts.users import create_device
    from ingest.publishing.versions import ensure_project

    ensure_project(db_session, 1)
    device = create_device(db_session, 1, "National tablet")
    db_session.commit()
    return device


@pytest.fixture
def admin(app, db_session):
    """Create an admin user and return Basic auth credentials for it."""
    from ingest.accounts.users import create_user

    create_user(db_session, ADMIN_EMAIL, ADMIN_PASSWORD, "admin")
    db_session.commit()
    return (ADMIN_EMAIL, ADMIN_PASSWORD)


def make_instance(
    instance_id: str | None = None,
    *,
    version: str = "2026112901",
    form_id: str = "sample_case",
    name: str = "Test Person",
    age: str = "30",
    photo: str | None = "photo.jpg",
    places=(("Vientiane", "2"), ("Bangkok", "10")),
    place_photos=(),
    deprecated_id: str | None = None,
) -> bytes:
    """Return an instance of the sample form written the way JavaRosa writes it (empty elements as `<q />`)."""
    instance_id = instance_id or f"uuid:{uuid.uuid4()}"
    photos = list(place_photos) + [""] * len(places)
    route = "".join(
        f"<route><place>{p}</place><days>{d}</days>"
        + (f"<place_photo>{photos[i]}</place_photo>" if photos[i] else "<place_photo />")
        + "</route>"
        for i, (p, d) in enumerate(places)
    )
    deprecated = f"<orx:deprecatedID>{deprecated_id}</orx:deprecatedID>" if deprecated_id else ""
    return (
        f'<?xml version=\'1.0\' ?><data id="{form_id}" version="{version}" '
        'xmlns:h="http://www.w3.org/1999/xhtml" xmlns:jr="http://openrosa.org/javarosa" '
        'xmlns:orx="http://openrosa.org/xforms" xmlns:odk="http://www.opendatakit.org/xforms">'
        f"<consent>yes</consent><full_name>{name}</full_name><age>{age}</age>"
        "<indicators>deception debt</indicators><province>01</province>"
        + (f"<photo>{photo}</photo>" if photo else "<photo />")
        + route
        + f"<meta><instanceID>{instance_id}</instanceID>{deprecated}</meta></data>"
    ).encode()


# Fixtures shared by test modules of several folders live in tests/support and are registered here: a test
# module never imports another (tests/architecture/test_test_imports.py).
from tests.support.cases import compiled, forms  # noqa: E402,F401
from tests.support.console import staff  # noqa: E402,F401
from tests.support.ctdc import ctdc_forms, tagged_intake  # noqa: E402,F401
from tests.support.fuzzing import server_errors  # noqa: E402,F401
from tests.support.handbook import compiled_referral, referral  # noqa: E402,F401
from tests.support.logscan import log_scan  # noqa: E402,F401
from tests.support.retention import intake, intake_fields  # noqa: E402,F401
from tests.support.s3 import media_settings, media_store, s3_server  # noqa: E402,F401
from tests.support.scope import other_device, users  # noqa: E402,F401
