"""Devices (Central's app users): create, list, assign forms, QR codes, revoke."""

from __future__ import annotations

import io

from flask import Response, abort, jsonify, request
from marshmallow import Schema, fields, validate

from collector.api.common import TRAINERS, api_blueprint, get_project, json_body
from collector.api.openapi import accepts
from collector.auth import current_actor, roles_required
from collector.db import get_session
from collector.devices import collect_settings, device_url, qr_code, settings_payload
from ingest.accounts.admin import add_device, end_device, set_device_forms
from ingest.accounts.devices import device_of, devices_of, province_for_new_device
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
    """Describe a device with its token URL and Collect QR payload."""
    url = _server_url(device)
    return {
        "id": device.id,
        "projectId": device.project_id,
        "displayName": device.display_name,
        "province": device.province_code,
        "token": device.token,
        "createdAt": iso(device.created_at),
        "revokedAt": iso(device.revoked_at),
        "serverUrl": url,
        "forms": [f.xml_form_id for f in device.forms],
        "qrPayload": settings_payload(collect_settings(url, project_name)),
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
