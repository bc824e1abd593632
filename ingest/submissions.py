"""Receive a submission exactly once: store it raw, then derive its normalised rows."""
from __future__ import annotations

import hashlib
import logging
import re
import uuid
from dataclasses import dataclass
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ingest.db import begin_write, utcnow
from ingest.errors import BadSubmission, Conflict, Forbidden, NotFound
from ingest.models import (
    Blob, Device, Form, FormVersion, Submission, SubmissionAttachment, SubmissionRow, SubmissionVersion,
)
from ingest.normalise import normalise
from ingest.storage import FileStore
from ingest.xmlsafe import UnsafeXMLError, find_meta, local_name, parse

logger = logging.getLogger(__name__)

_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\:]")


def safe_filename(name: str | None) -> str:
    """Reduce a client-supplied file name to its last component, free of path and control characters."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE_NAME.sub("_", base).strip().lstrip(".")
    return base[:255] or "file"


@dataclass
class IncomingFile:
    """A media part of a submission POST, already spooled by the web layer."""

    name: str
    stream: BinaryIO
    content_type: str = "application/octet-stream"


@dataclass
class Received:
    """Outcome of receive(): the version stored and whether this request created it."""

    version: SubmissionVersion
    created: bool
    attachments_added: int


def store_blob(session: Session, store: FileStore, stream: BinaryIO, content_type: str) -> Blob:
    """Write a stream to the media store and return its Blob row (one row per distinct content)."""
    stored = store.put_stream(stream)
    blob = session.scalar(select(Blob).where(Blob.sha256 == stored.sha256))
    if blob is None:
        blob = Blob(sha256=stored.sha256, md5=stored.md5, size=stored.size, content_type=content_type)
        try:
            with session.begin_nested():
                session.add(blob)
        except IntegrityError:
            blob = session.scalar(select(Blob).where(Blob.sha256 == stored.sha256))
    return blob


def _published_versions(session: Session, form: Form) -> list[FormVersion]:
    return list(session.scalars(
        select(FormVersion).where(FormVersion.form_id == form.id, FormVersion.published_at.is_not(None))
        .order_by(FormVersion.published_at, FormVersion.id)))


def _nearest_version(versions: list[FormVersion], wanted: str) -> FormVersion:
    """Pick the version to normalise an unknown version against: the highest not above it, else the newest."""
    below = [v for v in versions if v.version <= wanted]
    return max(below, key=lambda v: v.version) if below else versions[-1]


def _expected_files(root, fields: list[dict], received_names: set[str], unknown_version: bool) -> set[str]:
    """Names of the files an instance refers to through its binary fields."""
    binary_rel = {f["path"].split("/", 2)[2] for f in fields if f.get("binary") and f["path"].count("/") >= 2}
    names: set[str] = set()
    stack = [(root, "")]
    while stack:
        element, rel = stack.pop()
        for child in element:
            name = local_name(child.tag)
            child_rel = f"{rel}/{name}" if rel else name
            if len(child):
                stack.append((child, child_rel))
                continue
            text = (child.text or "").strip()
            # For a version the server never saw, any leaf naming a file that arrived counts too.
            if text and (child_rel in binary_rel or (unknown_version and text in received_names)):
                names.add(text)
    return names


def receive_submission(
    session: Session,
    store: FileStore,
    *,
    project_id: int,
    xml: bytes,
    files: list[IncomingFile] = (),
    device: Device | None = None,
    user_id: int | None = None,
    device_ident: str | None = None,
    user_agent: str | None = None,
    draft: FormVersion | None = None,
    expect_form: str | None = None,
) -> Received:
    """Store one submission POST exactly once and commit it; with `draft`, as test data of that draft.

    :raise BadSubmission: malformed or unsafe XML, no form ID, or not the `expect_form` the URL names.
    :raise NotFound: unknown form, or an edit of an unknown instance.
    :raise Conflict: same instanceID with other XML, deleted or superseded instance, closed form.
    """
    try:
        root = parse(xml)
    except UnsafeXMLError as exc:
        raise BadSubmission(str(exc)) from None
    xml_form_id = (root.get("id") or "").strip()
    if not xml_form_id:
        raise BadSubmission("The form data has no form ID (the id attribute of its root element is missing).")
    if expect_form is not None and xml_form_id != expect_form:
        raise BadSubmission(f"The XML is an instance of '{xml_form_id}', not of the form '{expect_form}'.")
    version_string = (root.get("version") or "").strip()
    # Central generates an instanceID when a client sends none, rather than refusing the record.
    instance_id = find_meta(root, "instanceID") or f"uuid:{uuid.uuid4()}"
    deprecated_id = find_meta(root, "deprecatedID")

    begin_write(session)
    if draft is not None:
        form = draft.form if draft.form.xml_form_id == xml_form_id else None
        versions = [draft] if form else []
    else:
        form = session.scalar(select(Form).where(Form.project_id == project_id, Form.xml_form_id == xml_form_id))
        versions = _published_versions(session, form) if form else []
    if form is None or not versions:
        raise NotFound(f"The form '{xml_form_id}' is not on this server. Ask your trainer to publish it.")
    if draft is None and device is not None and form not in device.forms:
        raise Forbidden(f"This device may not send the form '{xml_form_id}'. Ask your trainer to assign it.")
    if draft is None and form.state == "closed":
        raise Conflict(f"The form '{xml_form_id}' is closed and no longer accepts data. Ask your trainer which form to use.")
    known = next((v for v in versions if v.version == version_string), None)
    form_version = known or _nearest_version(versions, version_string)

    names = {safe_filename(f.name): f for f in files}
    sha = hashlib.sha256(xml).hexdigest()
    for attempt in range(2):
        existing = session.scalar(
            select(SubmissionVersion).where(SubmissionVersion.form_id == form.id, SubmissionVersion.instance_id == instance_id))
        if existing is not None:
            return _retry_or_conflict(session, store, existing, xml, names)
        try:
            with session.begin_nested():
                version = _insert_new(session, form, form_version, known is None, instance_id, deprecated_id,
                                      version_string, xml, sha, root, device, user_id, device_ident, user_agent, names,
                                      draft is not None)
            break
        except IntegrityError:
            # Another request stored the same instanceID between our read and insert: answer as for a retry.
            if attempt:
                raise
            continue
    added = _attach(session, store, version, names)
    session.commit()
    logger.info("stored submission version %s of form %s (%d files)", version.id, form.id, added)
    return Received(version=version, created=True, attachments_added=added)


def _retry_or_conflict(session, store, existing: SubmissionVersion, xml: bytes, names) -> Received:
    if existing.submission.deleted_at is not None:
        raise Conflict("This record was deleted on the server and cannot be sent again.")
    if existing.xml != xml:
        raise Conflict("A different record with the same instance ID is already on the server.")
    added = _attach(session, store, existing, names)
    session.commit()
    return Received(version=existing, created=False, attachments_added=added)


def _insert_new(session, form, form_version, unknown, instance_id, deprecated_id, version_string, xml, sha,
                root, device, user_id, device_ident, user_agent, names, is_draft) -> SubmissionVersion:
    carried: dict[str, int | None] = {}
    if deprecated_id:
        old = session.scalar(select(SubmissionVersion).where(
            SubmissionVersion.form_id == form.id, SubmissionVersion.instance_id == deprecated_id)
            .with_for_update())
        if old is None:
            raise NotFound("The record this edit replaces is not on the server.")
        if not old.current or old.submission.deleted_at is not None:
            raise Conflict("The record this edit replaces was already replaced by another edit.")
        old.current = False
        submission = old.submission
        submission.updated_at = utcnow()
        carried = {a.name: a.blob_id for a in old.attachments}
    else:
        submission = Submission(form_id=form.id, instance_id=instance_id, draft=is_draft,
                                device_id=device.id if device else None, user_id=user_id)
        session.add(submission)
    version = SubmissionVersion(
        submission=submission, form_id=form.id, instance_id=instance_id, form_version_id=form_version.id,
        version_string=version_string, unknown_version=unknown, current=True, xml=xml, xml_sha256=sha,
        device_id=device.id if device else None, user_id=user_id,
        device_ident=(device_ident or None) and device_ident[:255], user_agent=(user_agent or None) and user_agent[:500],
    )
    session.add(version)
    session.flush()
    for name in sorted(_expected_files(root, form_version.fields, set(names), unknown)):
        # Files an edit does not send again are carried over from the version it replaces.
        blob_id = carried.get(name)
        session.add(SubmissionAttachment(submission_version=version, name=name, blob_id=blob_id,
                                         received_at=utcnow() if blob_id else None))
    write_rows(session, version, root, form_version.fields)
    session.flush()
    return version


def write_rows(session: Session, version: SubmissionVersion, root, fields: list[dict]) -> None:
    """Derive and add the normalised rows of a stored version."""
    made = {}
    for row in normalise(root, fields):
        obj = SubmissionRow(submission_version_id=version.id, path=row.path, position=row.position,
                            parent_id=None, data=row.data)
        if row.parent is not None:
            obj.parent_id = made[id(row.parent)].id
        session.add(obj)
        session.flush()
        made[id(row)] = obj


def _attach(session: Session, store: FileStore, version: SubmissionVersion, names: dict[str, IncomingFile]) -> int:
    """Store the files the version expects; parts it does not expect are ignored, as Central does."""
    added = 0
    for attachment in version.attachments:
        incoming = names.get(attachment.name)
        if incoming is None:
            continue
        blob = store_blob(session, store, incoming.stream, incoming.content_type)
        if attachment.blob_id != blob.id:
            attachment.blob_id = blob.id
            attachment.received_at = utcnow()
            added += 1
    session.flush()
    return added


def attach_file(session: Session, store: FileStore, version: SubmissionVersion, name: str, stream: BinaryIO,
                content_type: str = "application/octet-stream") -> bool:
    """Store one file a stored version expects (REST upload); say whether it was new and commit.

    :raise NotFound: the version does not refer to a file of that name.
    """
    begin_write(session)
    if not any(a.name == name for a in version.attachments):
        raise NotFound(f"This record does not refer to a file named '{name}'.")
    added = _attach(session, store, version, {name: IncomingFile(name, stream, content_type)})
    session.commit()
    return added == 1


def replay(session: Session, version: SubmissionVersion) -> int:
    """Rebuild a version's normalised rows from its raw XML; return how many rows were written."""
    begin_write(session)
    session.query(SubmissionRow).filter(SubmissionRow.submission_version_id == version.id).delete()
    root = parse(version.xml)
    fields = version.form_version.fields if version.form_version else []
    write_rows(session, version, root, fields)
    return session.query(SubmissionRow).filter(SubmissionRow.submission_version_id == version.id).count()

