"""Describe stored submissions as JSON-ready dicts, shaped like ODK Central's, for the API and the CLI."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.models import Submission, SubmissionRow, SubmissionVersion
from ingest.normalise import nest


def iso(moment: datetime | None) -> str | None:
    """Format a moment as Central does: ISO 8601 with a Z for UTC."""
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def current_of(submission: Submission) -> SubmissionVersion:
    """Return the version in force (the latest edit)."""
    return next((v for v in submission.versions if v.current), submission.versions[-1])


def attachment_counts(version: SubmissionVersion) -> dict:
    """Say how many files a version refers to and how many of them have arrived."""
    return {"attachmentsExpected": len(version.attachments),
            "attachmentsPresent": sum(1 for a in version.attachments if a.blob_id is not None)}


def version_data(session: Session, version: SubmissionVersion) -> dict:
    """Return a stored version's normalised rows nested back into one document."""
    rows = session.scalars(select(SubmissionRow).where(SubmissionRow.submission_version_id == version.id))
    return nest([{"id": r.id, "parent_id": r.parent_id, "path": r.path, "position": r.position, "data": r.data}
                 for r in rows])


def version_json(session: Session, version: SubmissionVersion) -> dict:
    """Describe one version of a submission (an edit is a new version), with its data."""
    return {
        "instanceId": version.instance_id, "createdAt": iso(version.created_at), "current": version.current,
        "deviceId": version.device_ident, "userAgent": version.user_agent,
        "formVersion": version.version_string, "unknownVersion": version.unknown_version,
        **attachment_counts(version),
        "data": version_data(session, version),
    }


def submission_json(session: Session, submission: Submission) -> dict:
    """Describe a submission as Central does, with its current version's normalised data."""
    version = current_of(submission)
    data = version_data(session, version)
    return {
        "instanceId": submission.instance_id,
        # Central's submitter is an actor (web user or app user); submitterType says which table.
        "submitterId": submission.user_id if submission.user_id is not None else submission.device_id,
        "submitterType": "user" if submission.user_id is not None else "device",
        "instanceName": data.get("meta/instanceName"),
        "deviceId": version.device_ident,
        "appUserId": submission.device_id,
        "userAgent": version.user_agent,
        "reviewState": submission.review_state,
        "createdAt": iso(submission.created_at),
        "updatedAt": iso(submission.updated_at),
        "versions": len(submission.versions),
        "currentVersion": {
            "instanceId": version.instance_id, "createdAt": iso(version.created_at), "current": True,
            "formVersion": version.version_string, "unknownVersion": version.unknown_version,
        },
        **attachment_counts(version),
        "data": data,
    }
