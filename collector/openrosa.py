"""OpenRosa endpoints for ODK Collect: form list, form download, manifest, media and submission."""

from __future__ import annotations

import hashlib
import logging

from flask import Blueprint, abort, g, request, url_for
from sqlalchemy import select

from collector.auth import current_actor, login_required, pop_device_token
from collector.db import get_session
from collector.formats import (
    attachment_response,
    form_list_entry,
    form_list_response,
    form_xml_response,
    generated_media,
    generated_response,
    manifest_response,
    probe_response,
    submission_response,
)
from ingest.models import Form, FormVersion
from ingest.publishing.versions import current_version, project_exists

logger = logging.getLogger(__name__)

bp = Blueprint("openrosa", __name__)
bp.url_value_preprocessor(pop_device_token)


def _project_access(project_id: int) -> None:
    """:raise 403: a device of another project.  :raise 404: no such project."""
    actor = current_actor()
    if actor.device is not None and actor.device.project_id != project_id:
        abort(403, "This device belongs to another project. Ask your trainer for the right QR code.")
    if not project_exists(get_session(), project_id):
        abort(404, "There is no such project on this server.")


def _open_version(project_id: int, xml_form_id: str) -> tuple[Form, FormVersion]:
    """Return a form and its current published version.

    :raise 403: a device not assigned to the form.  :raise 404: no such form, or never published.
    """
    session = get_session()
    form = session.scalar(select(Form).where(Form.project_id == project_id, Form.xml_form_id == xml_form_id))
    device = current_actor().device
    if form is not None and device is not None and form not in device.forms:
        abort(403, f"This device may not use the form '{xml_form_id}'. Ask your trainer to assign it.")
    version = current_version(session, form) if form else None
    if version is None:
        abort(404, f"The form '{xml_form_id}' is not on this server.")
    return form, version


def _served_xml(version: FormVersion, generated: dict[str, bytes]) -> str:
    """Return the XForm as served to this caller: with generated media, a comment naming their md5s follows it.

    Collect offers an update of a form when formList's hash differs from the md5 of the file it downloaded
    last, and keeps that file's md5 for the next check: so the bytes themselves change when the caller's list
    does (same version, same questions), or the update would be offered for ever. "Get blank form" (or the
    automatic update) then fetches the form, its manifest and the new list.
    """
    if not generated:
        return version.xml
    tag = " ".join(f"{name}:{hashlib.md5(body).hexdigest()}" for name, body in sorted(generated.items()))
    return f"{version.xml.rstrip()}\n<!-- media {tag} -->\n"


def _url(endpoint: str, **values) -> str:
    # Keep the /key/<token>/ prefix of the request in every URL we hand out.
    if request.blueprint == "openrosa_key":
        return url_for(f"openrosa_key.{endpoint}", _external=True, token=g.device_token, **values)
    return url_for(f"openrosa.{endpoint}", _external=True, **values)


@bp.get("/projects/<int:project_id>/formList")
@login_required
def form_list(project_id: int):
    """List the open, published forms the caller may fill (OpenRosa xformsList)."""
    _project_access(project_id)
    session = get_session()
    query = select(Form).where(Form.project_id == project_id, Form.state == "open").order_by(Form.xml_form_id)
    device = current_actor().device
    if device is not None:
        query = query.where(Form.id.in_([f.id for f in device.forms]))
    wanted = request.args.get("formID")
    if wanted:
        query = query.where(Form.xml_form_id == wanted)
    items = []
    for form in session.scalars(query):
        version = current_version(session, form)
        if version is None:
            continue
        manifest = (
            _url("manifest", project_id=project_id, xml_form_id=form.xml_form_id) if version.attachments else None
        )
        generated = generated_media(project_id, version)
        xml_md5 = hashlib.md5(_served_xml(version, generated).encode("utf-8")).hexdigest() if generated else None
        items.append(
            form_list_entry(
                form.xml_form_id,
                version,
                _url("form_xml", project_id=project_id, xml_form_id=form.xml_form_id),
                manifest,
                xml_md5,
            )
        )
    return form_list_response(items)


@bp.get("/projects/<int:project_id>/forms/<xml_form_id>.xml")
@login_required
def form_xml(project_id: int, xml_form_id: str):
    """Serve the current XForm, byte for byte what formList hashed.

    :raise 404: unknown or unpublished form.
    """
    _project_access(project_id)
    _form, version = _open_version(project_id, xml_form_id)
    return form_xml_response(version, _served_xml(version, generated_media(project_id, version)))


@bp.get("/projects/<int:project_id>/forms/<xml_form_id>/manifest")
@login_required
def manifest(project_id: int, xml_form_id: str):
    """List the current version's media with md5 hashes (OpenRosa xformsManifest).

    :raise 404: unknown or unpublished form.
    """
    _project_access(project_id)
    _form, version = _open_version(project_id, xml_form_id)
    return manifest_response(
        version,
        lambda name: _url("attachment", project_id=project_id, xml_form_id=xml_form_id, name=name),
        generated_media(project_id, version),
    )


@bp.get("/projects/<int:project_id>/forms/<xml_form_id>/attachments/<name>")
@login_required
def attachment(project_id: int, xml_form_id: str, name: str):
    """Serve one form media file with an ETag.

    :raise 404: unknown form, or no such file.
    """
    _project_access(project_id)
    _form, version = _open_version(project_id, xml_form_id)
    generated = generated_media(project_id, version)
    if name in generated:
        return generated_response(project_id, name, generated[name])
    return attachment_response(version, name)


@bp.route("/projects/<int:project_id>/submission", methods=["HEAD", "GET"])
@login_required
def submission_probe(project_id: int):
    """Answer Collect's pre-flight with 204 and the largest body we accept."""
    _project_access(project_id)
    return probe_response()


@bp.post("/projects/<int:project_id>/submission")
@login_required
def submission(project_id: int):
    """Receive an instance and its media, exactly once (201 new or retried, 409 clash).

    :raise 400: not multipart, no xml_submission_file, bad XML.  :raise 404: unknown form.
    :raise 409: conflicting instance or closed form.  :raise 413: body over the advertised limit.
    """
    _project_access(project_id)
    actor = current_actor()
    if not actor.caller.may("submit"):
        abort(403, "Your role may not send records.")
    return submission_response(
        project_id, device=actor.device, user_id=actor.user.id if actor.user else None, editor=actor.caller
    )
