"""Projects, their forms and published versions, and form states."""

from __future__ import annotations

from flask import Response, abort, jsonify
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from collector.api.common import STAFF, TRAINERS, api_blueprint, get_form, get_project, json_body
from collector.api.form_shapes import attachment_json, form_json
from collector.api.openapi import accepts
from collector.auth import roles_required
from collector.db import get_session
from collector.formats import form_xml_response
from ingest.models import Form, FormVersion, Project
from ingest.publishing.versions import FORM_STATES, current_version, published_version, published_versions, set_state
from ingest.records.describe import iso

bp = api_blueprint("projects", __name__)


class FormPatchSchema(Schema):
    """Changes to a form (Central's PATCH /forms/:id)."""

    state = fields.String(required=True, validate=validate.OneOf(FORM_STATES))


def project_json(project: Project) -> dict:
    """Describe a project as Central does."""
    return {"id": project.id, "name": project.name, "createdAt": iso(project.created_at)}


@bp.get("/projects")
@roles_required(*STAFF)
def projects():
    """List projects."""
    return jsonify([project_json(p) for p in get_session().scalars(select(Project).order_by(Project.id))])


@bp.get("/projects/<int:project_id>")
@roles_required(*STAFF)
def project(project_id: int):
    """Describe one project.

    :raise 404: no such project.
    """
    return jsonify(project_json(get_project(project_id)))


@bp.get("/projects/<int:project_id>/forms")
@roles_required(*STAFF)
def forms(project_id: int):
    """List a project's forms."""
    get_project(project_id)
    rows = get_session().scalars(select(Form).where(Form.project_id == project_id).order_by(Form.xml_form_id))
    return jsonify([form_json(f) for f in rows])


@bp.get("/projects/<int:project_id>/forms/<xml_form_id>")
@roles_required(*STAFF)
def form(project_id: int, xml_form_id: str):
    """Describe one form.

    :raise 404: no such form.
    """
    return jsonify(form_json(get_form(project_id, xml_form_id)))


@bp.patch("/projects/<int:project_id>/forms/<xml_form_id>")
@roles_required(*TRAINERS)
@accepts(FormPatchSchema)
def update_form(project_id: int, xml_form_id: str):
    """Set a form's state: open (listed), closing (not listed, still accepting) or closed (refusing).

    :raise 404: no such form.
    """
    body = FormPatchSchema().load(json_body())
    session = get_session()
    form_row = get_form(project_id, xml_form_id)
    set_state(session, form_row, body["state"])
    session.commit()
    return jsonify(form_json(form_row))


@bp.get("/projects/<int:project_id>/forms/<xml_form_id>/attachments")
@roles_required(*STAFF)
def attachments(project_id: int, xml_form_id: str):
    """List the media files of the form's current version, as Central does (names and hashes, no contents).

    :raise 404: no such form, or it has no published version.
    """
    form_row = get_form(project_id, xml_form_id)
    version = current_version(get_session(), form_row)
    if version is None:
        abort(404, f"The form '{xml_form_id}' has no published version.")
    return jsonify([attachment_json(a) for a in version.attachments])


@bp.get("/projects/<int:project_id>/forms/<xml_form_id>/versions")
@roles_required(*STAFF)
def versions(project_id: int, xml_form_id: str):
    """List every published version of a form, newest first.

    :raise 404: no such form.
    """
    rows = published_versions(get_session(), get_form(project_id, xml_form_id))
    return jsonify(
        [
            {
                "version": v.version,
                "name": v.title,
                "hash": v.xml_md5,
                "publishedAt": iso(v.published_at),
                "warnings": v.warnings,
            }
            for v in rows
        ]
    )


def _published(project_id: int, xml_form_id: str, version: str) -> FormVersion:
    """:raise 404: no such published version."""
    found = published_version(get_session(), get_form(project_id, xml_form_id), version)
    if found is None:
        abort(404, f"Form '{xml_form_id}' has no published version '{version}'.")
    return found


@bp.get("/projects/<int:project_id>/forms/<xml_form_id>/versions/<version>.xml")
@roles_required(*STAFF)
def version_xml(project_id: int, xml_form_id: str, version: str):
    """Download the XForm of any published version.

    :raise 404: no such version.
    """
    return form_xml_response(_published(project_id, xml_form_id, version))


@bp.get("/projects/<int:project_id>/forms/<xml_form_id>/versions/<version>.xlsx")
@roles_required(*STAFF)
def version_xlsx(project_id: int, xml_form_id: str, version: str):
    """Download the XLSForm a published version was built from.

    :raise 404: no such version, or it was published without an XLSForm.
    """
    found = _published(project_id, xml_form_id, version)
    if found.xlsx is None:
        abort(404, "This version was not published from an XLSForm.")
    return Response(
        found.xlsx,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{xml_form_id}-{version}.xlsx"'},
    )
