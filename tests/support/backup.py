"""Helpers of the backup and restore tests: a second, empty database to restore into, and table comparisons."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from collector import create_app
from collector.cli import upgrade_database
from collector.ops.backup import snapshot
from ingest.db import make_engine


def empty_database(source_url: str, folder: Path, suffix: str = "restore") -> str:
    """Create an empty database migrated by `collector db upgrade`, beside `source_url`; return its URL."""
    if source_url.startswith("sqlite"):
        url = f"sqlite:///{folder / f'{suffix}.sqlite3'}"
    else:
        parsed = make_url(source_url)
        name = f"{parsed.database}_{suffix}"
        admin = make_engine(
            parsed.set(database="postgres").render_as_string(hide_password=False), isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = parsed.set(database=name).render_as_string(hide_password=False)
    upgrade_database(url)
    return url


def target_app(url: str, media: Path, **settings):
    """An app on the restore target (its own database and media folder, or the bucket `settings` name)."""
    return create_app(
        {
            "TESTING": True,
            "DATABASE_URL": url,
            "MEDIA_DIR": str(media),
            "SECRET_KEY": "test",
            "PUBLIC_URL": "http://collect.test",
            "PERSON_MATCH_ON_SUBMIT": False,
            **settings,
        }
    )


def bucket_digests(client, bucket: str) -> dict[str, str]:
    """The sha256 of every object in a bucket, by the last part of its key, each read as a stream."""
    digests = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            body, digest = client.get_object(Bucket=bucket, Key=item["Key"])["Body"], hashlib.sha256()
            for piece in iter(lambda b=body: b.read(1024 * 1024), b""):
                digest.update(piece)
            digests[item["Key"].rsplit("/", 1)[-1]] = digest.hexdigest()
    return digests


def tables(url: str) -> dict[str, list[dict]]:
    """Every table of the database at `url`, as a list of rows (dicts) in primary-key order."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {
                table.name: [
                    dict(row) for row in conn.execute(select(table).order_by(*table.primary_key.columns)).mappings()
                ]
                for table in snapshot.tables()
            }
    finally:
        engine.dispose()


def media_digests(media: Path) -> dict[str, str]:
    """The sha256 of every file under a media folder, by its name."""
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in media.rglob("*") if path.is_file()}


def drop_database(url: str) -> None:
    """Drop a PostgreSQL database made by `empty_database` (nothing to do for SQLite)."""
    if url.startswith("sqlite"):
        return
    parsed = make_url(url)
    admin = make_engine(
        parsed.set(database="postgres").render_as_string(hide_password=False), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    admin.dispose()
