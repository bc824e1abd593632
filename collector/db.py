"""Bind the ingest database to the Flask app: one session per request."""

from __future__ import annotations

import logging

from flask import Flask, Response, current_app, g, has_request_context, request, send_file
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from ingest import audit, scope
from ingest.db import make_engine, make_session_factory
from ingest.storage import FileStore, MediaStore

logger = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    """Create the engine, session factory and media store for `app`."""
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["collector.engine"] = engine
    app.extensions["collector.sessions"] = make_session_factory(engine)
    store = app.extensions["collector.store"] = make_store(app.config)
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


def make_store(config) -> MediaStore:
    """Make the media store the settings name: the folder MEDIA_DIR, or a bucket of object storage."""
    kind = str(config.get("MEDIA_STORE") or "local").lower()
    if kind == "local":
        return FileStore(config["MEDIA_DIR"])
    if kind != "s3":
        raise ValueError(f"MEDIA_STORE must be 'local' or 's3', not {kind!r}")
    if not config.get("S3_BUCKET"):
        raise ValueError("MEDIA_STORE=s3 needs S3_BUCKET")
    # Imported only here: boto3 takes a while to import, and a server on a local folder never needs it.
    from ingest.objectstore import S3Store

    return S3Store(
        config["S3_BUCKET"],
        config["MEDIA_DIR"],  # the spool of uploads in progress
        endpoint_url=config.get("S3_ENDPOINT_URL"),
        region=config.get("S3_REGION"),
        access_key_id=config.get("S3_ACCESS_KEY_ID"),
        secret_access_key=config.get("S3_SECRET_ACCESS_KEY"),
        prefix=config.get("S3_PREFIX") or "",
    )


def get_store() -> MediaStore:
    """Return the media store."""
    return current_app.extensions["collector.store"]


def send_blob(sha256: str, size: int, **options) -> Response:
    """Answer with a stored blob: straight from disk for a local folder, else streamed from the store a piece
    at a time (never the whole file in memory). `options` are `flask.send_file`'s (mimetype, etag...)."""
    store = get_store()
    path = store.local_path(sha256)
    if path is not None:
        return send_file(path, **options)
    response = send_file(store.open(sha256), **options)
    if response.status_code == 200:
        response.content_length = size
    return response


def _close_session(_exc) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        # Anything a view did not commit is abandoned.
        try:
            session.rollback()
        except (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError) as exc:
            # The connection died after the view had its answer (the database restarted): the server ended the
            # transaction with it and the pool replaces the connection. The answer stands; raising here would
            # turn it into a 500 outside every error handler.
            logger.warning("database connection lost at the end of a request (%s)", type(exc).__name__)
        finally:
            session.close()
