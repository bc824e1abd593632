"""A trainer's changes to forms in the console: upload an XLSForm as a draft, add its media, publish or
discard it, open and close a form; and the form's downloads (the draft's test QR code, each version's
XLSForm and XForm).

Every change goes through the services the API's draft endpoints use (ingest.publishing.drafts and
ingest.publishing.versions), which check and audit it.
"""

from __future__ import annotations

import io
import logging
import re

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from werkzeug.datastructures import FileStorage

from collector.console.frame import bp, console_project, needs, refuse
from collector.console.views.form_problems import problem_text, summary_text
from collector.console.views.forms import find_form, form_page
from collector.console.web import _
from collector.db import get_session, get_store
from collector.devices import draft_test_settings, qr_code
from collector.formats import form_xml_response
from forms.compiler import FormError
from ingest.errors import BadSubmission, NotFound
from ingest.models import Form, FormVersion
from ingest.publishing.drafts import draft_from_xlsform
from ingest.publishing.versions import (
    FORM_STATES,
    current_draft,
    discard_draft,
    publish_draft,
    published_version,
    set_state,
    upload_draft_media,
)

logger = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: Room for the multipart wrapping around an XLSForm of MAX_XLSFORM_BYTES.
MULTIPART_SLACK = 64 * 1024


def _uploaded(field: str, limit: int) -> tuple[FileStorage, bytes]:
    """Return the file posted in `field` and its bytes.

    :raise 413: the request or the file is over `limit`.  :raise 400: no file, or an empty one.
    """
    if request.content_length is not None and request.content_length > limit + MULTIPART_SLACK:
        refuse(413, _("file_too_large", mb=max(1, limit // (1024 * 1024))))
    upload = request.files.get(field)
    if upload is None or not upload.filename:
        refuse(400, _("choose_a_file"))
    try:
        data = upload.stream.read(limit + 1)
    finally:
        upload.close()  # a large part waits in a temporary file: close it now, whatever follows
    if len(data) > limit:
        refuse(413, _("file_too_large", mb=max(1, limit // (1024 * 1024))))
    if not data:
        refuse(400, _("file_empty"))
    return upload, data


def _store_draft(project_id: int, form: Form | None):
    """Compile the posted XLSForm and store it as a draft (of `form`, else of the form its form_id names).

    Refused XLSForms come back to the page they were sent from, with every problem at its sheet and row.
    """
    data = _uploaded("xlsform", int(current_app.config["MAX_XLSFORM_BYTES"]))[1]
    session = get_session()
    try:
        draft = draft_from_xlsform(
            session,
            get_store(),
            project_id,
            data,
            new_form=None if form is None else False,
            xml_form_id=None if form is None else form.xml_form_id,
            validate=current_app.config["VALIDATE_FORMS"],
        )
    except FormError as exc:
        session.rollback()
        refused = {"summary": summary_text(exc.summary), "problems": exc.problems}
        if form is not None:
            return form_page(form, status=400, problems=refused)
        return upload_page(project_id, status=400, refused=refused)
    except BadSubmission:  # the XLSForm's form_id names another form
        session.rollback()
        refuse(400, _("other_form_id", form_id=form.xml_form_id if form else ""))
    session.commit()
    logger.info("stored a draft of form %s version %s from the console", draft.form.xml_form_id, draft.version)
    flash(_("draft_stored", version=draft.version))
    return redirect(url_for("console.forms_detail", project_id=project_id, xml_form_id=draft.form.xml_form_id))


def upload_page(project_id: int, *, status: int = 200, refused: dict | None = None):
    """Render the upload page, with the problems of a refused XLSForm if there are any."""
    limit = int(current_app.config["MAX_XLSFORM_BYTES"])
    return render_template(
        "console/forms/upload.html",
        project=console_project(project_id),
        refused=refused,
        problem_text=problem_text,
        limit_mb=max(1, limit // (1024 * 1024)),
    ), status


@bp.get("/projects/<int:project_id>/forms/new")
@needs("forms")
def forms_upload(project_id: int):
    """Offer the upload of an XLSForm: a new form, or a new version of the form its form_id names.

    :raise 403: not a trainer or administrator.  :raise 404: no such project.
    """
    return upload_page(project_id)


@bp.post("/projects/<int:project_id>/forms/new")
@needs("forms")
def forms_upload_post(project_id: int):
    """Store an uploaded XLSForm as a draft and go to its form's page; a refused one shows its problems.

    :raise 400: no file, an empty file, or an XLSForm pyxform or ODK Validate refuse.  :raise 413: too large.
    """
    console_project(project_id)
    return _store_draft(project_id, None)


@bp.post("/projects/<int:project_id>/forms/<xml_form_id>/draft")
@needs("forms")
def forms_draft_upload(project_id: int, xml_form_id: str):
    """Store an uploaded XLSForm as the form's new draft (its form_id must be this form's).

    :raise 400: refused, or another form_id.  :raise 404: no such form.  :raise 413: too large.
    """
    return _store_draft(project_id, find_form(project_id, xml_form_id))


def _draft_of(form: Form) -> FormVersion:
    """:raise 404: the form has no draft (a page saying so)."""
    draft = current_draft(get_session(), form)
    if draft is None:
        refuse(404, _("no_draft", form_id=form.xml_form_id))
    return draft


@bp.post("/projects/<int:project_id>/forms/<xml_form_id>/draft/media")
@needs("forms")
def forms_media(project_id: int, xml_form_id: str):
    """Store a media file the draft uses, under the name the form gives it (`name`, else the file's name).

    :raise 400: no file or an empty one.  :raise 404: no draft, or the form uses no file of that name.
    :raise 413: over the server's body limit.
    """
    form = find_form(project_id, xml_form_id)
    draft = _draft_of(form)
    upload, data = _uploaded("file", int(current_app.config["MAX_CONTENT_LENGTH"]))
    name = (request.form.get("name") or upload.filename or "").strip()
    session = get_session()
    try:
        upload_draft_media(session, get_store(), draft, name, io.BytesIO(data), upload.mimetype or None)
    except NotFound:
        session.rollback()
        refuse(404, _("media_not_used", name=name[:255], names=", ".join(a.name for a in draft.attachments) or "—"))
    session.commit()
    flash(_("media_stored", name=name))
    return redirect(url_for("console.forms_detail", project_id=project_id, xml_form_id=xml_form_id) + "#media")


@bp.post("/projects/<int:project_id>/forms/<xml_form_id>/publish")
@needs("forms")
def forms_publish(project_id: int, xml_form_id: str):
    """Publish the draft once the trainer confirmed it (and, with media missing, confirmed that too).

    :raise 400: not confirmed.  :raise 404: no draft.  :raise 409: its version is published already, or
        media are missing without `force`.
    """
    form = find_form(project_id, xml_form_id)
    _draft_of(form)
    if request.form.get("confirm") != "yes":
        refuse(400, _("publish_not_confirmed"))
    session = get_session()
    version = publish_draft(session, form, force=request.form.get("force") == "yes")
    session.commit()
    logger.info("published form %s version %s from the console", xml_form_id, version.version)
    flash(_("published_version", version=version.version))
    return redirect(url_for("console.forms_detail", project_id=project_id, xml_form_id=xml_form_id))


@bp.post("/projects/<int:project_id>/forms/<xml_form_id>/draft/discard")
@needs("forms")
def forms_discard(project_id: int, xml_form_id: str):
    """Discard the draft and its test data.

    :raise 404: no draft.
    """
    form = find_form(project_id, xml_form_id)
    _draft_of(form)
    session = get_session()
    discard_draft(session, form)
    session.commit()
    flash(_("draft_discarded"))
    return redirect(url_for("console.forms_detail", project_id=project_id, xml_form_id=xml_form_id))


@bp.post("/projects/<int:project_id>/forms/<xml_form_id>/state")
@needs("forms")
def forms_state(project_id: int, xml_form_id: str):
    """Open a form, or close it (closing: off the tablets' lists, still accepting; closed: refusing data).

    :raise 400: not one of open, closing, closed.  :raise 404: no such form.
    """
    form = find_form(project_id, xml_form_id)
    state = request.form.get("state", "")
    if state not in FORM_STATES:
        refuse(400, _("bad_state"))
    session = get_session()
    set_state(session, form, state)
    session.commit()
    flash(_("state_set", state=_("state_" + state)))
    return redirect(url_for("console.forms_detail", project_id=project_id, xml_form_id=xml_form_id))


@bp.get("/projects/<int:project_id>/forms/<xml_form_id>/draft/qr.png")
@needs("forms")
def forms_draft_qr(project_id: int, xml_form_id: str):
    """The draft's test QR code: ODK Collect's settings for the draft's test URL, as the API's testQrPayload.

    Large enough to scan from a projector; not cached, as it holds the draft's test token.

    :raise 404: no such form, or no draft.
    """
    draft = _draft_of(find_form(project_id, xml_form_id))
    out = io.BytesIO()
    qr_code(draft_test_settings(draft)).save(out, kind="png", scale=10, border=4)
    return Response(out.getvalue(), content_type="image/png", headers={"Cache-Control": "no-store"})


def _file_name(xml_form_id: str, version: str, suffix: str) -> str:
    """Name a download after the form and version, with only characters safe in a header and a file name."""
    return _UNSAFE.sub("_", f"{xml_form_id}-{version}") + f".{suffix}"


def _version(project_id: int, xml_form_id: str, version: str) -> FormVersion:
    """:raise 404: no such form, or no such published version."""
    found = published_version(get_session(), find_form(project_id, xml_form_id), version)
    if found is None:
        refuse(404, _("no_such_version"))
    return found


@bp.get("/projects/<int:project_id>/forms/<xml_form_id>/versions/<version>.xlsx")
@needs("forms")
def forms_version_xlsx(project_id: int, xml_form_id: str, version: str):
    """Download the XLSForm a published version was built from.

    :raise 404: no such version, or it was published without an XLSForm.
    """
    found = _version(project_id, xml_form_id, version)
    if found.xlsx is None:
        refuse(404, _("no_xlsform"))
    name = _file_name(xml_form_id, found.version, "xlsx")
    return Response(found.xlsx, content_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/projects/<int:project_id>/forms/<xml_form_id>/versions/<version>.xml")
@needs("forms")
def forms_version_xml(project_id: int, xml_form_id: str, version: str):
    """Download the XForm of a published version, the bytes tablets were served.

    :raise 404: no such version.
    """
    response = form_xml_response(_version(project_id, xml_form_id, version))
    response.headers["Content-Disposition"] = f'attachment; filename="{_file_name(xml_form_id, version, "xml")}"'
    return response
