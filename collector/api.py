"""JSON API for staff and tools, shaped like ODK Central's so that pyodk and Central users feel at home."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, abort, current_app, jsonify, request, send_file
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from collector.auth import current_actor, pop_device_token, roles_required
from collector.bodies import read_limited
from collector.db import get_session, get_store
from collector.devices import collect_settings, device_url, settings_payload
from ingest import audit
from ingest.accounts import (
    assign_forms, authenticate, close_session, create_device, open_session, revoke_device,
)
from ingest.db import begin_write, utcnow
from ingest.models import Device, Form, Project, Submission, SubmissionRow, SubmissionVersion
from ingest.normalise import nest
from ingest.submissions import attach_file, receive_submission
from ingest.publishing import FORM_STATES, current_version, set_state
from ingest.queries import submissions_of

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
    #: form IDs the device may fill; omitted means every form of the project.
    forms = fields.List(fields.String(), load_default=None)


class AssignmentSchema(Schema):
    """The forms a device may fill."""

    forms = fields.List(fields.String(), required=True)


class FormPatchSchema(Schema):
    """Changes to a form (Central's PATCH /forms/:id)."""

    state = fields.String(required=True, validate=validate.OneOf(FORM_STATES))


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


@bp.delete("/sessions/current")
@roles_required()
def delete_session():
    """Sign out: revoke the bearer token this request carries.

    :raise 400: the request was not made with a bearer token.
    """
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("bearer "):
        abort(400, "Only a bearer session can be signed out.")
    session = get_session()
    close_session(session, header.split(" ", 1)[1].strip())
    audit.record(session, "session.delete", f"user:{current_actor().user.id}", user_id=current_actor().user.id)
    session.commit()
    return jsonify({"success": True})


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
        "name": version.title if version else None, "version": version.version if version else "",
        "hash": version.xml_md5 if version else "", "createdAt": _iso(form.created_at),
        "updatedAt": _iso(version.published_at) if version else None,
        "publishedAt": _iso(version.published_at) if version else None,
        # Central's fields for Enketo and managed encryption, which this server does not use.
        "enketoId": None, "keyId": None,
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


def version_data(version: SubmissionVersion) -> dict:
    """Return a stored version's normalised rows nested back into one document."""
    rows = get_session().scalars(select(SubmissionRow).where(SubmissionRow.submission_version_id == version.id))
    return nest([{"id": r.id, "parent_id": r.parent_id, "path": r.path, "position": r.position, "data": r.data}
                 for r in rows])


def version_json(version: SubmissionVersion) -> dict:
    """Describe one version of a submission (an edit is a new version), with its data."""
    return {
        "instanceId": version.instance_id, "createdAt": _iso(version.created_at), "current": version.current,
        "deviceId": version.device_ident, "userAgent": version.user_agent,
        "formVersion": version.version_string, "unknownVersion": version.unknown_version,
        **attachment_counts(version),
        "data": version_data(version),
    }


def attachment_counts(version: SubmissionVersion) -> dict:
    """Say how many files a version refers to and how many of them have arrived."""
    return {"attachmentsExpected": len(version.attachments),
            "attachmentsPresent": sum(1 for a in version.attachments if a.blob_id is not None)}


def current_of(submission: Submission) -> SubmissionVersion:
    """Return the version in force (the latest edit)."""
    return next((v for v in submission.versions if v.current), submission.versions[-1])


def submission_json(submission: Submission) -> dict:
    """Describe a submission as Central does, with its current version's normalised data."""
    version = current_of(submission)
    data = version_data(version)
    return {
        "instanceId": submission.instance_id,
        # Central's submitter is an actor (web user or app user); submitterType says which table.
        "submitterId": submission.user_id if submission.user_id is not None else submission.device_id,
        "submitterType": "user" if submission.user_id is not None else "device",
        "instanceName": data.get("meta/instanceName"),
        "deviceId": version.device_ident,
        "appUserId": submission.device_id,
        "userAgent": version.user_agent,
        "reviewState": submission.review_state,
        "createdAt": _iso(submission.created_at),
        "updatedAt": _iso(submission.updated_at),
        "versions": len(submission.versions),
        "currentVersion": {
            "instanceId": version.instance_id, "createdAt": _iso(version.created_at), "current": True,
            "formVersion": version.version_string, "unknownVersion": version.unknown_version,
        },
        **attachment_counts(version),
        "data": data,
    }


@bp.post("/projects/<int:project_id>/forms/<xml_form_id>/submissions")
@roles_required("admin", "manager")
def create_submission(project_id: int, xml_form_id: str):
    """Receive one instance as a raw XML body (Central's REST submission, used by pyodk).

    :raise 400: bad XML, or an instance of another form.  :raise 404: no such form.  :raise 409: conflict.
    """
    xml = read_limited(request.stream, int(current_app.config["MAX_XML_BYTES"]), "The form data")
    received = receive_submission(get_session(), get_store(), project_id=project_id, xml=xml, expect_form=xml_form_id,
                                  user_id=current_actor().user.id, device_ident=request.args.get("deviceID"),
                                  user_agent=request.headers.get("User-Agent"))
    return jsonify(submission_json(received.version.submission)), 200 if not received.created else 201


@bp.post("/projects/<int:project_id>/forms/<xml_form_id>/submissions/<instance_id>/attachments/<name>")
@roles_required("admin", "manager")
def upload_submission_attachment(project_id: int, xml_form_id: str, instance_id: str, name: str):
    """Upload one file of a submission as a raw body (streamed; chunked bodies accepted).

    :raise 404: no such submission, or it does not refer to that file.
    """
    found = _submission(_form(project_id, xml_form_id), instance_id)
    attach_file(get_session(), get_store(), current_of(found), name, request.stream,
                request.mimetype or "application/octet-stream")
    return jsonify({"success": True})


@bp.get("/projects/<int:project_id>/forms/<xml_form_id>/submissions")
@roles_required(*STAFF)
def submissions(project_id: int, xml_form_id: str):
    """List a form's submissions with their normalised values (an identifiable read, audited).

    :raise 404: no such form.
    """
    form_row = _form(project_id, xml_form_id)
    session = get_session()
    rows = [submission_json(s) for s in session.scalars(submissions_of(form_row))]
    audit.record(session, "submission.list", f"form:{form_row.xml_form_id}", user_id=current_actor().user.id,
                 count=len(rows))
    session.commit()
    return jsonify(rows)


def _submission(form_row: Form, instance_id: str) -> Submission:
    """:raise 404: no such submission."""
    found = get_session().scalar(submissions_of(form_row).where(Submission.instance_id == instance_id))
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
    version = current_of(found)
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
    version = current_of(found)
    return jsonify([{"name": a.name, "exists": a.blob_id is not None} for a in version.attachments])


@bp.get("/projects/<int:project_id>/forms/<xml_form_id>/submissions/<instance_id>/attachments/<name>")
@roles_required(*STAFF)
def submission_attachment(project_id: int, xml_form_id: str, instance_id: str, name: str):
    """Download one submission file (audited).

    :raise 404: no such submission, or the file has not arrived.
    """
    found = _submission(_form(project_id, xml_form_id), instance_id)
    version = current_of(found)
    attachment = next((a for a in version.attachments if a.name == name and a.blob is not None), None)
    if attachment is None:
        abort(404, "That file has not been received.")
    session = get_session()
    audit.record(session, "attachment.read", f"submission:{found.id}", user_id=current_actor().user.id, name=name)
    session.commit()
    return send_file(get_store().path(attachment.blob.sha256), mimetype=attachment.blob.content_type,
                     download_name=attachment.name, etag=attachment.blob.md5)


def _server_url(device: Device) -> str:
    """Return the device's token URL on the host the request came in by."""
    return device_url(request.host_url.rstrip("/") + request.script_root, device)


def device_json(device: Device, project_name: str) -> dict:
    """Describe a device with its token URL and Collect QR payload."""
    url = _server_url(device)
    return {
        "id": device.id, "projectId": device.project_id, "displayName": device.display_name,
        "province": device.province_code, "token": device.token, "createdAt": _iso(device.created_at),
        "revokedAt": _iso(device.revoked_at), "serverUrl": url, "forms": [f.xml_form_id for f in device.forms],
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
    device = create_device(session, project_id, body["displayName"], body["province"], body["forms"])
    audit.record(session, "device.create", f"device:{device.id}", user_id=current_actor().user.id)
    session.commit()
    return jsonify(device_json(device, project_row.name)), 201


@bp.patch("/projects/<int:project_id>/forms/<xml_form_id>")
@roles_required("admin", "manager")
def update_form(project_id: int, xml_form_id: str):
    """Set a form's state: open (listed), closing (not listed, still accepting) or closed (refusing).

    :raise 404: no such form.
    """
    body = FormPatchSchema().load(_json_body())
    session = get_session()
    form_row = _form(project_id, xml_form_id)
    set_state(session, form_row, body["state"])
    audit.record(session, "form.state", f"form:{xml_form_id}", user_id=current_actor().user.id, state=body["state"])
    session.commit()
    return jsonify(_form_json(form_row))


@bp.delete("/projects/<int:project_id>/forms/<xml_form_id>/submissions/<instance_id>")
@roles_required("admin")
def delete_submission(project_id: int, xml_form_id: str, instance_id: str):
    """Delete a submission: hidden from reads, and its instanceID refused from then on (409).

    :raise 404: no such form or submission.
    """
    session = get_session()
    begin_write(session)
    found = _submission(_form(project_id, xml_form_id), instance_id)
    found.deleted_at = utcnow()
    audit.record(session, "submission.delete", f"submission:{found.id}", user_id=current_actor().user.id)
    session.commit()
    return jsonify({"success": True})


@bp.get("/projects/<int:project_id>/forms/<xml_form_id>/submissions/<instance_id>/versions")
@roles_required(*STAFF)
def submission_versions(project_id: int, xml_form_id: str, instance_id: str):
    """List every version of a submission, newest first, each with its data (audited).

    :raise 404: no such form or submission.
    """
    found = _submission(_form(project_id, xml_form_id), instance_id)
    body = [version_json(v) for v in reversed(found.versions)]
    session = get_session()
    audit.record(session, "submission.read_versions", f"submission:{found.id}", user_id=current_actor().user.id)
    session.commit()
    return jsonify(body)


def _version(found: Submission, version_id: str) -> SubmissionVersion:
    """:raise 404: the submission has no such version."""
    version = next((v for v in found.versions if v.instance_id == version_id), None)
    if version is None:
        abort(404, "No such version of this submission.")
    return version


@bp.get("/projects/<int:project_id>/forms/<xml_form_id>/submissions/<instance_id>/versions/<version_id>")
@roles_required(*STAFF)
def submission_version(project_id: int, xml_form_id: str, instance_id: str, version_id: str):
    """Return one version of a submission with its data (audited).

    :raise 404: no such form, submission or version.
    """
    found = _submission(_form(project_id, xml_form_id), instance_id)
    body = version_json(_version(found, version_id))
    session = get_session()
    audit.record(session, "submission.read", f"submission:{found.id}", user_id=current_actor().user.id,
                 version=version_id)
    session.commit()
    return jsonify(body)


@bp.get("/projects/<int:project_id>/forms/<xml_form_id>/submissions/<instance_id>/versions/<version_id>.xml")
@roles_required(*STAFF)
def submission_version_xml(project_id: int, xml_form_id: str, instance_id: str, version_id: str):
    """Return one version's raw XML exactly as received (audited).

    :raise 404: no such form, submission or version.
    """
    found = _submission(_form(project_id, xml_form_id), instance_id)
    version = _version(found, version_id)
    session = get_session()
    audit.record(session, "submission.read_xml", f"submission:{found.id}", user_id=current_actor().user.id,
                 version=version_id)
    session.commit()
    return Response(version.xml, content_type="application/xml")


def _device(project_id: int, device_id: int) -> Device:
    """:raise 404: no such device in the project."""
    device = get_session().get(Device, device_id)
    if device is None or device.project_id != project_id:
        abort(404, "No such app user.")
    return device


@bp.get("/projects/<int:project_id>/app-users")
@roles_required("admin", "manager")
def app_users(project_id: int):
    """List a project's devices with their token URLs and assigned forms."""
    project_row = _project(project_id)
    rows = get_session().scalars(select(Device).where(Device.project_id == project_id).order_by(Device.id))
    return jsonify([device_json(d, project_row.name) for d in rows])


@bp.delete("/projects/<int:project_id>/app-users/<int:device_id>")
@roles_required("admin", "manager")
def revoke_app_user(project_id: int, device_id: int):
    """Revoke a device's token; its next request is refused with 403.

    :raise 404: no such device.
    """
    session = get_session()
    device = _device(project_id, device_id)
    revoke_device(session, device)
    audit.record(session, "device.revoke", f"device:{device.id}", user_id=current_actor().user.id)
    session.commit()
    return jsonify({"success": True})


@bp.put("/projects/<int:project_id>/app-users/<int:device_id>/forms")
@roles_required("admin", "manager")
def assign_app_user_forms(project_id: int, device_id: int):
    """Replace the forms a device may list and fill.

    :raise 404: no such device.  :raise 400: an unknown form ID.
    """
    body = AssignmentSchema().load(_json_body())
    session = get_session()
    device = _device(project_id, device_id)
    assign_forms(session, device, body["forms"])
    audit.record(session, "device.assign", f"device:{device.id}", user_id=current_actor().user.id, forms=body["forms"])
    session.commit()
    return jsonify(device_json(device, _project(project_id).name))


@bp.get("/projects/<int:project_id>/app-users/<int:device_id>/qr.<any(png, svg):kind>")
@roles_required("admin", "manager")
def app_user_qr(project_id: int, device_id: int, kind: str):
    """Render a device's ODK Collect QR code as PNG or SVG.

    :raise 404: no such device.
    """
    import io

    from collector.devices import qr_code

    device = _device(project_id, device_id)
    if device.revoked_at is not None:
        abort(404, "This app user was revoked.")
    out = io.BytesIO()
    qr_code(collect_settings(_server_url(device), _project(project_id).name)).save(out, kind=kind, scale=6, border=4)
    return Response(out.getvalue(), content_type="image/png" if kind == "png" else "image/svg+xml")
