"""A raw-INSERT submission endpoint: the floor that `benchmarks.submit_rate` measures the real server against.

It does what any plain Flask app would to accept an ODK Collect submission and nothing more: Werkzeug
parses the multipart body, a regex finds the instanceID, and one INSERT stores the XML and each file as
rows of a single table. No device token, form, version, normalisation or media store.

Run: gunicorn --config deploy/gunicorn.conf.py benchmarks.baseline_app:app (reads `DATABASE_URL`).
"""

from __future__ import annotations

import os
import re

import sqlalchemy as sa
from flask import Flask, Response, request

INSTANCE_ID = re.compile(rb"<(?:[\w.-]+:)?instanceID>\s*([^<\s]+)\s*</(?:[\w.-]+:)?instanceID>")
RESPONSE = (
    '<OpenRosaResponse xmlns="http://openrosa.org/http/response">'
    '<message nature="submit_success">Received.</message></OpenRosaResponse>'
)

metadata = sa.MetaData()
#: One row per multipart part: the instance XML (name `xml_submission_file`) and each attached file.
parts = sa.Table(
    "baseline_parts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("instance_id", sa.String(255), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
)


def _sqlite_on_connect(dbapi_connection, _record) -> None:
    # The same SQLite set-up as ingest.db, so the baseline pays the same durability cost as the real app.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_on_begin(conn) -> None:
    # Every transaction here writes: take the lock up front instead of failing on an upgrade.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str) -> sa.Engine:
    """Create an engine for `url`: WAL and immediate transactions on SQLite, psycopg 3 on PostgreSQL."""
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": 30})
        sa.event.listen(engine, "connect", _sqlite_on_connect)
        sa.event.listen(engine, "begin", _sqlite_on_begin)
    else:
        engine = sa.create_engine(url, pool_pre_ping=True)
    return engine


def create_table(engine: sa.Engine) -> None:
    """Create the table unless it exists, safely when several workers start at the same moment."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # CREATE TABLE IF NOT EXISTS still races on PostgreSQL (a unique violation in pg_type):
            # serialise the workers on an advisory lock held until this transaction ends.
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext('benchmarks.baseline_app'))"))
        # On SQLite, BEGIN IMMEDIATE already serialises the workers.
        metadata.create_all(conn, checkfirst=True)


def openrosa(body: str, status: int) -> Response:
    """Return an OpenRosa response with the headers Collect expects."""
    return Response(
        body,
        status=status,
        content_type="text/xml; charset=utf-8",
        headers={"X-OpenRosa-Version": "1.0", "X-OpenRosa-Accept-Content-Length": "104857600"},
    )


def create_app(database_url: str | None = None) -> Flask:
    """Build the baseline app on `database_url` (default: the `DATABASE_URL` environment variable)."""
    app = Flask(__name__)
    engine = make_engine(database_url or os.environ["DATABASE_URL"])
    create_table(engine)
    insert = parts.insert()

    @app.route("/submission", methods=["HEAD", "POST"])
    def submission():
        """Store one submission's parts as they arrived; answer 201 (204 to Collect's HEAD probe)."""
        if request.method == "HEAD":
            return openrosa("", 204)
        xml_file = request.files.get("xml_submission_file")
        if xml_file is None:
            return openrosa("<OpenRosaResponse><message>No xml_submission_file part.</message></OpenRosaResponse>", 400)
        xml = xml_file.read()
        found = INSTANCE_ID.search(xml)
        if not found:
            return openrosa("<OpenRosaResponse><message>No instanceID.</message></OpenRosaResponse>", 400)
        instance_id = found.group(1).decode("utf-8", "replace")[:255]
        rows = [{"instance_id": instance_id, "name": "xml_submission_file", "body": xml}]
        rows += [
            {"instance_id": instance_id, "name": name[:255], "body": upload.read()}
            for name, upload in request.files.items(multi=True)
            if name != "xml_submission_file"
        ]
        with engine.begin() as conn:
            conn.execute(insert, rows)
        return openrosa(RESPONSE, 201)

    return app


# gunicorn imports this module with DATABASE_URL set; imported anywhere else it builds nothing.
app = create_app() if os.environ.get("DATABASE_URL") else None
