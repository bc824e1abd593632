"""Store compiled forms as drafts and versions, with their media, and publish them."""

from __future__ import annotations

import hashlib
import io
import logging
import mimetypes
import re
import secrets
from dataclasses import dataclass, field
from typing import BinaryIO

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, object_session

from forms.compiler import MAX_VERSION_LENGTH, CompiledForm
from ingest import audit
from ingest.blobs import store_blob
from ingest.db import begin_write, utcnow
from ingest.entities.datasets import declare_from_form, linked_lists
from ingest.errors import ALREADY_EXISTS, MEDIA_MISSING, VERSION_PUBLISHED, BadSubmission, Conflict, NotFound
from ingest.generations import GenerationCache
from ingest.models import (
    Blob,
    Form,
    FormAttachment,
    FormVersion,
    Project,
    Submission,
    SubmissionAttachment,
    SubmissionRow,
    SubmissionVersion,
)
from ingest.storage import MediaStore

logger = logging.getLogger(__name__)


@dataclass
class PublishResult:
    """What publishing did: the version, whether it was new, and media still missing."""

    version: FormVersion
    created: bool
    missing_media: list[str] = field(default_factory=list)


def ensure_project(session: Session, project_id: int = 1, name: str = "Lao PDR trafficking cases") -> Project:
    """Return the project with this id, creating it if absent."""
    begin_write(session)
    project = session.get(Project, project_id)
    if project is None:
        project = Project(id=project_id, name=name)
        session.add(project)
        session.flush()
    return project


#: Whether a project exists, by id, at the generation it was read (ingest.generations).
_PROJECTS: GenerationCache[int, bool] = GenerationCache()


def project_exists(session: Session, project_id: int) -> bool:
    """Say whether the project exists (no query while nothing watched changed since this process looked)."""
    return _PROJECTS.get(
        session,
        project_id,
        lambda: session.execute(select(Project.id).where(Project.id == project_id)).first() is not None,
    )


def current_version(session: Session, form: Form) -> FormVersion | None:
    """Return the most recently published version of a form."""
    return session.scalar(
        select(FormVersion)
        .where(FormVersion.form_id == form.id, FormVersion.published_at.is_not(None))
        .order_by(FormVersion.published_at.desc(), FormVersion.id.desc())
        .limit(1)
    )


def current_draft(session: Session, form: Form) -> FormVersion | None:
    """Return the form's draft, if it has one."""
    return session.scalar(select(FormVersion).where(FormVersion.form_id == form.id, FormVersion.published_at.is_(None)))


def missing_media(version: FormVersion) -> list[str]:
    """Names of the media a version references that have not been uploaded (an entity list of the project,
    `cases.csv`, is made by the server: never missing)."""
    missing = [a.name for a in version.attachments if a.blob_id is None]
    session = object_session(version)
    if missing and session is not None:
        linked = linked_lists(session, version.form.project_id, [n for n in missing if n.endswith(".csv")])
        missing = [name for name in missing if name not in linked]
    return missing


def published_versions(session: Session, form: Form) -> list[FormVersion]:
    """Return every published version of a form, newest first."""
    return list(
        session.scalars(
            select(FormVersion)
            .where(FormVersion.form_id == form.id, FormVersion.published_at.is_not(None))
            .order_by(FormVersion.published_at.desc(), FormVersion.id.desc())
        )
    )


def published_version(session: Session, form: Form, version: str) -> FormVersion | None:
    """Return the published version of a form with this version string, if there is one."""
    return session.scalar(
        select(FormVersion).where(
            FormVersion.form_id == form.id, FormVersion.version == version, FormVersion.published_at.is_not(None)
        )
    )


def _new_version(
    session: Session, store: MediaStore, form: Form, compiled: CompiledForm, media: dict[str, bytes], *, published: bool
) -> FormVersion:
    """Add a version; each referenced file comes from `media`, else is carried over from the latest version."""
    previous = current_draft(session, form) if not published else None
    previous = previous or current_version(session, form)
    carried = {a.name: a.blob for a in previous.attachments if a.blob is not None} if previous else {}
    version = FormVersion(
        form_id=form.id,
        version=compiled.version,
        title=compiled.title,
        xml=compiled.xml,
        xml_md5=compiled.md5,
        xlsx=compiled.xlsx,
        fields=compiled.fields,
        warnings=[w.as_dict() for w in compiled.warnings],
        published_at=utcnow() if published else None,
        draft_token=None if published else secrets.token_urlsafe(32),
    )
    for name in compiled.media:
        blob: Blob | None
        if name in media:
            blob = store_blob(session, store, io.BytesIO(media[name]), _content_type(name))
        else:
            blob = carried.get(name)
        version.attachments.append(FormAttachment(name=name, blob=blob))
    session.add(version)
    session.flush()
    # The entity list the form writes (its entities sheet): created with the draft, published with the form.
    declare_from_form(session, form.project_id, compiled.xml, published=published)
    return version


def _content_type(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def publish(
    session: Session,
    store: MediaStore,
    project_id: int,
    compiled: CompiledForm,
    media: dict[str, bytes],
    *,
    force: bool = False,
) -> PublishResult:
    """Publish a compiled form at once as a new version (the CLI's path; drafts are left alone).

    Publishing the same XForm again is a no-op, so `make serve` can run any number of times.

    :raise Conflict: the version string was already published with other content, or media are
        missing and `force` is not set.
    """
    begin_write(session)
    form = session.scalar(select(Form).where(Form.project_id == project_id, Form.xml_form_id == compiled.form_id))
    if form is None:
        form = Form(project_id=project_id, xml_form_id=compiled.form_id, state="open")
        session.add(form)
        session.flush()
    same = published_version(session, form, compiled.version)
    if same is not None:
        if same.xml_md5 == compiled.md5:
            return PublishResult(version=same, created=False, missing_media=missing_media(same))
        raise Conflict(
            f"Version {compiled.version} of form '{compiled.form_id}' is already published. "
            "Change the version in the settings sheet and publish again.",
            VERSION_PUBLISHED,
        )
    version = _new_version(session, store, form, compiled, media, published=True)
    missing = missing_media(version)
    if missing and not force:
        raise Conflict("The form needs media files that were not given: " + ", ".join(missing), MEDIA_MISSING)
    logger.info("published form %s version %s", compiled.form_id, compiled.version)
    return PublishResult(version=version, created=True, missing_media=missing)


FORM_STATES = ("open", "closing", "closed")


def note_published(session: Session, xml_form_id: str, version: str) -> None:
    """Audit (`form.publish`) that a version of a form was published, from the API's draft or the CLI."""
    audit.record(session, "form.publish", f"form:{xml_form_id}", version=version)


def set_state(session: Session, form: Form, state: str, **details) -> None:
    """Open a form, or close it: closing hides it from tablets but still accepts data; closed refuses data.
    Audited (`form.state`; `details` add what only one door knows, such as `via`).

    :raise BadSubmission: not one of FORM_STATES.
    """
    if state not in FORM_STATES:
        raise BadSubmission(f"A form's state is one of {', '.join(FORM_STATES)}.")
    begin_write(session)
    form.state = state
    session.flush()
    audit.record(session, "form.state", f"form:{form.xml_form_id}", state=state, **details)


def create_draft(
    session: Session,
    store: MediaStore,
    project_id: int,
    compiled: CompiledForm,
    *,
    new_form: bool,
    xml_form_id: str | None = None,
) -> FormVersion:
    """Store a compiled form as the form's draft, replacing an earlier draft and its test data; audited
    (`form.draft`).

    :raise Conflict: `new_form` and a form with this ID exists.  :raise NotFound: not `new_form` and the
        form does not exist.  :raise BadSubmission: the XLSForm's form_id is not `xml_form_id`.
    """
    begin_write(session)
    if xml_form_id is not None and compiled.form_id != xml_form_id:
        raise BadSubmission(
            f"This XLSForm's form_id is '{compiled.form_id}', not '{xml_form_id}'. "
            "Fix the form_id in the settings sheet."
        )
    form = session.scalar(select(Form).where(Form.project_id == project_id, Form.xml_form_id == compiled.form_id))
    if new_form and form is not None:
        raise Conflict(
            f"A form with the ID '{compiled.form_id}' already exists in this project. Upload the new "
            "version as a draft of that form, or change form_id in the settings sheet.",
            ALREADY_EXISTS,
        )
    if not new_form and form is None:
        raise NotFound(f"No form '{xml_form_id}' in project {project_id}.")
    if form is None:
        form = Form(project_id=project_id, xml_form_id=compiled.form_id, state="open")
        session.add(form)
        session.flush()
    old = current_draft(session, form)
    version = _new_version(session, store, form, compiled, {}, published=False)
    if old is not None:
        discard_test_data(session, form)
        session.delete(old)
        session.flush()
    audit.record(session, "form.draft", f"form:{compiled.form_id}", version=compiled.version)
    logger.info("stored draft of form %s version %s", compiled.form_id, compiled.version)
    return version


def upload_draft_media(
    session: Session,
    store: MediaStore,
    draft: FormVersion,
    name: str,
    stream: BinaryIO,
    content_type: str | None = None,
) -> FormAttachment:
    """Store a media file for a draft under the name the form references; audited (`form.media`).

    :raise NotFound: the form references no file by that name.
    """
    begin_write(session)
    attachment = next((a for a in draft.attachments if a.name == name), None)
    if attachment is None:
        expected = ", ".join(a.name for a in draft.attachments) or "none"
        raise NotFound(f"The form does not use a file named '{name}' (it uses: {expected}).")
    attachment.blob = store_blob(session, store, stream, content_type or _content_type(name))
    session.flush()
    audit.record(session, "form.media", f"form:{draft.form.xml_form_id}", name=name)
    return attachment


def set_draft_version(session: Session, draft: FormVersion, version: str) -> None:
    """Give a draft another version string before it is published (Central's `publish?version=`): the
    version attribute of the XForm's data root is rewritten, and its hash with it.

    :raise BadSubmission: the version is too long or holds a character an XML attribute cannot.
    """
    if len(version) > MAX_VERSION_LENGTH or any(c in version for c in '<>&"') or not version.isprintable():
        raise BadSubmission(f'A version is at most {MAX_VERSION_LENGTH} printable characters, without < > & or ".')
    begin_write(session)
    tag = re.search(r'<[^<>]*\sid="' + re.escape(draft.form.xml_form_id) + r'"[^<>]*>', draft.xml)
    new_tag, count = (
        re.subn(r'(\sversion=")[^"]*(")', lambda m: m.group(1) + version + m.group(2), tag.group()) if tag else ("", 0)
    )
    if tag is None or count != 1:
        raise BadSubmission("The draft's XForm has no version attribute to change.")
    xml = draft.xml[: tag.start()] + new_tag + draft.xml[tag.end() :]
    draft.xml, draft.version = xml, version
    draft.xml_md5 = hashlib.md5(xml.encode("utf-8")).hexdigest()
    session.flush()


def publish_draft(session: Session, form: Form, *, force: bool = False) -> FormVersion:
    """Make the draft the current version and discard its test data; audited (`form.publish`).

    :raise NotFound: no draft.  :raise Conflict: its version string was already published, or media are
        missing and `force` is not set.
    """
    begin_write(session)
    draft = current_draft(session, form)
    if draft is None:
        raise NotFound(f"The form '{form.xml_form_id}' has no draft to publish.")
    if published_version(session, form, draft.version) is not None:
        raise Conflict(
            f"Version {draft.version} of form '{form.xml_form_id}' is already published. "
            "Change the version in the settings sheet, upload the draft again, and publish.",
            VERSION_PUBLISHED,
        )
    missing = missing_media(draft)
    if missing and not force:
        raise Conflict("Upload these media files before publishing (or force it): " + ", ".join(missing), MEDIA_MISSING)
    discard_test_data(session, form)
    draft.published_at = utcnow()
    draft.draft_token = None
    session.flush()
    declare_from_form(session, form.project_id, draft.xml, published=True)
    note_published(session, form.xml_form_id, draft.version)
    logger.info("published draft of form %s version %s", form.xml_form_id, draft.version)
    return draft


def discard_draft(session: Session, form: Form) -> None:
    """Delete the form's draft and its test data; audited (`form.draft_discard`).

    :raise NotFound: no draft.
    """
    begin_write(session)
    draft = current_draft(session, form)
    if draft is None:
        raise NotFound(f"The form '{form.xml_form_id}' has no draft.")
    discard_test_data(session, form)
    session.delete(draft)
    session.flush()
    audit.record(session, "form.draft_discard", f"form:{form.xml_form_id}")


def discard_test_data(session: Session, form: Form) -> None:
    """Delete the test submissions sent to the form's draft (never real data)."""
    subs = select(Submission.id).where(Submission.form_id == form.id, Submission.draft.is_(True))
    versions = select(SubmissionVersion.id).where(SubmissionVersion.submission_id.in_(subs))
    session.execute(delete(SubmissionRow).where(SubmissionRow.submission_version_id.in_(versions)))
    session.execute(delete(SubmissionAttachment).where(SubmissionAttachment.submission_version_id.in_(versions)))
    session.execute(delete(SubmissionVersion).where(SubmissionVersion.id.in_(versions)))
    session.execute(delete(Submission).where(Submission.id.in_(subs)))
