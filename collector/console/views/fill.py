"""Forms filled in a browser with ODK Web Forms (issue 19): by a signed-in officer whose role may send records,
and at a desk link (a shelter's or office's browser, for one province, no account).

The page mounts ODK Web Forms (built from webforms/ into static/webforms at install, never fetched from
elsewhere); the form's XML and media come from the routes below, and the web form posts its instance as ODK
Collect does (multipart: xml_submission_file and the files) to a route that hands it to the same function
as Collect's OpenRosa submission (collector.formats.submission_response, then
ingest.receiving.submissions.receive_submission): exactly once per instanceID, the same province rule,
audit and media store. An officer's POST carries the session's CSRF token in a header; a desk's POST is
authorised by the desk's token in its URL, and acts as that desk (a device of kind "desk") for its province.

Only an open, published form is offered; the write path refuses a closed form, an unknown one or one never
published, as it does for Collect.
"""

from __future__ import annotations

from pathlib import Path

from flask import Response, g, render_template, url_for
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from collector.console import web
from collector.console.frame import bp, console_project, needs, refuse
from collector.console.views.forms import _title_in
from collector.console.web import _
from collector.db import get_session
from collector.errors import openrosa_message
from collector.formats import attachment_response, generated_media, generated_response, submission_response
from ingest import scope
from ingest.access import device_caller
from ingest.accounts.admin import DESK
from ingest.accounts.users import device_for_token
from ingest.errors import IngestError
from ingest.models import Device, Form, FormVersion
from ingest.publishing.versions import current_version

#: The built ODK Web Forms script (make webforms); without it the page says how to build it.
BUILT = Path(__file__).resolve().parents[1] / "static" / "webforms" / "webforms.js"


def webforms_built() -> bool:
    """Say whether ODK Web Forms was built into the console's static files."""
    return BUILT.is_file()


def _fillable(project_id: int, device: Device | None = None) -> list[tuple[Form, FormVersion]]:
    """Return the open forms of a project with a published version, each with that version (for a desk, only
    the forms assigned to it), in form ID order."""
    session = get_session()
    query = select(Form).where(Form.project_id == project_id, Form.state == "open").order_by(Form.xml_form_id)
    if device is not None:
        query = query.where(Form.id.in_([f.id for f in device.forms]))
    found = []
    for form in session.scalars(query):
        version = current_version(session, form)
        if version is not None:
            found.append((form, version))
    return found


def _form(project_id: int, xml_form_id: str, device: Device | None = None) -> tuple[Form, FormVersion]:
    """Return an open, published form of the project (and assigned, for a desk) with its current version.

    :raise 404: no such project or form, a form never published, or not assigned to the desk.
    :raise 409: a form that is closing or closed (it takes no new records from a web form).
    """
    session = get_session()
    form = session.scalar(select(Form).where(Form.project_id == project_id, Form.xml_form_id == xml_form_id))
    version = current_version(session, form) if form is not None else None
    if version is None or (device is not None and form not in device.forms):
        refuse(404, _("fill_no_form"))
    if form.state != "open":
        refuse(409, _("fill_form_closed"))
    return form, version


def _media(project_id: int, version: FormVersion, name: str) -> Response:
    """Serve one media file of a version, as the OpenRosa route does: a list it references (the follow-ups the
    caller's province owes, an entity list) is made for the caller and audited as for a tablet, else the stored
    file is served.

    :raise 404: no such file.
    """
    generated = generated_media(project_id, version)
    if name in generated:
        response = generated_response(project_id, name, generated[name])
        response.headers["Cache-Control"] = "no-store"
        return response
    return attachment_response(version, name)


def _submit(project_id: int, xml_form_id: str, **sender) -> Response:
    """Hand the posted instance to Collect's write path; refusals answer in OpenRosa XML (the page shows them)."""
    try:
        return submission_response(project_id, expect_form=xml_form_id, **sender)
    except IngestError as exc:
        get_session().rollback()
        return openrosa_message(exc.status, exc.message)
    except HTTPException as exc:
        return openrosa_message(exc.code or 400, exc.description or "")


def _page(form: Form, version: FormVersion, urls: dict[str, str], back: str, csrf: str = "") -> str:
    """Render the page that mounts ODK Web Forms for one form, with the language-specific messages it shows."""
    g.page_csp = web.WEBFORMS_CSP
    return render_template(
        "console/fill/fill.html",
        form=form,
        title=_title_in(version.title, web.page_language()),
        urls=urls,
        back=back,
        csrf=csrf,
        built=webforms_built(),
        script=url_for("console.static", filename="webforms/webforms.js"),
    )


def _media_base(endpoint: str, **values) -> str:
    """Return the URL a media file's name is appended to (the page's script adds it, encoded)."""
    return url_for(endpoint, **values, name="x")[:-1]


# -- an officer signed in to the console ---------------------------------------------------------------------


@bp.get("/projects/<int:project_id>/fill")
@needs("submit")
def fill_forms(project_id: int):
    """List the forms the officer may fill in the browser (open and published).  :raise 404: no such project."""
    project = console_project(project_id)
    rows = [
        {
            "form_id": form.xml_form_id,
            "title": _title_in(version.title, web.page_language()),
            "href": url_for("console.fill", project_id=project_id, xml_form_id=form.xml_form_id),
        }
        for form, version in _fillable(project_id)
    ]
    return render_template("console/fill/list.html", project=project, rows=rows, desk=None)


@bp.get("/projects/<int:project_id>/forms/<xml_form_id>/fill")
@needs("submit")
def fill(project_id: int, xml_form_id: str):
    """The page that fills one form with ODK Web Forms.  :raise 404: no such form.  :raise 409: not open."""
    form, version = _form(project_id, xml_form_id)
    base = {"project_id": project_id, "xml_form_id": xml_form_id}
    urls = {
        "form": url_for("console.fill_xml", **base),
        "media": _media_base("console.fill_media", **base),
        "submit": url_for("console.fill_submission", **base),
    }
    return _page(form, version, urls, url_for("console.fill_forms", project_id=project_id), web.csrf_token())


@bp.get("/projects/<int:project_id>/forms/<xml_form_id>/fill/form.xml")
@needs("submit")
def fill_xml(project_id: int, xml_form_id: str):
    """The XForm the page fills.  :raise 404: no such form.  :raise 409: not open."""
    _form_row, version = _form(project_id, xml_form_id)
    return Response(version.xml, content_type="text/xml; charset=utf-8", headers={"Cache-Control": "no-store"})


@bp.get("/projects/<int:project_id>/forms/<xml_form_id>/fill/media/<name>")
@needs("submit")
def fill_media(project_id: int, xml_form_id: str, name: str):
    """One media file of the form (Web Forms' attachment fetch).  :raise 404: no such form or file."""
    _form_row, version = _form(project_id, xml_form_id)
    return _media(project_id, version, name)


@bp.post("/projects/<int:project_id>/forms/<xml_form_id>/fill/submission")
@needs("submit")
def fill_submission(project_id: int, xml_form_id: str):
    """Store the web form's instance through Collect's write path, sent by the signed-in officer.

    :raise 400: bad CSRF token (before this view), not multipart, no xml_submission_file, another form's
        instance.  :raise 404: unknown or unpublished form.  :raise 409: a clashing instance or a closed form.
        :raise 413: too large.
    """
    console_project(project_id)
    caller = g.actor.caller
    return _submit(project_id, xml_form_id, user_id=g.actor.user.id, editor=caller)


# -- a desk link: no account, the desk's token in the URL -----------------------------------------------------


def _desk(token: str) -> Device:
    """Return the live desk link with this token, the session now scoped to it (its province).

    :raise 403: an unknown or revoked token, or a tablet's (a desk link's page is for desk links only).
    """
    session = get_session()
    device = device_for_token(session, token)
    if device is None or device.kind != DESK:
        refuse(403, _("desk_refused"))
    scope.use(session, device_caller(device))
    return device


@bp.get("/desk/<token>/")
def desk(token: str):
    """List the forms a desk link may fill.  :raise 403: unknown or revoked desk link."""
    device = _desk(token)
    rows = [
        {
            "form_id": form.xml_form_id,
            "title": _title_in(version.title, web.page_language()),
            "href": url_for("console.desk_fill", token=token, xml_form_id=form.xml_form_id),
        }
        for form, version in _fillable(device.project_id, device)
    ]
    return render_template("console/fill/list.html", project=None, rows=rows, desk=device)


@bp.get("/desk/<token>/forms/<xml_form_id>")
def desk_fill(token: str, xml_form_id: str):
    """The desk's page that fills one form.  :raise 403: bad desk link.  :raise 404: no such form.  :raise 409:
    not open."""
    device = _desk(token)
    form, version = _form(device.project_id, xml_form_id, device)
    base = {"token": token, "xml_form_id": xml_form_id}
    urls = {
        "form": url_for("console.desk_xml", **base),
        "media": _media_base("console.desk_media", **base),
        "submit": url_for("console.desk_submission", **base),
    }
    return _page(form, version, urls, url_for("console.desk", token=token))


@bp.get("/desk/<token>/forms/<xml_form_id>/form.xml")
def desk_xml(token: str, xml_form_id: str):
    """The XForm a desk fills.  :raise 403: bad desk link.  :raise 404: no such form.  :raise 409: not open."""
    device = _desk(token)
    _form_row, version = _form(device.project_id, xml_form_id, device)
    return Response(version.xml, content_type="text/xml; charset=utf-8", headers={"Cache-Control": "no-store"})


@bp.get("/desk/<token>/forms/<xml_form_id>/media/<name>")
def desk_media(token: str, xml_form_id: str, name: str):
    """One media file of the form a desk fills.  :raise 403: bad desk link.  :raise 404: no such form or file."""
    device = _desk(token)
    _form_row, version = _form(device.project_id, xml_form_id, device)
    return _media(device.project_id, version, name)


@bp.post("/desk/<token>/forms/<xml_form_id>/submission")
def desk_submission(token: str, xml_form_id: str):
    """Store a desk's instance through Collect's write path, sent as the desk (a device of its province).

    No CSRF token (web.CSRF_EXEMPT): the desk's token in the URL authorises it, and it acts for no
    signed-in user. Refusals as `fill_submission`, and 403 for an unknown or revoked desk link.
    """
    session = get_session()
    device = device_for_token(session, token)
    if device is None or device.kind != DESK:
        return openrosa_message(403, "This desk link is unknown or was revoked. Ask your administrator for a new one.")
    caller = device_caller(device)
    scope.use(session, caller)
    return _submit(device.project_id, xml_form_id, device=device, editor=caller)
