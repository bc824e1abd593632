"""Describe stored submissions as JSON-ready dicts, shaped like ODK Central's, for the API and the CLI.

These are presenters: they apply the `Redaction` a read service (ingest.records.service) decided for its
caller and never look the caller up themselves.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.models import Submission, SubmissionRow, SubmissionVersion
from ingest.normalise import nest
from ingest.redaction import Redaction, redact_rows, redact_xml, sensitive_files


@overload
def iso(moment: datetime) -> str: ...
@overload
def iso(moment: None) -> None: ...
def iso(moment: datetime | None) -> str | None:
    """Format a moment as Central does: ISO 8601 with a Z for UTC."""
    if moment is None:
        return None
    if moment.tzinfo is None:  # SQLite hands back naive datetimes; every stored moment is UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat().replace("+00:00", "Z")


def current_of(submission: Submission) -> SubmissionVersion:
    """Return the version in force (the latest edit)."""
    return next((v for v in submission.versions if v.current), submission.versions[-1])


def attachment_counts(version: SubmissionVersion) -> dict:
    """Say how many files a version refers to and how many of them have arrived."""
    return {
        "attachmentsExpected": len(version.attachments),
        "attachmentsPresent": sum(1 for a in version.attachments if a.blob_id is not None),
    }


def _row_dict(r: SubmissionRow) -> dict:
    return {"id": r.id, "parent_id": r.parent_id, "path": r.path, "position": r.position, "data": dict(r.data)}


def stored_rows(session: Session, version: SubmissionVersion) -> list[dict]:
    """Return a version's normalised rows as dicts (id, parent_id, path, position, data), copies of the stored."""
    rows = session.scalars(
        select(SubmissionRow).where(SubmissionRow.submission_version_id == version.id).order_by(SubmissionRow.id)
    )
    return [_row_dict(r) for r in rows]


def rows_of_versions(session: Session, version_ids: list[int]) -> dict[int, list[dict]]:
    """Return `stored_rows` of several versions, read in one query: {version id: rows}."""
    found: dict[int, list[dict]] = {v: [] for v in version_ids}
    if version_ids:
        rows = session.scalars(
            select(SubmissionRow).where(SubmissionRow.submission_version_id.in_(version_ids)).order_by(SubmissionRow.id)
        )
        for r in rows:
            found[r.submission_version_id].append(_row_dict(r))
    return found


def is_sealed(version: SubmissionVersion) -> bool:
    """Say whether a version was sent encrypted and not yet decrypted: it has no readable data."""
    return bool(version.encrypted) and version.plain_xml is None


def version_data(
    session: Session, version: SubmissionVersion, redaction: Redaction, rows: list[dict] | None = None
) -> tuple[dict, list[str]]:
    """Return a stored version's rows (`rows` if already read: `rows_of_versions`) nested back into one
    document, redacted as `redaction` says, and the paths of the fields redacted."""
    rows = stored_rows(session, version) if rows is None else rows
    redacted = []
    if redaction.applies(version.submission.draft):
        redacted = redact_rows(rows, version.form_version.fields if version.form_version else [])
    return nest(rows), redacted


def readable_xml(version: SubmissionVersion, redaction: Redaction) -> bytes:
    """Return a version's instance XML redacted as `redaction` says (decrypted if it was sealed)."""
    xml = version.plain_xml if version.plain_xml is not None else version.xml
    if redaction.applies(version.submission.draft):
        xml = redact_xml(xml, version.form_version.fields if version.form_version else [])
    return xml


def file_hidden(session: Session, version: SubmissionVersion, name: str, redaction: Redaction) -> bool:
    """Say whether a file of a version is one of a sensitive question, refused under `redaction`."""
    if not redaction.applies(version.submission.draft):
        return False
    fields = version.form_version.fields if version.form_version else []
    return name in sensitive_files(stored_rows(session, version), fields)


def version_json(session: Session, version: SubmissionVersion, redaction: Redaction) -> dict:
    """Describe one version of a submission (an edit is a new version), with its data."""
    data, redacted = version_data(session, version, redaction)
    return {
        "instanceId": version.instance_id,
        "createdAt": iso(version.created_at),
        "current": version.current,
        "deviceId": version.device_ident,
        "userAgent": version.user_agent,
        "formVersion": version.version_string,
        "unknownVersion": version.unknown_version,
        **attachment_counts(version),
        "sealed": is_sealed(version),
        "data": data,
        "redacted": redacted,
    }


def submission_json(
    session: Session, submission: Submission, redaction: Redaction, rows: list[dict] | None = None
) -> dict:
    """Describe a submission as Central does, with its current version's normalised data (its rows given in
    `rows` when a page read them together)."""
    version = current_of(submission)
    data, redacted = version_data(session, version, redaction, rows)
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
            "instanceId": version.instance_id,
            "createdAt": iso(version.created_at),
            "current": True,
            "formVersion": version.version_string,
            "unknownVersion": version.unknown_version,
        },
        "province": submission.province_code,
        "claimedProvince": submission.claimed_province,
        "foreignCase": submission.foreign_case,
        **attachment_counts(version),
        "sealed": is_sealed(version),
        "data": data,
        "redacted": redacted,
    }
