"""Bind the ingest database to the Flask app: one session per request."""

from __future__ import annotations

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy.orm import Session

from ingest import audit, scope
from ingest.db import make_engine, make_session_factory
from ingest.storage import FileStore


def init_app(app: Flask) -> None:
    """Create the engine, session factory and media store for `app`."""
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["collector.engine"] = engine
    app.extensions["collector.sessions"] = make_session_factory(engine)
    store = app.extensions["collector.store"] = FileStore(app.config["MEDIA_DIR"])
    store.sweep()
    app.teardown_appcontext(_close_session)


def get_session() -> Session:
    """Return this request's database session, opening it on first use."""
    if "db_session" not in g:
        # Guarded: a query on records made before the caller is known fails instead of reading everything.
        g.db_session = scope.guard(current_app.extensions["collector.sessions"]())
        # Where every audit event of this session comes from: the request's peer, or the command line.
        audit.use_address(g.db_session, request.remote_addr if has_request_context() else "cli")
    return g.db_session


def get_store() -> FileStore:
    """Return the media store."""
    return current_app.extensions["collector.store"]


def _close_session(_exc) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        # Anything a view did not commit is abandoned.
        session.rollback()
        session.close()
