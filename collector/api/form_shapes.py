"""ODK Central's representations of a form and of a form's media files, which pyodk's models read."""

from __future__ import annotations

import hashlib
import mimetypes

from flask import url_for

from collector.db import get_session
from ingest.entities.datasets import find_dataset
from ingest.models import Form, FormAttachment, FormVersion
from ingest.publishing.versions import current_draft, current_version
from ingest.records.describe import iso


def form_json(form: Form, version: FormVersion | None = None) -> dict:
    """Describe a form as Central does, with `version` (default: its current published version) as its def."""
    version = version or current_version(get_session(), form)
    published = version is not None and version.published_at is not None
    xml = version.xml.encode("utf-8") if version else b""
    draft = version if version is not None and not published else current_draft(get_session(), form)
    return {
        "projectId": form.project_id,
        "xmlFormId": form.xml_form_id,
        "state": form.state,
        "name": version.title if version else None,
        "version": version.version if version else "",
        "hash": version.xml_md5 if version else "",
        "sha": hashlib.sha1(xml, usedforsecurity=False).hexdigest() if version else "",
        "sha256": hashlib.sha256(xml).hexdigest() if version else "",
        "createdAt": iso(form.created_at),
        "updatedAt": iso(version.published_at if published else version.created_at) if version else None,
        "publishedAt": iso(version.published_at) if published else None,
        # The draft's test token, as Central names it (the test URL is in the draft's own description).
        "draftToken": draft.draft_token if draft is not None else None,
        # Central's fields for Enketo and managed encryption, which this server does not use.
        "enketoId": None,
        "enketoOnceId": None,
        "keyId": None,
        # The printed guidelines of the current version, for trainers (and the console) to link to.
        "handbookUrl": url_for(
            "handbook.handbook", project_id=form.project_id, xml_form_id=form.xml_form_id, _external=True
        )
        if published
        else None,
    }


def _media_type(name: str) -> str:
    """Central's attachment type: image, audio, video or file."""
    kind = (mimetypes.guess_type(name)[0] or "").split("/", 1)[0]
    return kind if kind in ("image", "audio", "video") else "file"


def attachment_json(attachment: FormAttachment) -> dict:
    """Describe a form's media file as Central does: `datasetExists` says whether an entity list of the project
    is served under its name (`<list>.csv`, built for each device from the list, as Central links one)."""
    blob = attachment.blob
    stem, _dot, extension = attachment.name.rpartition(".")
    linked = (
        extension == "csv" and find_dataset(get_session(), attachment.form_version.form.project_id, stem) is not None
    )
    return {
        "name": attachment.name,
        "type": _media_type(attachment.name),
        "hash": blob.md5 if blob else None,
        "exists": blob is not None,
        "blobExists": blob is not None,
        "datasetExists": linked,
        "updatedAt": iso(blob.created_at) if blob else None,
    }
