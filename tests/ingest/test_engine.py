"""The engine's settings that keep a request from hanging when PostgreSQL is out of reach."""

from __future__ import annotations

import socket
import time

import pytest
from sqlalchemy import exc

import ingest.db
from ingest.db import make_engine


def test_a_postgresql_server_that_never_answers_is_given_up_after_the_connect_timeout(monkeypatch):
    # A socket that is listened on but never answered: the TCP connection is made and then nothing comes, as
    # from a host that is overloaded or half down. Without a connect timeout libpq would wait for ever.
    monkeypatch.setattr(ingest.db, "CONNECT_TIMEOUT", 1)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        engine = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{silent.getsockname()[1]}/x")
        started = time.monotonic()
        with pytest.raises(exc.OperationalError):
            engine.connect()
        assert time.monotonic() - started < 60  # a bound far above the 1 s asked, only to tell a hang
        engine.dispose()
