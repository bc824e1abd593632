"""Fetch the form versions a handbook is printed from, with their XLSForms and CSV media."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from forms.handbook.model import FormSource
from ingest.errors import NotFound
from ingest.models import Form, FormVersion
from ingest.publishing.versions import current_draft, current_version
from ingest.storage import MediaStore

logger = logging.getLogger(__name__)

#: Largest media file read into a handbook; CSV lists are small, anything bigger is left out.
MAX_MEDIA_BYTES = 5 * 1024 * 1024


def handbook_versions(
    session: Session, project_id: int, form_ids: list[str] | None, *, draft: bool = False
) -> list[FormVersion]:
    """Return the published version (or the draft) of each named form, or of every form of the project.

    :raise NotFound: a named form does not exist, or has no published version (no draft, with `draft`).
    """
    query = select(Form).where(Form.project_id == project_id).order_by(Form.xml_form_id)
    forms = list(session.scalars(query))
    if form_ids:
        by_id = {f.xml_form_id: f for f in forms}
        unknown = [f for f in form_ids if f not in by_id]
        if unknown:
            raise NotFound(f"No such form in project {project_id}: {', '.join(unknown)}.")
        forms = [by_id[f] for f in dict.fromkeys(form_ids)]
    versions = []
    for form in forms:
        version = current_draft(session, form) if draft else current_version(session, form)
        if version is None:
            if form_ids:
                what = "draft" if draft else "published version"
                raise NotFound(f"The form '{form.xml_form_id}' has no {what}.")
            continue
        if version.xlsx is None:
            if form_ids:
                raise NotFound(f"The form '{form.xml_form_id}' was not published from an XLSForm.")
            continue
        versions.append(version)
    if not versions:
        raise NotFound("There is no form to print: " + ("no form has a draft." if draft else "no form is published."))
    return versions


def form_source(version: FormVersion, store: MediaStore) -> FormSource:
    """Describe a stored version for the handbook: its XLSForm, version, XForm md5 and CSV media.

    :raise NotFound: the version was not published from an XLSForm (`handbook_versions` leaves those out).
    """
    if version.xlsx is None:
        raise NotFound(f"The form '{version.form.xml_form_id}' was not published from an XLSForm.")
    media = {}
    for attachment in version.attachments:
        blob = attachment.blob
        if blob is None or not attachment.name.endswith(".csv") or blob.size > MAX_MEDIA_BYTES:
            continue
        if not store.exists(blob.sha256):
            logger.warning("media %s of form version %s is missing from the store", blob.sha256, version.id)
            continue
        with store.open(blob.sha256) as handle:
            media[attachment.name] = handle.read()
    return FormSource(
        xlsx=version.xlsx,
        version=version.version,
        xml_md5=version.xml_md5,
        media=media,
        draft=version.published_at is None,
    )
