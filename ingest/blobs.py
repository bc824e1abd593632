"""Blob rows: one row per distinct stored content, shared by submissions, form media and decrypted files."""

from __future__ import annotations

from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.db import insert_ignore, utcnow
from ingest.models import Blob
from ingest.storage import MediaStore, StoredFile


def store_blob(session: Session, store: MediaStore, stream: BinaryIO, content_type: str) -> Blob:
    """Write a stream to the media store and return its Blob row (one row per distinct content)."""
    return session.get_one(Blob, blob_id(session, store.put_stream(stream), content_type))


def blob_id(session: Session, stored: StoredFile, content_type: str) -> int:
    """Return the id of the Blob row of a stored file, inserting it if it is new (safe under concurrency)."""
    found = session.scalar(
        insert_ignore(session, Blob.__table__)
        .values(
            sha256=stored.sha256,
            md5=stored.md5,
            size=stored.size,
            content_type=content_type,
            created_at=utcnow(),
        )
        .returning(Blob.__table__.c.id)
    )
    # Nothing returned: the row exists already (written by an earlier or a concurrent request).
    if found is not None:
        return found
    return session.execute(select(Blob.id).where(Blob.sha256 == stored.sha256)).scalar_one()
