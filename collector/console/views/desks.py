"""Desk links, for administrators: a link a shelter's or office's browser opens to fill the project's forms with
ODK Web Forms (collector.console.views.fill), for one province, with no account. A desk link is a device of
kind "desk" (ingest.models.Device): it sends records as a tablet of its province does (the same province
rule, the same write path), it is revoked like a tablet, and its creation and revocation are audited
(`desk.create`, `desk.revoke`, ingest.accounts.admin).
"""

from __future__ import annotations

from flask import g, redirect, render_template, request, url_for

from collector.console.frame import bp, console_project, needs, refuse
from collector.console.views.devices import MAX_NAME, _provinces
from collector.console.views.moments import when
from collector.console.web import _
from collector.db import get_session
from forms import province_names
from ingest.accounts.admin import DESK, add_desk, end_desk
from ingest.accounts.devices import device_activity, device_of, devices_of
from ingest.models import Device


def _desk(device_id: int) -> Device:
    """:raise 404: no such desk link in the project (a tablet is not one)."""
    device = device_of(get_session(), g.actor.caller, console_project(missing="no_projects").id, device_id)
    if device.kind != DESK:
        refuse(404, _("error_404"))
    return device


def desk_url(device: Device) -> str:
    """Return the desk link's address on the server as the administrator reached the console."""
    return url_for("console.desk", token=device.token, _external=True)


@bp.get("/desks")
@needs("admin")
def desks():
    """List the desk links with their province, address and last use, and a form to create one."""
    project = console_project(missing="no_projects")
    rows = devices_of(get_session(), g.actor.caller, project.id, kind=DESK)
    activity = device_activity(get_session(), [d.id for d in rows])
    return render_template(
        "console/fill/desks.html",
        rows=rows,
        activity=activity,
        provinces=_provinces(),
        desk_url=desk_url,
        when=when,
        max_name=MAX_NAME,
    )


@bp.post("/desks")
@needs("admin")
def desks_create():
    """Create a desk link for a province.  :raise 400: no name, a name too long, an unknown province."""
    project = console_project(missing="no_projects")
    name = request.form.get("name", "").strip()
    if not name or len(name) > MAX_NAME:
        refuse(400, _("device_bad_name", max=MAX_NAME))
    province = request.form.get("province", "").strip()
    if province not in province_names():
        refuse(400, _("device_bad_province"))
    session = get_session()
    add_desk(session, project.id, name, province, via="console")
    session.commit()
    return redirect(url_for("console.desks"), 303)


@bp.post("/desks/<int:device_id>/revoke")
@needs("admin")
def desks_revoke(device_id: int):
    """Revoke a desk link once confirmed; its next page or submission is refused.

    :raise 400: not confirmed.  :raise 404: no such desk link.
    """
    device = _desk(device_id)
    if request.form.get("confirm") != "yes":
        refuse(400, _("device_confirm_needed"))
    if device.revoked_at is None:
        end_desk(get_session(), device, via="console")
        get_session().commit()
    return redirect(url_for("console.desks"), 303)
