"""Receive a submission exactly once: store it raw, then derive its normalised rows (replay: receiving.replay)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import BinaryIO

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ingest import audit, scope
from ingest.access import SYSTEM, Caller
from ingest.blobs import blob_id
from ingest.cases.register import case_code_of, rebuild_case
from ingest.db import begin_write, utcnow
from ingest.entities.submissions import SubmittedEntity, apply_submitted, read_entity
from ingest.errors import (
    EDIT_OUT_OF_DATE,
    EDIT_TARGET_MISSING,
    FORM_CLOSED,
    SUBMISSION_DELETED,
    SUBMISSION_XML_CONFLICT,
    BadSubmission,
    Conflict,
    Forbidden,
    NotFound,
)
from ingest.models import (
    Device,
    FormVersion,
    Submission,
    SubmissionAttachment,
    SubmissionVersion,
)
from ingest.normalise import Row, normalise
from ingest.persons.identities import names_person
from ingest.receiving import sealed, statements
from ingest.receiving.instances import expected_files, identity, safe_filename
from ingest.receiving.senders import check_editor, senders_of
from ingest.receiving.storing import insert_rows, link_files
from ingest.receiving.targets import find_target, nearest_version
from ingest.storage import MediaStore
from ingest.tags import consent_withheld, place_record, scope_text
from ingest.xmlsafe import UnsafeXMLError, parse

logger = logging.getLogger(__name__)


@dataclass
class IncomingFile:
    """A media part of a submission POST, already spooled by the web layer."""

    name: str
    stream: BinaryIO
    content_type: str = "application/octet-stream"


@dataclass
class Received:
    """Outcome of receive_submission(): the version stored, whether this request created it, and its files."""

    version_id: int
    created: bool
    attachments_expected: int
    attachments_added: int
    attachments_missing: int
    #: the record's form asks who the person is (a field has an identity tag): a new person match is due.
    names_person: bool = False
    #: the province the record was placed in, and the one it named outside its sender's provinces (None if none).
    province: str | None = None
    claimed_province: str | None = None


def receive_submission(
    session: Session,
    store: MediaStore,
    *,
    project_id: int,
    xml: bytes,
    files: Sequence[IncomingFile] = (),
    device: Device | None = None,
    user_id: int | None = None,
    device_ident: str | None = None,
    user_agent: str | None = None,
    draft: FormVersion | None = None,
    expect_form: str | None = None,
    editor: Caller = SYSTEM,
) -> Received:
    """Store one submission POST exactly once and commit it; with `draft`, as test data of that draft.

    `editor` is who sends it: a device may edit only the records it sent; a user only records in their
    scope. Devices and users follow one province rule (ingest.tags.place_record): the record's province is
    the answer tagged scope_province when the sender works there, else the sender's own province, with the
    answer kept as the record's claimed province (flagged for a supervisor and audited), never refused.

    Everything that can be done without the write lock is done first: parsing, normalising, and copying
    the files into the content-addressed media store. The write transaction then only inserts rows, so
    on SQLite a large or slow submission never keeps other tablets waiting.

    :raise BadSubmission: malformed or unsafe XML, no form ID, or not the `expect_form` the URL names.
    :raise Forbidden: a device not assigned to the form, or an edit of another sender's record.
    :raise NotFound: unknown form, or an edit of an unknown instance.
    :raise Conflict: same instanceID with other XML, deleted or superseded instance, closed form.
    """
    with scope.acting_as(session, SYSTEM):
        return _receive(
            session,
            store,
            project_id,
            xml,
            files,
            device,
            user_id,
            device_ident,
            user_agent,
            draft,
            expect_form,
            editor,
        )


def _receive(
    session,
    store,
    project_id,
    xml,
    files,
    device,
    user_id,
    device_ident,
    user_agent,
    draft,
    expect_form,
    editor: Caller,
) -> Received:
    try:
        root = parse(xml)
    except UnsafeXMLError as exc:
        raise BadSubmission(str(exc)) from None
    xml_form_id, version_string, instance_id, deprecated_id = identity(root, expect_form)

    form = find_target(session, project_id, xml_form_id, device, draft)
    versions = form.versions if form is not None else []
    if form is None or not versions:
        raise NotFound(f"The form '{xml_form_id}' is not on this server. Ask your trainer to publish it.")
    if not form.assigned:
        raise Forbidden(f"This device may not send the form '{xml_form_id}'. Ask your trainer to assign it.")
    if draft is None and form.state == "closed":
        raise Conflict(
            f"The form '{xml_form_id}' is closed and no longer accepts data. Ask your trainer which form to use.",
            FORM_CLOSED,
        )
    known = next((v for v in versions if v.version == version_string), None)
    form_version = known or nearest_version(versions, version_string)

    by_name = {safe_filename(f.name): f for f in files}
    encrypted = sealed.is_sealed(root)
    if (
        encrypted
    ):  # encrypted form: keep the manifest and its .enc files as sent; no data to read (ingest/receiving/sealed.py)
        expected, rows = sealed.sealed_files(xml), []
    else:
        expected = expected_files(root, form_version.fields, set(by_name), known is None)
        rows = normalise(root, form_version.fields)
    # One rule for devices and users: a record lands only in a province its sender works in; an answer naming
    # another is kept as a claim, not refused (a refused record stays stuck on a tablet in the field). A sealed
    # record from a sender of several provinces has no readable province until its key is unlocked (its data
    # then places it, ingest/encryption/keys.py); meanwhile it is in no province, seen only by national roles.
    senders = senders_of(editor, device)
    province, claimed = place_record(rows, form_version.fields, senders, sealed=encrypted)
    # Copy the parts the instance names into the store now, outside any transaction (see above).
    pending = [(name, store.start_put(f.stream), f.content_type) for name, f in by_name.items() if name in expected]
    stored = {name: (p.stored, content_type) for name, p, content_type in pending}

    def settle() -> None:
        # The files must be in place before the commit that the 201 reports; their flush ran meanwhile.
        for _name, p, _type in pending:
            p.finish()

    sha = hashlib.sha256(xml).hexdigest()

    new = _NewVersion(
        form_id=form.id,
        form_version_id=form_version.id,
        unknown=known is None,
        instance_id=instance_id,
        deprecated_id=deprecated_id,
        version_string=version_string,
        xml=xml,
        sha=sha,
        device_id=device.id if device else None,
        user_id=user_id,
        device_ident=(device_ident or None) and device_ident[:255],
        user_agent=(user_agent or None) and user_agent[:500],
        draft=draft is not None,
        province=province,
        claimed=claimed,
        senders=scope_text(senders),
        withheld=consent_withheld(rows, form_version.fields),
        editor=editor,
        case_code=case_code_of(rows, form_version.fields),
        project_id=project_id,
        encrypted=encrypted,
        entity=None if encrypted else read_entity(session, root, form_version.id, form_version.md5),
    )
    try:
        if session.get_bind().dialect.name == "sqlite":
            for _name, p, _type in pending:
                p.wait_flushed()  # SQLite has one writer at a time: never wait for a disk flush holding its lock
        # Insert first: a new record (the common case) costs no lookup. The unique (form, instanceID) constraint
        # turns a retry, a concurrent duplicate or a clash into an IntegrityError, answered from what is stored.
        begin_write(session)
        try:
            version_id, added = _insert_new(session, new, expected, rows, stored)
            settle()
            session.commit()
        except (IntegrityError, _AlreadyStored):
            session.rollback()
            begin_write(session)
            existing = session.scalar(
                select(SubmissionVersion).where(
                    SubmissionVersion.form_id == form.id, SubmissionVersion.instance_id == instance_id
                )
            )
            if existing is None:
                raise
            return _retry_or_conflict(session, existing, xml, stored, settle)
    finally:
        # A refused or failed request leaves no file behind (a kept file was moved into place already).
        for _name, p, _type in pending:
            p.discard()
    logger.info("stored submission version %s of form %s (%d files)", version_id, form.id, added)
    if claimed is not None:
        logger.warning(
            "submission version %s names province %s outside its sender's; placed in %s", version_id, claimed, province
        )
    return Received(
        version_id=version_id,
        created=True,
        attachments_expected=len(expected),
        attachments_added=added,
        attachments_missing=len(expected) - added,
        names_person=draft is None and names_person(form_version.fields),
        province=province,
        claimed_province=claimed,
    )


class _AlreadyStored(Exception):
    """An edit whose own instanceID is stored already: a retry, answered from what is stored."""


def _stored(session: Session, new: _NewVersion) -> bool:
    found = select(SubmissionVersion.id).where(
        SubmissionVersion.form_id == new.form_id, SubmissionVersion.instance_id == new.instance_id
    )
    return session.scalar(found) is not None


@dataclass
class _NewVersion:
    """The columns of a new submission version, gathered before the write transaction."""

    form_id: int
    form_version_id: int
    unknown: bool
    instance_id: str
    deprecated_id: str | None
    version_string: str
    xml: bytes
    sha: str
    device_id: int | None
    user_id: int | None
    device_ident: str | None
    user_agent: str | None
    draft: bool
    province: str | None
    withheld: bool
    editor: Caller
    case_code: str | None
    project_id: int
    encrypted: bool = False
    claimed: str | None = None
    #: the sender's provinces as stored with the version (ingest.tags.scope_text).
    senders: str | None = None
    #: what the instance's <meta><entity> asks (ingest.entities.submissions), made with the record.
    entity: SubmittedEntity | None = None


def _retry_or_conflict(session: Session, existing: SubmissionVersion, xml: bytes, stored, settle) -> Received:
    if existing.submission.deleted_at is not None:
        raise Conflict("This record was deleted on the server and cannot be sent again.", SUBMISSION_DELETED)
    if existing.xml != xml:
        raise Conflict(
            "A different record with the same instance ID is already on the server.", SUBMISSION_XML_CONFLICT
        )
    added = link_files(session, existing.id, stored)
    missing = session.execute(
        select(func.count())
        .select_from(SubmissionAttachment)
        .where(SubmissionAttachment.submission_version_id == existing.id, SubmissionAttachment.blob_id.is_(None))
    ).scalar_one()
    total = session.execute(
        select(func.count())
        .select_from(SubmissionAttachment)
        .where(SubmissionAttachment.submission_version_id == existing.id)
    ).scalar_one()
    settle()
    session.commit()
    return Received(
        version_id=existing.id,
        created=False,
        attachments_expected=total,
        attachments_added=added,
        attachments_missing=missing,
    )


def _insert_new(session: Session, new: _NewVersion, expected: set[str], rows: list[Row], stored) -> tuple[int, int]:
    """Insert the submission (or the edit), its version, expected files and normalised rows; return (id, files)."""
    carried: dict[str, int | None] = {}
    old_case_code = None
    now = utcnow()
    # Inserts go to the connection as prepared statements: no per-call statement building, no ORM execution
    # events (inserts carry no scope criteria), one round trip each.
    connection = session.connection()
    if new.deprecated_id:
        old = session.execute(
            select(
                SubmissionVersion.id,
                SubmissionVersion.submission_id,
                SubmissionVersion.current,
                Submission.deleted_at,
                Submission.device_id,
                Submission.province_code,
                Submission.consent_withheld,
                Submission.draft,
                Submission.case_code,
            )
            .join(Submission, Submission.id == SubmissionVersion.submission_id)
            .where(SubmissionVersion.form_id == new.form_id, SubmissionVersion.instance_id == new.deprecated_id)
            .with_for_update()
        ).first()
        if old is None:
            raise NotFound("The record this edit replaces is not on the server.", EDIT_TARGET_MISSING)
        check_editor(new.editor, old)
        old_case_code = old.case_code
        if not old.current or old.deleted_at is not None:
            if _stored(session, new):
                raise _AlreadyStored  # this very edit, sent again: answered as a retry (exactly once)
            raise Conflict("The record this edit replaces was already replaced by another edit.", EDIT_OUT_OF_DATE)
        session.execute(update(SubmissionVersion).where(SubmissionVersion.id == old.id).values(current=False))
        # As Central does, an edit marks the record "edited" for review, whatever state it had.
        session.execute(
            update(Submission)
            .where(Submission.id == old.submission_id)
            .values(
                updated_at=now,
                province_code=new.province,
                claimed_province=new.claimed,
                consent_withheld=new.withheld,
                case_code=new.case_code,
                review_state="edited",
            )
        )
        submission_id = old.submission_id
        # Files an edit does not send again are carried over from the version it replaces.
        carried = dict(
            session.execute(
                select(SubmissionAttachment.name, SubmissionAttachment.blob_id).where(
                    SubmissionAttachment.submission_version_id == old.id
                )
            ).all()
        )
    else:
        submission_id = None
    rows_stored = False
    version = {
        "form_id": new.form_id,
        "instance_id": new.instance_id,
        "form_version_id": new.form_version_id,
        "version_string": new.version_string,
        "unknown_version": new.unknown,
        "current": True,
        "xml": new.xml,
        "xml_sha256": new.sha,
        "device_id": new.device_id,
        "user_id": new.user_id,
        "encrypted": new.encrypted,
        "device_ident": new.device_ident,
        "user_agent": new.user_agent,
        "sender_provinces": new.senders,
        "created_at": now,
    }
    if submission_id is None:
        submission = {
            "form_id": new.form_id,
            "instance_id": new.instance_id,
            "draft": new.draft,
            "device_id": new.device_id,
            "user_id": new.user_id,
            "province_code": new.province,
            "claimed_province": new.claimed,
            "consent_withheld": new.withheld,
            "case_code": new.case_code,
            "created_at": now,
        }
        version_id, submission_id, rows_stored = statements.insert_first(connection, submission, version, rows)
    else:
        version_id = connection.execute(
            statements.INSERT_VERSION, {"submission_id": submission_id, **version}
        ).scalar_one()
    if new.claimed is not None:
        # Audited with the record, in its transaction: a supervisor finds every misplaced claim in the log.
        audit.record(
            session,
            "submission.province_claim",
            f"submission:{submission_id}",
            user_id=new.user_id,
            device_id=new.device_id,
            claimed=new.claimed,
            placed=new.province,
        )
    blobs = {name: blob_id(session, stored_file, content_type) for name, (stored_file, content_type) in stored.items()}
    if expected:
        connection.execute(
            statements.INSERT_ATTACHMENT,
            [
                {
                    "submission_version_id": version_id,
                    "name": name,
                    "blob_id": blobs.get(name, carried.get(name)),
                    "received_at": now if blobs.get(name, carried.get(name)) else None,
                }
                for name in sorted(expected)
            ],
        )
    if not rows_stored:
        insert_rows(session, version_id, rows)
    if not new.draft:
        apply_submitted(session, new.entity, submission_id, new)
        rebuild_case(session, new.project_id, new.case_code)
        if old_case_code != new.case_code:
            rebuild_case(session, new.project_id, old_case_code)  # an edit moved the record to another case
    added = sum(1 for name, blob in blobs.items() if blob != carried.get(name))
    return version_id, added
