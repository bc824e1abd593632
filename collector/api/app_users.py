"""Devices (Central's app users): create, list, assign forms, QR codes, revoke."""

from __future__ import annotations

import io

from flask import Response, abort, jsonify, request
from marshmallow import Schema, fields, validate

from collector.api.common import TRAINERS, api_blueprint, get_form, get_project, json_body
from collector.api.openapi import accepts
from collector.auth import current_actor, roles_required
from collector.db import get_session
from collector.devices import collect_settings, device_url, qr_code, settings_payload
from ingest.accounts.admin import add_device, end_device, set_device_forms
from ingest.accounts.devices import device_of, devices_of, province_for_new_device
from ingest.accounts.users import project_forms
from ingest.models import Device
from ingest.records.describe import iso

bp = api_blueprint("app_users", __name__)


class AppUserSchema(Schema):
    """A new device (Central's app user)."""

    displayName = fields.String(required=True, validate=validate.Length(min=1, max=200))
    province = fields.String(load_default=None, validate=validate.Regexp(r"\A[0-9]{2}\Z"))
    #: form IDs the device may fill; omitted means every form of the project.
    forms = fields.List(fields.String(), load_default=None)


class AssignmentSchema(Schema):
    """The forms a device may fill."""

    forms = fields.List(fields.String(), required=True)


def _server_url(device: Device) -> str:
    """Return the device's token URL on the host the request came in by."""
    return device_url(request.host_url.rstrip("/") + request.script_root, device)


def device_json(device: Device, project_name: str) -> dict:
    """Describe a device as Central describes an app user (type field_key; a revoked one's token is null),
    with its province, token URL, forms and Collect QR payload."""
    live = device.revoked_at is None
    url = _server_url(device) if live else None
    return {
        "id": device.id,
        "type": "field_key",
        "projectId": device.project_id,
        "displayName": device.display_name,
        "province": device.province_code,
        "token": device.token if live else None,
        "createdAt": iso(device.created_at),
        "updatedAt": iso(device.revoked_at),
        # Central deletes a revoked app user; this server keeps it, revoked, so that its records keep a sender.
        "deletedAt": None,
        "revokedAt": iso(device.revoked_at),
        "serverUrl": url,
        "forms": [f.xml_form_id for f in device.forms],
        "qrPayload": settings_payload(collect_settings(url, project_name)) if url else None,
    }


def _device(project_id: int, device_id: int) -> Device:
    """:raise 404: no such device in the project, or one of a province outside the caller's."""
    return device_of(get_session(), current_actor().caller, project_id, device_id)


@bp.post("/projects/<int:project_id>/app-users")
@roles_required(*TRAINERS)
@accepts(AppUserSchema)
def create_app_user(project_id: int):
    """Create a device and return its token URL and QR payload.

    :raise 404: no such project.
    """
    project_row = get_project(project_id)
    body = AppUserSchema().load(json_body())
    province = province_for_new_device(current_actor().caller, body["province"])
    device = add_device(get_session(), project_id, body["displayName"], province, body["forms"])
    get_session().commit()
    return jsonify(device_json(device, project_row.name)), 201


@bp.get("/projects/<int:project_id>/app-users")
@roles_required(*TRAINERS)
def app_users(project_id: int):
    """List a project's devices (a provincial trainer: those of their provinces) with token URLs and forms."""
    project_row = get_project(project_id)
    rows = devices_of(get_session(), current_actor().caller, project_id)
    return jsonify([device_json(d, project_row.name) for d in rows])


@bp.delete("/projects/<int:project_id>/app-users/<int:device_id>")
@roles_required(*TRAINERS)
def revoke_app_user(project_id: int, device_id: int):
    """Revoke a device's token; its next request is refused with 403.

    :raise 404: no such device.
    """
    device = _device(project_id, device_id)
    end_device(get_session(), device)
    get_session().commit()
    return jsonify({"success": True})


@bp.put("/projects/<int:project_id>/app-users/<int:device_id>/forms")
@roles_required(*TRAINERS)
@accepts(AssignmentSchema)
def assign_app_user_forms(project_id: int, device_id: int):
    """Replace the forms a device may list and fill.

    :raise 404: no such device.  :raise 400: an unknown form ID.
    """
    body = AssignmentSchema().load(json_body())
    device = _device(project_id, device_id)
    set_device_forms(get_session(), device, body["forms"], forms=body["forms"])
    get_session().commit()
    return jsonify(device_json(device, get_project(project_id).name))


#: Central's role id of an app user on a form (pyodk's create_app_users assigns it).
APP_USER_ROLE = 2


@bp.post("/projects/<int:project_id>/forms/<xml_form_id>/assignments/<int:role_id>/<int:device_id>")
@roles_required(*TRAINERS)
def assign_form(project_id: int, xml_form_id: str, role_id: int, device_id: int):
    """Let a device fill one more form (Central's form assignment of the app-user role). A device that holds
    every form of its project (as one created without a list does) is narrowed to that one form, as a Central
    app user has no form until one is assigned; otherwise the form is added to its list.

    :raise 404: no such device or form, or a role other than the app user's (2).
    """
    if role_id != APP_USER_ROLE:
        abort(404, "Only the app user role (2) is assigned to a form here; staff roles are set on the user.")
    get_form(project_id, xml_form_id)
    device = _device(project_id, device_id)
    held = {f.xml_form_id for f in device.forms}
    every = {f.xml_form_id for f in project_forms(get_session(), project_id, None)}
    forms = [xml_form_id] if held == every else sorted(held | {xml_form_id})
    set_device_forms(get_session(), device, forms, forms=forms)
    get_session().commit()
    return jsonify({"success": True})


@bp.get("/projects/<int:project_id>/app-users/<int:device_id>/qr.<any(png, svg):kind>")
@roles_required(*TRAINERS)
def app_user_qr(project_id: int, device_id: int, kind: str):
    """Render a device's ODK Collect QR code as PNG or SVG.

    :raise 404: no such device.
    """
    device = _device(project_id, device_id)
    if device.revoked_at is not None:
        abort(404, "This app user was revoked.")
    out = io.BytesIO()
    qr_code(collect_settings(_server_url(device), get_project(project_id).name)).save(out, kind=kind, scale=6, border=4)
    return Response(out.getvalue(), content_type="image/png" if kind == "png" else "image/svg+xml")
