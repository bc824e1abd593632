"""Retention: blank what identifies a person in cases closed for longer than their form's retention period.

A form's `retention_days` says how long a closed case keeps its identities. A case is closed when the
answer of its field tagged `case_status` is one of CLOSED; it has been closed since its current version
arrived. Retention then, for every version of the record, blanks the sensitive answers of the normalised
rows (geopoints rounded, as for readers without identity access), replaces the raw XML (and the decrypted
copy of an encrypted version) by the same redacted copy, and detaches the files of sensitive questions and
the `.enc` files of encrypted versions (which hold the whole record). The counts and statistics of the
record stay: only sensitive fields are blanked.

The raw XML's `xml_sha256` keeps the hash of what the tablet sent, so that a tablet resending the same
instance is still told it was received. After the run is committed, `purge_files` deletes the bytes of every
file no record and no form refers to any more (a file another record still holds is kept).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, or_, select
from sqlalchemy.orm import Session

from ingest import audit, scope
from ingest.access import SYSTEM
from ingest.db import begin_write, utcnow
from ingest.models import Blob, Form, FormAttachment, Submission, SubmissionAttachment, SubmissionVersion
from ingest.publishing.versions import current_version
from ingest.records.describe import is_sealed
from ingest.redaction import redact_rows, redact_xml, sensitive_files
from ingest.storage import STALE_SECONDS, MediaStore
from ingest.tags import root_answer, tagged

#: Answers of the field tagged case_status that mean the case is closed (the bundled forms' choice names).
CLOSED = ("Closed", "ClosedReferred")


@dataclass
class FormRetention:
    """What retention did (or, in a dry run, would do) to one form's records."""

    xml_form_id: str
    days: int
    #: records blanked; sensitive answers blanked (or rounded) in their rows; files detached.
    records: int = 0
    fields: int = 0
    files: int = 0
    #: records old enough whose latest version is still sealed (encrypted, key not unlocked): status unknown.
    sealed: int = 0
    #: the form's current version has no field tagged case_status, so no case of it can be seen closed.
    no_status_field: bool = False


@dataclass
class RetentionReport:
    """The outcome of one retention run, form by form."""

    applied: bool
    forms: list[FormRetention] = field(default_factory=list)


def set_retention(session: Session, form: Form, days: int | None, **who) -> None:
    """Keep identities of `form`'s closed cases for `days` days (None: for ever); audited, not committed.

    `who` is passed to the audit event (user_id, address).

    :raise ValueError: a negative number of days.
    """
    if days is not None and days < 0:
        raise ValueError("The retention period cannot be negative.")
    begin_write(session)
    form.retention_days = days
    audit.record(session, "retention.set", f"form:{form.xml_form_id}", days=days, **who)


def apply_retention(
    session: Session, *, form: Form | None = None, act: bool = False, now: datetime | None = None, **who
) -> RetentionReport:
    """Blank the closed cases past their form's retention period (or with `act` False, only count them).

    Every form with a retention period is handled, or only `form`. An applied run is audited once
    (`retention.apply`, counts only; `who` goes to the event) and left uncommitted for the caller to commit
    as one transaction; a dry run writes nothing.
    """
    now = now or utcnow()
    report = RetentionReport(applied=act)
    with scope.acting_as(session, SYSTEM):
        query = select(Form).where(Form.retention_days.is_not(None)).order_by(Form.project_id, Form.xml_form_id)
        if form is not None:
            query = query.where(Form.id == form.id)
        for row in session.scalars(query).all():
            report.forms.append(_apply_form(session, row, now, act))
        if act:
            audit.record(
                session,
                "retention.apply",
                f"form:{form.xml_form_id}" if form else "forms",
                forms={
                    f.xml_form_id: {"days": f.days, "records": f.records, "fields": f.fields, "files": f.files}
                    for f in report.forms
                },
                **who,
            )
    return report


def _apply_form(session: Session, form: Form, now: datetime, act: bool) -> FormRetention:
    days = form.retention_days
    if days is None:  # the caller selects only forms with a retention period
        raise ValueError(f"form {form.xml_form_id} has no retention period")
    result = FormRetention(form.xml_form_id, days)
    current = current_version(session, form)
    if current is None or tagged(current.fields, "case_status") is None:
        result.no_status_field = True
        return result
    cutoff = now - timedelta(days=days)
    # Not yet retained, or edited since it was (a later edit brings identities back in): due again.
    due = (
        select(Submission)
        .join(
            SubmissionVersion,
            and_(SubmissionVersion.submission_id == Submission.id, SubmissionVersion.current.is_(True)),
        )
        .where(
            Submission.form_id == form.id,
            Submission.draft.is_(False),
            SubmissionVersion.created_at < cutoff,
            or_(Submission.retained_at.is_(None), SubmissionVersion.created_at > Submission.retained_at),
        )
        .order_by(Submission.id)
    )
    for submission in session.scalars(due).all():
        latest = next(v for v in submission.versions if v.current)
        if is_sealed(latest):
            result.sealed += 1
            continue
        fields = _fields_of(latest, current)
        status = root_answer(latest.rows, fields, "case_status")
        if not isinstance(status, str) or status.strip() not in CLOSED:
            continue
        if act:
            begin_write(session)
        for version in submission.versions:
            blanked, detached = _retain_version(version, _fields_of(version, current), act)
            result.fields += blanked
            result.files += detached
        result.records += 1
        if act:
            submission.retained_at = now
    return result


def _fields_of(version: SubmissionVersion, fallback) -> list[dict]:
    """Return the field tree a version was normalised against (the form's current one if unknown)."""
    return version.form_version.fields if version.form_version is not None else fallback.fields


def _retain_version(version: SubmissionVersion, fields: list[dict], act: bool) -> tuple[int, int]:
    """Blank one version's sensitive answers, raw XML and files; return (answers blanked, files detached)."""
    rows = list(version.rows)
    plain: list[dict[str, Any]] = [{"path": r.path, "data": dict(r.data)} for r in rows]
    # Before the rows are blanked: afterwards they no longer name the files.
    files = sensitive_files(plain, fields)
    redact_rows(plain, fields)
    blanked = 0
    for row, new in zip(rows, plain):
        changed = sum(1 for key, value in new["data"].items() if value != row.data.get(key))
        blanked += changed
        if changed and act:
            row.data = new["data"]
    detach = [
        a
        for a in version.attachments
        if a.blob_id is not None and (a.name in files or (version.encrypted and a.name.endswith(".enc")))
    ]
    if act:
        if not version.encrypted:  # an encrypted version's raw XML is the manifest: it holds no data
            version.xml = redact_xml(version.xml, fields)
        if version.plain_xml is not None:
            version.plain_xml = redact_xml(version.plain_xml, fields)
        for attachment in detach:
            attachment.blob_id = None
    return blanked, len(detach)


@dataclass
class PurgeReport:
    """What `purge_files` removed from the media store."""

    #: files whose bytes were deleted.
    removed: int = 0
    #: files no longer referred to but written too recently to delete (an upload of the same bytes may be
    #: about to refer to them); a run after `STALE_SECONDS` deletes them.
    kept_recent: int = 0
    #: of `removed`, files no row ever named: put in place for a record whose commit never happened (the
    #: database went away at that moment) and never sent again.
    orphans: int = 0


def _unreferenced():
    return and_(
        ~exists().where(SubmissionAttachment.blob_id == Blob.id), ~exists().where(FormAttachment.blob_id == Blob.id)
    )


def purge_files(session: Session, store: MediaStore, *, keep_newer_than: float = STALE_SECONDS, **who) -> PurgeReport:
    """Delete the media store's files that no record version and no form version refers to, and those no blob
    row names at all (`_purge_orphans`); commit.

    Retention detaches the files of sensitive questions; this is what makes their bytes go. The blob rows go
    first (one statement that checks again that nothing refers to them), then the bytes of each deleted row,
    unless another row of the same content appeared meanwhile. Audited (`media.purge`, counts only).
    """
    report = PurgeReport()
    with scope.acting_as(session, SYSTEM):
        begin_write(session)
        candidates = dict(session.execute(select(Blob.id, Blob.sha256).where(_unreferenced())).all())
        recent = {
            blob_id
            for blob_id, sha256 in candidates.items()
            if (age := store.age(sha256)) is not None and age < keep_newer_than
        }
        report.kept_recent = len(recent)
        due = [blob_id for blob_id in candidates if blob_id not in recent]
        gone = (
            session.scalars(delete(Blob).where(Blob.id.in_(due), _unreferenced()).returning(Blob.id)).all()
            if due
            else []
        )
        if gone:
            audit.record(session, "media.purge", "media", files=len(gone), **who)
        session.commit()
        for blob_id in gone:
            sha256 = candidates[blob_id]
            if session.scalar(select(exists().where(Blob.sha256 == sha256))):
                continue  # uploaded again since: its new row needs the bytes
            report.removed += store.remove(sha256, keep_newer_than)
        session.rollback()
        report.orphans = _purge_orphans(session, store, keep_newer_than)
        report.removed += report.orphans
        if report.orphans:
            audit.record(session, "media.purge", "media", files=report.orphans, orphans=True, **who)
            session.commit()
    return report


def _purge_orphans(session: Session, store: MediaStore, keep_newer_than: float, batch: int = 1000) -> int:
    """Delete the store's files that no blob row names, once older than `keep_newer_than` (an upload puts its
    files in place just before the commit that records them); return how many.

    Nothing is lost: a record sent again brings its files again. Checked a batch of digests at a time.
    """
    removed = 0
    digests = iter(store.digests())
    while chunk := list(itertools.islice(digests, batch)):
        known = set(session.scalars(select(Blob.sha256).where(Blob.sha256.in_(chunk))))
        session.rollback()
        removed += sum(store.remove(sha256, keep_newer_than) for sha256 in chunk if sha256 not in known)
    return removed
