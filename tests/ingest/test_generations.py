"""The cache generation (ingest/generations.py): every change of a watched table bumps it, on both engines."""

from __future__ import annotations

from sqlalchemy import delete, insert, text, update
from sqlalchemy.orm import Session

from ingest import generations
from ingest.accounts.users import create_device, device_for_token, revoke_device
from ingest.models import Device, DeviceForm, Form, FormVersion, Project
from ingest.publishing.versions import ensure_project, publish


def read(session) -> int | None:
    session.commit()  # a new transaction reads the generation afresh
    return generations.current(session)


def test_every_change_of_a_watched_table_bumps_the_generation(db_session, compiled_sample, app):
    ensure_project(db_session, 1)
    publish(db_session, app.extensions["collector.store"], 1, compiled_sample, {"provinces.csv": b"code\n"})
    device = create_device(db_session, 1, "Tablet")
    db_session.commit()
    seen = [read(db_session)]
    assert seen[0] is not None
    form_id = db_session.query(Form.id).scalar()
    changes = [
        insert(Project).values(id=2, name="Second"),
        update(Project).where(Project.id == 2).values(name="Other"),
        update(Device).where(Device.id == device.id).values(display_name="Renamed"),
        delete(DeviceForm).where(DeviceForm.device_id == device.id),
        insert(DeviceForm).values(device_id=device.id, form_id=form_id),
        update(Form).values(state="closing"),
        update(FormVersion).values(title="New title"),
        delete(Project).where(Project.id == 2),
    ]
    for change in changes:
        db_session.execute(change)
        seen.append(read(db_session))
        assert seen[-1] != seen[-2], change
    assert len(set(seen)) == len(seen)  # never back to a number seen before


def test_a_revoked_device_is_refused_by_a_session_that_cached_it(db_session, app):
    ensure_project(db_session, 1)
    device = create_device(db_session, 1, "Tablet")
    db_session.commit()
    other = app.extensions["collector.sessions"]()
    try:
        assert device_for_token(other, device.token).id == device.id  # read, and cached at this generation
        other.commit()
        assert device_for_token(other, device.token).id == device.id  # from the cache
        revoke_device(db_session, device)
        db_session.commit()
        other.commit()
        assert device_for_token(other, device.token) is None
        assert device_for_token(other, "not a token") is None
    finally:
        other.close()


def test_the_cache_holds_nothing_without_a_generation(db_session):
    db_session.execute(text("DELETE FROM cache_generation"))
    db_session.commit()
    calls = []
    cache: generations.GenerationCache[str, int] = generations.GenerationCache()
    for _ in range(2):
        assert cache.get(db_session, "key", lambda: calls.append(1) or len(calls)) == len(calls)
    assert calls == [1, 1]


def test_the_read_that_begins_a_transaction_is_inside_it(db_session, app):
    """On psycopg the read carries the transaction's BEGIN: what follows it is one transaction, rolled back as
    one, and the connection is back to its usual mode for the next transaction and the next user."""
    ensure_project(db_session, 1)
    db_session.commit()
    engine = app.extensions["collector.engine"]
    name = db_session.scalar(text("SELECT name FROM projects WHERE id = 1"))
    db_session.commit()
    for end in ("rollback", "commit"):
        assert generations.current(db_session) is not None  # the transaction's first statement
        db_session.execute(update(Project).where(Project.id == 1).values(name=end))
        other = app.extensions["collector.sessions"]()
        try:
            assert other.scalar(text("SELECT name FROM projects WHERE id = 1")) != end  # not committed yet
        finally:
            other.close()
        raw = db_session.connection().connection.driver_connection
        if engine.dialect.driver == "psycopg":
            assert raw.autocommit  # what the combined BEGIN needs; the server is in the transaction
        getattr(db_session, end)()
        assert db_session.scalar(text("SELECT name FROM projects WHERE id = 1")) == (end if end == "commit" else name)
        db_session.rollback()
    # A connection held across transactions (never returned to the pool) is back in transaction mode.
    with engine.connect() as connection:
        session = Session(bind=connection)
        generations.current(session)
        session.commit()
        connection.execute(update(Project).where(Project.id == 1).values(name="kept?"))
        connection.rollback()
        assert connection.scalar(text("SELECT name FROM projects WHERE id = 1")) == "commit"
        if engine.dialect.driver == "psycopg":
            assert not connection.connection.driver_connection.autocommit
    for _ in range(3):  # and every pooled connection, once back in the pool
        with engine.connect() as connection:
            if engine.dialect.driver == "psycopg":
                assert not connection.connection.driver_connection.autocommit
