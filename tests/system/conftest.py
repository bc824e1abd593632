"""Fixtures of the system tests: servers started for real (gunicorn, nginx) and the clients that talk to them."""

from __future__ import annotations

import pytest
from pyodk.client import Client

from tests.support.collect import Collect
from tests.support.live import LiveServer

STAFF = ("officer@example.la", "officer password 1")


@pytest.fixture
def pyodk_client(clean_db, tmp_path):
    """pyodk, configured as a case officer, against a live server with a sample tablet."""
    live = LiveServer(clean_db, tmp_path / "instance").start()
    live.tablet = Collect(live.sample_device())
    live.cli("users", "create", STAFF[0], "--role", "case-officer", COLLECTOR_PASSWORD=STAFF[1])
    config = tmp_path / "pyodk_config.toml"
    config.write_text(
        f'[central]\nbase_url = "{live.url}"\nusername = "{STAFF[0]}"\n'
        f'password = "{STAFF[1]}"\ndefault_project_id = 1\n'
    )
    with Client(config_path=str(config), cache_path=str(tmp_path / "pyodk_cache.toml")) as odk:
        odk.live = live
        odk.staff = STAFF
        yield odk
    live.stop()
