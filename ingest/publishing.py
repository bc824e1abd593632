"""Store compiled forms as versions, with their media, and publish them."""
from __future__ import annotations

import io
import logging
import mimetypes
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from forms.compiler import CompiledForm
from ingest.db import begin_write, utcnow
from ingest.errors import Conflict
from ingest.models import Form, FormAttachment, FormVersion, Project
from ingest.storage import FileStore
from ingest.submissions import store_blob

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


def publish(session: Session, store: FileStore, project_id: int, compiled: CompiledForm,
            media: dict[str, bytes], *, force: bool = False) -> PublishResult:
    """Publish a compiled form as a new version of its form, with the media it references.

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
    same = session.scalar(select(FormVersion).where(FormVersion.form_id == form.id,
                                                    FormVersion.version == compiled.version))
    if same is not None and same.published_at is not None:
        if same.xml_md5 == compiled.md5:
            return PublishResult(version=same, created=False, missing_media=_missing(same))
        raise Conflict(f"Version {compiled.version} of form '{compiled.form_id}' is already published. "
                       "Change the version in the settings sheet and publish again.")
    missing = [name for name in compiled.media if name not in media]
    if missing and not force:
        raise Conflict("The form needs media files that were not given: " + ", ".join(missing))
    if same is not None:
        session.delete(same)  # an unpublished draft with this version is replaced
        session.flush()
    version = FormVersion(form_id=form.id, version=compiled.version, title=compiled.title, xml=compiled.xml,
                          xml_md5=compiled.md5, xlsx=compiled.xlsx, fields=compiled.fields, published_at=utcnow())
    session.add(version)
    for name in compiled.media:
        blob = None
        if name in media:
            content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
            blob = store_blob(session, store, io.BytesIO(media[name]), content_type)
        version.attachments.append(FormAttachment(name=name, blob=blob))
    session.flush()
    logger.info("published form %s version %s", compiled.form_id, compiled.version)
    return PublishResult(version=version, created=True, missing_media=missing)


def _missing(version: FormVersion) -> list[str]:
    return [a.name for a in version.attachments if a.blob_id is None]


def current_version(session: Session, form: Form) -> FormVersion | None:
    """Return the most recently published version of a form."""
    return session.scalar(select(FormVersion).where(FormVersion.form_id == form.id, FormVersion.published_at.is_not(None))
                          .order_by(FormVersion.published_at.desc(), FormVersion.id.desc()).limit(1))
