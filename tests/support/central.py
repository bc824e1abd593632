"""One live server for a whole test module, with a web user of every role and a pyodk client for each.

A module that keeps one gunicorn for all its tests cannot share the worker's test database: other modules'
tests on the same pytest-xdist worker empty it after each test. So the server gets a database of its own
beside the suite's (a file for SQLite, `<worker database>_<name>` for PostgreSQL), migrated and emptied here.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import load_workbook
from pyodk.client import Client
from sqlalchemy import text
from sqlalchemy.engine import make_url

from collector.cli import upgrade_database
from ingest.accounts.users import create_user
from ingest.db import make_engine, make_session_factory
from tests.support.collect import Collect
from tests.support.live import ROOT, LiveServer

#: Every role, and the province a provincial role works in.
ROLES = ("admin", "trainer", "case-officer", "provincial-officer", "analyst", "statistician")
PROVINCE = "01"
PASSWORD = "a long enough password 19"


def private_database(suite_url: str, folder: Path, name: str) -> str:
    """Return a migrated, empty database of its own beside the suite's database `suite_url`."""
    if suite_url.startswith("sqlite"):
        url = f"sqlite:///{folder / f'{name}.sqlite3'}"
    else:
        parsed = make_url(suite_url)
        own = f"{parsed.database}_{name}"
        admin = make_engine(
            parsed.set(database="postgres").render_as_string(hide_password=False), isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as conn:
            if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": own}):
                conn.execute(text(f'CREATE DATABASE "{own}"'))
        admin.dispose()
        url = parsed.set(database=own).render_as_string(hide_password=False)
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    upgrade_database(url)
    return url


def email_of(role: str) -> str:
    return f"{role}@example.la"


@dataclass
class Central:
    """A live server with the sample form published, a tablet, and a pyodk client per role."""

    live: LiveServer
    tablet: Collect
    clients: dict[str, Client] = field(default_factory=dict)

    def close(self) -> None:
        for odk in self.clients.values():
            odk.__exit__(None, None, None)
        self.live.stop()


def start_central(database_url: str, folder: Path) -> Central:
    """Start gunicorn on `database_url`, publish the sample form, create a tablet and a user of every role."""
    live = LiveServer(database_url, folder / "instance").start()
    tablet = Collect(live.sample_device())
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        for role in ROLES:
            provinces = [PROVINCE] if role == "provincial-officer" else []
            create_user(session, email_of(role), PASSWORD, role, provinces=provinces, display_name=role)
        session.commit()
    engine.dispose()
    central = Central(live, tablet)
    for role in ROLES:
        config = folder / f"{role}.toml"
        config.write_text(
            f'[central]\nbase_url = "{live.url}"\nusername = "{email_of(role)}"\n'
            f'password = "{PASSWORD}"\ndefault_project_id = 1\n'
        )
        central.clients[role] = Client(config_path=str(config), cache_path=str(folder / f"{role}.cache.toml"))
        central.clients[role].__enter__()
    return central


def without_form_id(source: Path, target: Path) -> Path:
    """Save a copy of an XLSForm whose settings sheet gives no form_id (as IOM's own HTCDS XLSForm), under the
    file name `target` (pyodk sends its stem as the X-XlsForm-FormId-Fallback header)."""
    workbook = load_workbook(io.BytesIO(source.read_bytes()))
    settings = workbook["settings"]
    column = next(cell.column for cell in settings[1] if cell.value == "form_id")
    settings.delete_cols(column)
    workbook.save(target)
    return target


#: The test XLSForm with HTCDS field names (no XLSForm of IOM's HTCDS exists under the shared references).
HTCDS_STYLE = ROOT / "tests" / "data" / "htcds_style.xlsx"
