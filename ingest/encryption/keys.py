"""Encrypted forms: give a form a key, and open its sealed submissions once the key is unlocked.

A tablet encrypts every submission of a form whose XLSForm has a `public_key` (see ingest.crypto and
PROTOCOL.md). The server stores what it receives untouched: the manifest as the version's XML and the
`.enc` files as attachments; nothing of the data can be read, so no rows are derived. Once an
administrator unlocks the form's private key with its passphrase, `unlock` decrypts each sealed version
into the normal pipeline (plain XML, normalised rows, province and consent, plain media files) and
keeps the sealed files as they arrived.
"""

from __future__ import annotations

import io
import logging
import mimetypes
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography.hazmat.primitives import serialization
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from forms.compiler import compile_xlsform
from ingest import scope
from ingest.access import SYSTEM
from ingest.blobs import store_blob
from ingest.crypto import (
    DEFAULT_KDF,
    Argon2Parameters,
    DecryptedSubmission,
    EncryptionError,
    TamperedSubmission,
    WrongKey,
    WrongPassphrase,
    decrypt_submission,
    generate_key_pair,
    load_public_key,
    parse_manifest,
    unwrap_private_key,
)
from ingest.db import begin_write, utcnow
from ingest.errors import BadSubmission, NotFound
from ingest.models import Form, FormKey, FormVersion, SubmissionAttachment, SubmissionVersion
from ingest.publishing.versions import current_version, publish
from ingest.receiving.instances import safe_filename
from ingest.receiving.replay import replay
from ingest.storage import MediaStore
from ingest.xmlsafe import UnsafeXMLError, find_meta, parse

logger = logging.getLogger(__name__)


# --- Keys ---------------------------------------------------------------------------------------------------


def public_key_pem(public_key: str) -> str:
    """Return a base64 SubjectPublicKeyInfo (the XLSForm `public_key`) as PEM, as form_keys stores it."""
    return (
        load_public_key(public_key)
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


def next_version(current: str, taken) -> str:
    """Return a version string greater than `current` and not in `taken`: +1 if it is a number, else a suffix."""
    if current.isdigit():
        candidate = str(int(current) + 1).zfill(len(current))
        while candidate in taken:
            candidate = str(int(candidate) + 1).zfill(len(current))
        return candidate
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    return f"{current}.{stamp}" if current else stamp


def with_public_key(xlsx: bytes, form_id: str, version: str, public_key: str) -> bytes:
    """Return a copy of an XLSForm whose settings sheet holds `public_key` and `version` (and the form ID).

    :raise BadSubmission: the stored XLSForm cannot be read as a workbook.
    """
    try:
        workbook = load_workbook(io.BytesIO(xlsx))
    except Exception:  # openpyxl raises many kinds on a damaged archive
        raise BadSubmission("The form's stored XLSForm cannot be read; publish the XLSForm again first.") from None
    sheet = next((s for s in workbook.worksheets if s.title.strip().lower() == "settings"), None)
    if sheet is None:
        sheet = workbook.create_sheet("settings")
    headers = {str(cell.value).strip().lower(): cell.column for cell in sheet[1] if cell.value is not None}

    def column(name: str) -> int:
        if name not in headers:
            headers[name] = max(headers.values(), default=0) + 1
            sheet.cell(row=1, column=headers[name], value=name)
        return headers[name]

    if "form_id" not in headers:
        # Without it pyxform would name the form after the file; keep the ID tablets know.
        sheet.cell(row=2, column=column("form_id"), value=form_id)
    sheet.cell(row=2, column=column("version"), value=version)
    sheet.cell(row=2, column=column("public_key"), value=public_key)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


@dataclass
class CreatedKey:
    """What `create_key` did: the stored key and the form version that carries its public key."""

    key: FormKey
    version: FormVersion


def create_key(
    session: Session,
    store: MediaStore,
    form: Form,
    passphrase: str,
    *,
    validate: bool = True,
    kdf: Argon2Parameters = DEFAULT_KDF,
) -> CreatedKey:
    """Make a key pair for `form`, store it (private key wrapped under `passphrase`), and publish the form's
    next version with the public key in its settings; the media carry over. Not committed.

    :raise ValueError: the passphrase is too short.
    :raise NotFound: the form has no published version.  :raise BadSubmission: its XLSForm was not stored.
    :raise forms.compiler.FormError: the changed XLSForm does not compile.
    :raise Conflict: publishing was refused (see ingest.publishing.versions.publish).
    """
    current = current_version(session, form)
    if current is None:
        raise NotFound(f"The form '{form.xml_form_id}' has no published version to add a key to.")
    if current.xlsx is None:
        raise BadSubmission(
            f"The current version of '{form.xml_form_id}' has no stored XLSForm; "
            "publish the XLSForm with `collector forms publish` first."
        )
    pair = generate_key_pair(passphrase, kdf=kdf)
    taken = set(session.scalars(select(FormVersion.version).where(FormVersion.form_id == form.id)))
    version = next_version(current.version, taken)
    compiled = compile_xlsform(
        with_public_key(current.xlsx, form.xml_form_id, version, pair.public_key), validate=validate
    )
    if compiled.form_id != form.xml_form_id:
        raise BadSubmission(f"The changed XLSForm is for '{compiled.form_id}', not '{form.xml_form_id}'.")
    begin_write(session)
    key = FormKey(
        form_id=form.id,
        public_key=public_key_pem(pair.public_key),
        sealed_private_key=pair.wrapped_private_key,
        created_at=utcnow(),
    )
    session.add(key)
    # The version string is new (see next_version), so this publishes; media the current version lacks stay missing.
    result = publish(session, store, form.project_id, compiled, {}, force=True)
    session.flush()
    logger.info("made key %s for form %s, published as version %s", key.id, form.id, version)
    return CreatedKey(key=key, version=result.version)


# --- Unlocking ----------------------------------------------------------------------------------------------


@dataclass
class UnlockReport:
    """What `unlock` did: how many versions it decrypted, and each one it left sealed with the reason."""

    decrypted: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)


def unlock_keys(session: Session, form: Form, passphrase: str) -> list:
    """Return the private keys of `form` that `passphrase` opens, newest first; they stay in memory only.

    :raise NotFound: the form has no key.  :raise WrongPassphrase: the passphrase opens none of them.
    :raise ValueError: a stored key is damaged.
    """
    stored = session.scalars(select(FormKey).where(FormKey.form_id == form.id).order_by(FormKey.id.desc())).all()
    if not stored:
        raise NotFound(f"The form '{form.xml_form_id}' has no key; make one with `collector keys create`.")
    opened, refused = [], None
    for key in stored:
        try:
            opened.append(unwrap_private_key(key.sealed_private_key, passphrase))
        except WrongPassphrase as exc:
            refused = exc
    if not opened and refused is not None:  # every key refused (there is at least one key)
        raise refused
    return opened


def unlock(session: Session, store: MediaStore, form: Form, private_keys: list) -> UnlockReport:
    """Decrypt every sealed version of `form` into the normal pipeline, each in its own transaction.

    A version that cannot be decrypted (another key, a damaged or altered file, a missing file) is left
    exactly as it was and reported with its instanceID and the reason; the others proceed.
    """
    report = UnlockReport()
    with scope.acting_as(session, SYSTEM):
        ids = session.scalars(
            select(SubmissionVersion.id)
            .where(
                SubmissionVersion.form_id == form.id,
                SubmissionVersion.encrypted.is_(True),
                SubmissionVersion.plain_xml.is_(None),
            )
            .order_by(SubmissionVersion.id)
        ).all()
        session.rollback()  # end this read: each version is opened in a transaction of its own
        for version_id in ids:
            version = session.get_one(SubmissionVersion, version_id)
            try:
                opened = _open(store, form, version, private_keys)
                _store_opened(session, store, version, opened)
                session.commit()
            except EncryptionError as exc:
                session.rollback()
                report.failed.append((version.instance_id, str(exc)))
                logger.warning("left version %s of form %s sealed: %s", version_id, form.id, type(exc).__name__)
                continue
            except Exception:
                session.rollback()
                raise
            report.decrypted += 1
    return report


def _read_blob(store: MediaStore, name: str, sha256: str):
    def read() -> bytes:
        try:
            with store.open(sha256) as stream:
                return stream.read()
        except FileNotFoundError:
            raise TamperedSubmission(f"The encrypted file {name} is missing from the media store.") from None

    return read


def _open(store: MediaStore, form: Form, version: SubmissionVersion, private_keys: list) -> DecryptedSubmission:
    """Decrypt one sealed version with the first key that fits, and check it is the instance it claims to be.

    :raise WrongKey: none of the keys fits.  :raise TamperedSubmission: anything damaged, missing or altered.
    """
    manifest = parse_manifest(version.xml)
    files = {a.name: _read_blob(store, a.name, a.blob.sha256) for a in version.attachments if a.blob is not None}
    opened, wrong = None, None
    for private_key in private_keys:
        try:
            opened = decrypt_submission(private_key, manifest, files)
            break
        except WrongKey as exc:
            wrong = exc
    if opened is None:
        raise WrongKey(f"{wrong} None of the keys this passphrase opens fits.")
    try:
        root = parse(opened.xml)
    except UnsafeXMLError:
        raise TamperedSubmission(
            f"Submission {manifest.instance_id} decrypts to data that is not safe, well-formed XML."
        ) from None
    if (
        (root.get("id") or "").strip() != form.xml_form_id
        or find_meta(root, "instanceID") != version.instance_id
        or manifest.instance_id != version.instance_id
    ):
        raise TamperedSubmission(
            f"Submission {version.instance_id} decrypts to an instance of another form or "
            "with another instance ID than its manifest says."
        )
    for name in opened.media:
        if safe_filename(name) != name:
            raise TamperedSubmission(f"Submission {version.instance_id} holds a media file with an unusable name.")
    return opened


def _store_opened(session: Session, store: MediaStore, version: SubmissionVersion, opened: DecryptedSubmission) -> None:
    """Store the plain instance and media of a version and derive its rows, province and consent (not committed)."""

    begin_write(session)
    version.plain_xml = opened.xml
    present = {a.name: a for a in version.attachments}
    now = utcnow()
    for name, body in opened.media.items():
        blob = store_blob(session, store, io.BytesIO(body), mimetypes.guess_type(name)[0] or "application/octet-stream")
        attachment = present.get(name)
        if attachment is None:
            session.add(
                SubmissionAttachment(submission_version_id=version.id, name=name, blob_id=blob.id, received_at=now)
            )
        else:
            attachment.blob_id, attachment.received_at = blob.id, now
    session.flush()
    replay(session, version)
