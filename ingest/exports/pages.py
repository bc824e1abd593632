"""Per-page lookups of the export walk: each version's rows, files and attachment counts, and submitters' names."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ingest.models import (
    Blob,
    Device,
    SubmissionAttachment,
    SubmissionRow,
    User,
)

# Filters and REVIEW_STATES are the read layer's, named here too for the exports' callers.
from ingest.queries import REVIEW_STATES, Filters, submissions_of  # noqa: F401


def rows_of(session: Session, version_ids: list[int], roots_only: bool = False) -> dict[int, list[dict]]:
    """Return the stored rows of some versions, by version id, in id order (parents before children); with
    `roots_only`, only each version's root row (a reader that needs no repeat rows)."""
    out: dict[int, list[dict]] = {v: [] for v in version_ids}
    query = (
        select(
            SubmissionRow.submission_version_id,
            SubmissionRow.id,
            SubmissionRow.parent_id,
            SubmissionRow.path,
            SubmissionRow.position,
            SubmissionRow.data,
        )
        .where(SubmissionRow.submission_version_id.in_(version_ids))
        .order_by(SubmissionRow.id)
    )
    if roots_only:
        query = query.where(SubmissionRow.parent_id.is_(None))
    for version_id, row_id, parent_id, path, position, data in session.execute(query):
        out[version_id].append(
            {"id": row_id, "parent_id": parent_id, "path": path, "position": position, "data": dict(data)}
        )
    return out


def attachments_of(session: Session, version_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Return (present, expected) file counts by version id."""
    query = (
        select(
            SubmissionAttachment.submission_version_id,
            func.count(SubmissionAttachment.blob_id),
            func.count(SubmissionAttachment.id),
        )
        .where(SubmissionAttachment.submission_version_id.in_(version_ids))
        .group_by(SubmissionAttachment.submission_version_id)
    )
    return {v: (present, expected) for v, present, expected in session.execute(query)}


def files_of(session: Session, version_ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    """Return the received files, (name, sha256) by version id, in name order."""
    out: dict[int, list[tuple[str, str]]] = {}
    query = (
        select(SubmissionAttachment.submission_version_id, SubmissionAttachment.name, Blob.sha256)
        .join(Blob, Blob.id == SubmissionAttachment.blob_id)
        .where(SubmissionAttachment.submission_version_id.in_(version_ids))
        .order_by(SubmissionAttachment.submission_version_id, SubmissionAttachment.name)
    )
    for version_id, name, sha256 in session.execute(query):
        out.setdefault(version_id, []).append((name, sha256))
    return out


def submitter_names(session: Session, page) -> dict[tuple[str, int], str]:
    """Return the display names of a page's submitters, by ("user", id) or ("device", id)."""
    users = {r.user_id for r in page if r.user_id is not None}
    devices = {r.device_id for r in page if r.device_id is not None}
    names = {}
    if users:
        names.update(
            {("user", i): n for i, n in session.execute(select(User.id, User.display_name).where(User.id.in_(users)))}
        )
    if devices:
        names.update(
            {
                ("device", i): n
                for i, n in session.execute(select(Device.id, Device.display_name).where(Device.id.in_(devices)))
            }
        )
    return names
