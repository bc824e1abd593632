"""Write what a received version holds: its normalised rows, its files (and a file that arrives later)."""

from __future__ import annotations

from typing import BinaryIO

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from ingest.blobs import blob_id
from ingest.db import begin_write, utcnow
from ingest.errors import (
    ATTACHMENT_RECEIVED,
    Conflict,
    NotFound,
)
from ingest.models import (
    SubmissionAttachment,
    SubmissionRow,
    SubmissionVersion,
)
from ingest.normalise import Row
from ingest.storage import MediaStore, StoredFile

_INSERT_ROWS = insert(SubmissionRow.__table__).returning(SubmissionRow.__table__.c.id, sort_by_parameter_order=True)


def insert_rows(session: Session, version_id: int, rows: list[Row]) -> None:
    """Insert normalised rows, parents before children: a statement a nesting level, each returning the ids
    the next level points at (the PostgreSQL receiving path puts every level in the version's statement)."""
    connection = session.connection()
    found: dict[int, int] = {}
    level = [r for r in rows if r.parent is None]
    while level:
        params = [
            {
                "submission_version_id": version_id,
                "path": r.path,
                "position": r.position,
                "parent_id": found[id(r.parent)] if r.parent is not None else None,
                "data": r.data,
            }
            for r in level
        ]
        result = connection.execute(_INSERT_ROWS, params)
        for row, new_id in zip(level, result.scalars()):
            found[id(row)] = new_id
        level = [r for r in rows if r.parent is not None and id(r.parent) in found and id(r) not in found]


def by_level(rows: list[Row]) -> list[Row]:
    """The rows reachable from a root, a nesting level after another (parents before their children)."""
    ordered: list[Row] = []
    seen: set[int] = set()
    level = [r for r in rows if r.parent is None]
    while level:
        ordered += level
        seen.update(id(r) for r in level)
        level = [r for r in rows if r.parent is not None and id(r.parent) in seen and id(r) not in seen]
    return ordered


def link_files(session: Session, version_id: int, stored: dict[str, tuple[StoredFile, str]]) -> int:
    """Point the version's expected files at the stored blobs; return how many changed (new or replaced)."""
    if not stored:
        return 0
    added = 0
    attachments = session.execute(
        select(SubmissionAttachment.id, SubmissionAttachment.name, SubmissionAttachment.blob_id).where(
            SubmissionAttachment.submission_version_id == version_id, SubmissionAttachment.name.in_(list(stored))
        )
    ).all()
    for attachment in attachments:
        stored_file, content_type = stored[attachment.name]
        new_blob = blob_id(session, stored_file, content_type)
        if attachment.blob_id != new_blob:
            session.execute(
                update(SubmissionAttachment)
                .where(SubmissionAttachment.id == attachment.id)
                .values(blob_id=new_blob, received_at=utcnow())
            )
            added += 1
    return added


def attach_file(
    session: Session,
    store: MediaStore,
    version: SubmissionVersion,
    name: str,
    stream: BinaryIO,
    content_type: str = "application/octet-stream",
) -> bool:
    """Store one file a stored version expects (REST upload); say whether it was new and commit.

    A file that has arrived is never replaced by other bytes: what a tablet sent stays as it sent it.

    :raise NotFound: the version does not refer to a file of that name.
    :raise Conflict: the file arrived already, with other bytes.
    """
    attachment = next((a for a in version.attachments if a.name == name), None)
    if attachment is None:
        raise NotFound(f"This record does not refer to a file named '{name}'.")
    stored = store.put_stream(stream)
    begin_write(session)
    if attachment.blob is not None and attachment.blob.sha256 != stored.sha256:
        raise Conflict(
            f"The file '{name}' of this record was already received; it cannot be replaced.", ATTACHMENT_RECEIVED
        )
    added = link_files(session, version.id, {name: (stored, content_type)})
    session.commit()
    return added == 1
