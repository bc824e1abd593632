"""Blob rows: one row per distinct stored content, shared by submissions, form media and decrypted files."""

from __future__ import annotations

from typing import BinaryIO

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ingest.db import insert_ignore, utcnow
from ingest.models import Blob
from ingest.storage import MediaStore, StoredFile

#: Prepared once per dialect: INSERT ... ON CONFLICT DO NOTHING RETURNING id, and the lookup when it exists.
_INSERTS: dict = {}
_FIND = select(Blob.id).where(Blob.sha256 == bindparam("sha256"))


def store_blob(session: Session, store: MediaStore, stream: BinaryIO, content_type: str) -> Blob:
    """Write a stream to the media store and return its Blob row (one row per distinct content)."""
    return session.get_one(Blob, blob_id(session, store.put_stream(stream), content_type))


def blob_id(session: Session, stored: StoredFile, content_type: str) -> int:
    """Return the id of the Blob row of a stored file, inserting it if it is new (safe under concurrency)."""
    connection = session.connection()
    dialect = connection.dialect.name
    statement = _INSERTS.get(dialect)
    if statement is None:
        statement = _INSERTS[dialect] = insert_ignore(session, Blob.__table__).returning(Blob.__table__.c.id)
    found = connection.execute(
        statement,
        {
            "sha256": stored.sha256,
            "md5": stored.md5,
            "size": stored.size,
            "content_type": content_type,
            "created_at": utcnow(),
        },
    ).scalar()
    # Nothing returned: the row exists already (written by an earlier or a concurrent request).
    if found is not None:
        return found
    return connection.execute(_FIND, {"sha256": stored.sha256}).scalar_one()
