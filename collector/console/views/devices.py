"""Tablets and courses, for trainers and administrators: the devices (ODK Collect app users) with their province,
forms, last seen and last submission; a new tablet and its settings QR code, large enough to scan from a
projector; a whole course's tablets and kit in one step; revoking a tablet.

A provincial trainer manages only the devices of their provinces (ingest.accounts.devices, as on the API): a
device of another province is not found. Every change is audited by ingest.accounts.admin.
"""

from __future__ import annotations

import io
import logging
from datetime import date

from flask import Response, g, redirect, render_template, request, url_for
from sqlalchemy import select

from collector.console.frame import bp, console_project, needs, refuse
from collector.console.views.moments import when
from collector.console.web import _, page_language
from collector.course_kit import MAX_TABLETS, kit_identity, make_course_kit
from collector.db import get_session, get_store
from collector.devices import collect_settings, device_url, qr_code
from forms import province_names
from forms.handbook.render import LANGUAGE_CHOICES, EmblemError, province_name
from ingest.accounts.admin import add_device, end_device
from ingest.accounts.devices import device_activity, device_of, devices_of, province_for_new_device
from ingest.errors import IngestError
from ingest.models import Device, Form, Project

logger = logging.getLogger(__name__)

#: Pixels per QR module: a code of a device's settings is about 70 modules wide, so some 900 pixels, which a
#: phone reads from the back of a room when a projector shows it.
QR_SCALE = 12
#: Longest device name accepted from the form (the column's size).
MAX_NAME = 200


def _base_url() -> str:
    """Return the server's address as the trainer reached the console, which the API's QR codes use too."""
    return request.host_url.rstrip("/") + request.script_root


def _server_url(device: Device) -> str:
    """Return the device's token URL (ODK Collect's server URL) on that address."""
    return device_url(_base_url(), device)


def _device(device_id: int) -> Device:
    """:raise 404: no such device, one of a province outside the trainer's, or a desk link (answered alike)."""
    device = device_of(get_session(), g.actor.caller, console_project(missing="no_projects").id, device_id)
    if device.kind != "device":
        refuse(404, _("error_404"))
    return device


def _provinces() -> list[tuple[str, str]]:
    """Return the (code, name in the page language) of the provinces the trainer may create devices for."""
    names = province_names()
    mine = g.actor.caller.provinces
    lang = page_language()
    return [
        (code, (province_name(code) or {}).get(lang) or names[code])
        for code in sorted(names)
        if mine is None or code in mine
    ]


def _forms(project: Project) -> list[str]:
    """Return the form IDs of the project, in order."""
    query = select(Form.xml_form_id).where(Form.project_id == project.id).order_by(Form.xml_form_id)
    return list(get_session().scalars(query))


def _province_asked(field: str = "province") -> str:
    """Return the province a form asked for, checked against the 18 and the trainer's own.

    :raise 400: not one of the 18 provinces.  :raise 403: outside the trainer's provinces (IngestError).
    """
    code = request.form.get(field, "").strip()
    if code not in province_names():
        refuse(400, _("device_bad_province"))
    try:
        return province_for_new_device(g.actor.caller, code) or code
    except IngestError as exc:
        if exc.status == 403:
            refuse(403, _("device_other_province"))
        raise


def _forms_asked(project: Project) -> list[str] | None:
    """Return the forms ticked on the page (None: every form).  :raise 400: a form the project does not have."""
    asked = request.form.getlist("forms")
    if not asked:
        return None
    if not set(asked) <= set(_forms(project)):
        refuse(400, _("device_bad_form"))
    return asked


@bp.get("/devices")
@needs("forms")
def devices():
    """List the tablets the trainer manages, with a form to create one."""
    project = console_project(missing="no_projects")
    rows = devices_of(get_session(), g.actor.caller, project.id, kind="device")
    activity = device_activity(get_session(), [d.id for d in rows])
    return render_template(
        "console/devices/list.html",
        project=project,
        rows=rows,
        activity=activity,
        provinces=_provinces(),
        forms=_forms(project),
        when=when,
    )


@bp.post("/devices")
@needs("forms")
def devices_create():
    """Create a tablet for a province and forms, then show its QR code.

    :raise 400: no name, a name too long, an unknown province or form.  :raise 403: another province.
    """
    project = console_project(missing="no_projects")
    name = request.form.get("name", "").strip()
    if not name or len(name) > MAX_NAME:
        refuse(400, _("device_bad_name", max=MAX_NAME))
    province = _province_asked()
    session = get_session()
    device = add_device(session, project.id, name, province, _forms_asked(project), via="console")
    session.commit()
    return redirect(url_for("console.devices_detail", device_id=device.id), 303)


@bp.get("/devices/<int:device_id>")
@needs("forms")
def devices_detail(device_id: int):
    """Show one tablet: its settings QR code (large, for a projector), server URL, forms, and revoking it.

    :raise 404: no such device, or another province's.
    """
    device = _device(device_id)
    activity = device_activity(get_session(), [device.id]).get(device.id)
    return render_template(
        "console/devices/detail.html", device=device, activity=activity, server_url=_server_url(device), when=when
    )


@bp.get("/devices/<int:device_id>/qr.png")
@needs("forms")
def devices_qr(device_id: int):
    """Return the tablet's ODK Collect settings QR code as a PNG (Collect: Configure with QR code).

    :raise 404: no such device, another province's, or a revoked one.
    """
    device = _device(device_id)
    if device.revoked_at is not None:
        refuse(404, _("device_revoked_no_qr"))
    out = io.BytesIO()
    qr_code(collect_settings(_server_url(device), console_project(missing="no_projects").name)).save(
        out, kind="png", scale=QR_SCALE, border=4
    )
    # The code holds the device's token: never kept by a cache on the way.
    return Response(out.getvalue(), content_type="image/png", headers={"Cache-Control": "no-store"})


@bp.post("/devices/<int:device_id>/revoke")
@needs("forms")
def devices_revoke(device_id: int):
    """Revoke a tablet's token once the trainer ticked the confirmation; its next request is refused.

    :raise 400: not confirmed.  :raise 404: no such device, or another province's.
    """
    device = _device(device_id)
    if request.form.get("confirm") != "yes":
        refuse(400, _("device_confirm_needed"))
    if device.revoked_at is None:
        end_device(get_session(), device, via="console")
        get_session().commit()
    return redirect(url_for("console.devices_detail", device_id=device.id), 303)


@bp.route("/devices/course", methods=["GET", "POST"])
@needs("forms")
def devices_course():
    """Set up a whole course: N tablets of a province, assigned to the forms, and their kit as one PDF (cover,
    tablet sheet, handbook, one A4 page per tablet with its QR code).

    :raise 400: an unknown province or form, a number of tablets outside 1 to MAX_TABLETS, a bad language.
    :raise 403: another province.  :raise 404: a form with no published version (IngestError).
    """
    project = console_project(missing="no_projects")
    if request.method == "GET":
        return render_template(
            "console/devices/course.html",
            provinces=_provinces(),
            forms=_forms(project),
            max_tablets=MAX_TABLETS,
            languages=LANGUAGE_CHOICES,
        )
    count_text = request.form.get("count", "").strip()
    if not count_text.isdigit() or not 1 <= int(count_text) <= MAX_TABLETS:
        refuse(400, _("course_bad_count", max=MAX_TABLETS))
    province = _province_asked()
    lang = request.form.get("lang", "both")
    if lang not in LANGUAGE_CHOICES:
        refuse(400, _("course_bad_language"))
    course = request.form.get("course", "").strip()[:200] or f"Course {date.today().isoformat()}, province {province}"
    try:
        identity = kit_identity(course)
    except EmblemError:
        logger.error("the HANDBOOK_EMBLEM setting names an unusable file")
        refuse(500, _("course_bad_emblem"))
    session = get_session()
    pdf, made = make_course_kit(
        session,
        get_store(),
        project,
        province=province,
        count=int(count_text),
        base_url=_base_url(),
        identity=identity,
        form_ids=_forms_asked(project),
        lang=lang,
    )
    session.commit()
    logger.info("course kit of %d tablets for province %s made from the console", len(made), province)
    name = f"course-kit-{province}-{made[0].id}-{made[-1].id}.pdf"
    return Response(
        pdf,
        content_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )
