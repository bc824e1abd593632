"""JSON API for staff and tools, shaped like ODK Central's so that pyodk and Central users feel at home."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, abort, current_app, jsonify, request, send_file
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from collector.auth import current_actor, pop_device_token, roles_required
from collector.db import get_session, get_store
from collector.devices import collect_settings, device_url, settings_payload
from ingest import audit
from ingest.accounts import authenticate, create_device, open_session
from ingest.models import Device, Form, Project, Submission, SubmissionRow, SubmissionVersion
from ingest.normalise import nest
from ingest.publishing import current_version

bp = Blueprint("api", __name__)
bp.url_value_preprocessor(pop_device_token)

STAFF = ("admin", "manager", "viewer")


class SessionSchema(Schema):
    """Credentials for POST /v1/sessions."""

    email = fields.String(required=True, validate=validate.Length(min=3, max=320))
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024))


class AppUserSchema(Schema):
    """A new device (Central's app user)."""

    displayName = fields.String(required=True, validate=validate.Length(min=1, max=200))
    province = fields.String(load_default=None, validate=validate.Regexp(r"^\d{2}$"))


def _iso(moment) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def _json_body() -> dict:
    """:raise 400: the body is not a JSON object."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400, "The request body must be a JSON object.")
    return body


def _project(project_id: int) -> Project:
    """:raise 404: no such project."""
    project = get_session().get(Project, project_id)
    if project is None:
        abort(404, "No such project.")
    return project


def _form(project_id: int, xml_form_id: str) -> Form:
    """:raise 404: no such form."""
    form = get_session().scalar(select(Form).where(Form.project_id == project_id, Form.xml_form_id == xml_form_id))
    if form is None:
        abort(404, f"No form '{xml_form_id}' in project {project_id}.")
    return form


@bp.post("/sessions")
def create_session():
    """Exchange an email and password for a bearer token.

    :raise 401: wrong email or password.
    """
    body = SessionSchema().load(_json_body())
    session = get_session()
    user = authenticate(session, body["email"], body["password"])
    if user is None:
        abort(401, "The email or password is wrong.")
    token, row = open_session(session, user, timedelta(hours=int(current_app.config["SESSION_HOURS"])))
    audit.record(session, "session.create", f"user:{user.id}", user_id=user.id)
    session.commit()
    return jsonify({"token": token, "createdAt": _iso(row.created_at), "expiresAt": _iso(row.expires_at)})


@bp.get("/users/current")
@roles_required()
def users_current():
    """Describe the signed-in user."""
    user = current_actor().user
    return jsonify({"id": user.id, "email": user.email, "displayName": user.display_name, "role": user.role,
                    "province": user.province_code, "createdAt": _iso(user.created_at)})


@bp.get("/projects")
@roles_required(*STAFF)
def projects():
    """List projects."""
    rows = get_session().scalars(select(Project).order_by(Project.id))
    return jsonify([{"id": p.id, "name": p.name, "createdAt": _iso(p.created_at)} for p in rows])


@bp.get("/projects/<int:project_id>")
@roles_required(*STAFF)
def project(project_id: int):
    """Describe one project.

    :raise 404: no such project.
    """
    p = _project(project_id)
    return jsonify({"id": p.id, "name": p.name, "createdAt": _iso(p.created_at)})


def _form_json(form: Form) -> dict:
    version = current_version(get_session(), form)
    return {
        "projectId": form.project_id, "xmlFormId": form.xml_form_id, "state": form.state,
        "name": version.title if version else None, "version": version.version if version else None,
        "hash": version.xml_md5 if version else None, "createdAt": _iso(form.created_at),
        "publishedAt": _iso(version.published_at) if version else None,
    }


@bp.get("/projects/<int:project_id>/forms")
@roles_required(*STAFF)
def forms(project_id: int):
    """List a project's forms."""
    _project(project_id)
    rows = get_session().scalars(select(Form).where(Form.project_id == project_id).order_by(Form.xml_form_id))
    return jsonify([_form_json(f) for f in rows])


@bp.get("/projects/<int:project_id>/forms/<xml_form_id>")
@roles_required(*STAFF)
def form(project_id: int, xml_form_id: str):
    """Describe one form.

    :raise 404: no such form.
    """
    return jsonify(_form_json(_form(project_id, xml_form_id)))


def submission_json(submission: Submission) -> dict:
    """Describe a submission as Central does, with its current version's normalised data."""
    version = next((v for v in submission.versions if v.current), submission.versions[-1])
    rows = get_session().scalars(select(SubmissionRow).where(SubmissionRow.submission_version_id == version.id))
    data = nest([{"id": r.id, "parent_id": r.parent_id, "path": r.path, "position": r.position, "data": r.data}
                 for r in rows])
    expected = version.attachments
    return {
        "instanceId": submission.instance_id,
        "submitterId": submission.user_id,
        "deviceId": version.device_ident,
        "appUserId": submission.device_id,
        "userAgent": version.user_agent,
        "reviewState": submission.review_state,
        "createdAt": _iso(submission.created_at),
        "updatedAt": _iso(submission.updated_at),
        "currentVersion": {
            "instanceId": version.instance_id, "createdAt": _iso(version.created_at), "current": True,
            "formVersion": version.version_string, "unknownVersion": version.unknown_version,
        },
        "attachmentsExpected": len(expected),
        "attachmentsPresent": sum(1 for a in expected if a.blob_id is not None),
        "data": data,
    }


def _submissions_query(form: Form):
    return (select(Submission).where(Submission.form_id == form.id, Submission.deleted_at.is_(None))
            .order_by(Submission.id))


@bp.get("/projects/<int:project_id>/forms/<xml_form_id>/submissions")
@roles_required(*STAFF)
def submissions(project_id: int, xml_form_id: str):
    """List a form's submissions with their normalised values (an identifiable read, audited).

    :raise 404: no such form.
    """
    form_row = _form(project_id, xml_form_id)
    session = get_session()
    rows = [submission_json(s) for s in session.scalars(_submissions_query(form_row))]
    audit.record(session, "submission.list", f"form:{form_row.xml_form_id}", user_id=current_actor().user.id,
                 count=len(rows))
    session.commit()
    return jsonify(rows)


def _submission(form_row: Form, instance_id: str) -> Submission:
    """:raise 404: no such submission."""
    found = get_session().scalar(_submissions_query(form_row).where(Submission.instance_id == instance_id))
    if found is None:
        abort(404, "No such submission.")
    return found


@bp.get("/projects/<int:project_id>/forms/<xml_form_id>/submissions/<instance_id>")
@roles_required(*STAFF)
def submission(project_id: int, xml_form_id: str, instance_id: str):
    """Return one submission with its data (audited).

    :raise 404: no such form or submission.
    """
    found = _submission(_form(project_id, xml_form_id), instance_id)
    session = get_session()
    body = submission_json(found)
    audit.record(session, "submission.read", f"submission:{found.id}", user_id=current_actor().user.id)
    session.commit()
    return jsonify(body)


@bp.get("/projects/<int:project_id>/forms/<xml_form_id>/submissions/<instance_id>.xml")
@roles_required(*STAFF)
def submission_xml(project_id: int, xml_form_id: str, instance_id: str):
    """Return the raw instance XML exactly as received (audited).

    :raise 404: no such form or submission.
    """
    found = _submission(_form(project_id, xml_form_id), instance_id)
    version = next(v for v in found.versions if v.current)
    session = get_session()
    audit.record(session, "submission.read_xml", f"submission:{found.id}", user_id=current_actor().user.id)
    session.commit()
    return Response(version.xml, content_type="application/xml")


@bp.get("/projects/<int:project_id>/forms/<xml_form_id>/submissions/<instance_id>/attachments")
@roles_required(*STAFF)
def submission_attachments(project_id: int, xml_form_id: str, instance_id: str):
    """List the files a submission expects and whether each arrived.

    :raise 404: no such form or submission.
    """
    found = _submission(_form(project_id, xml_form_id), instance_id)
    version = next(v for v in found.versions if v.current)
    return jsonify([{"name": a.name, "exists": a.blob_id is not None} for a in version.attachments])


@bp.get("/projects/<int:project_id>/forms/<xml_form_id>/submissions/<instance_id>/attachments/<name>")
@roles_required(*STAFF)
def submission_attachment(project_id: int, xml_form_id: str, instance_id: str, name: str):
    """Download one submission file (audited).

    :raise 404: no such submission, or the file has not arrived.
    """
    found = _submission(_form(project_id, xml_form_id), instance_id)
    version = next(v for v in found.versions if v.current)
    attachment = next((a for a in version.attachments if a.name == name and a.blob is not None), None)
    if attachment is None:
        abort(404, "That file has not been received.")
    session = get_session()
    audit.record(session, "attachment.read", f"submission:{found.id}", user_id=current_actor().user.id, name=name)
    session.commit()
    return send_file(get_store().path(attachment.blob.sha256), mimetype=attachment.blob.content_type,
                     download_name=attachment.name, etag=attachment.blob.md5)


def device_json(device: Device, project_name: str) -> dict:
    """Describe a device with its token URL and Collect QR payload."""
    base = request.host_url.rstrip("/") + request.script_root
    url = device_url(base, device)
    return {
        "id": device.id, "projectId": device.project_id, "displayName": device.display_name,
        "province": device.province_code, "token": device.token, "createdAt": _iso(device.created_at),
        "revokedAt": _iso(device.revoked_at), "serverUrl": url,
        "qrPayload": settings_payload(collect_settings(url, project_name)),
    }


@bp.post("/projects/<int:project_id>/app-users")
@roles_required("admin", "manager")
def create_app_user(project_id: int):
    """Create a device and return its token URL and QR payload.

    :raise 404: no such project.
    """
    project_row = _project(project_id)
    body = AppUserSchema().load(_json_body())
    session = get_session()
    device = create_device(session, project_id, body["displayName"], body["province"])
    audit.record(session, "device.create", f"device:{device.id}", user_id=current_actor().user.id)
    session.commit()
    return jsonify(device_json(device, project_row.name)), 201
