"""The trainer's form workflow over HTTP: upload XLSForms as drafts, test them, add media, publish.

Also the draft's test endpoints below /v1/test/<token>/..., which a training tablet uses; what it sends
is test data, kept apart from real records and discarded on publish.
"""

from __future__ import annotations

from urllib.parse import unquote

from flask import Blueprint, Response, abort, current_app, g, jsonify, request, url_for
from sqlalchemy import select

from collector.api.common import TRAINERS, api_blueprint, flag, get_form, get_project
from collector.api.form_shapes import attachment_json, form_json
from collector.api.openapi import Param, takes
from collector.auth import roles_required
from collector.db import get_session, get_store
from collector.devices import draft_test_settings, draft_test_url, settings_payload
from collector.errors import json_error, openrosa_headers, refuse
from collector.formats import (
    attachment_response,
    form_list_entry,
    form_list_response,
    form_xml_response,
    manifest_response,
    probe_response,
    submission_response,
)
from collector.transport.bodies import read_limited
from forms.compiler import CompiledForm, FormError, compile_xlsform
from forms.xform import compile_xform, is_xform
from ingest.entities.datasets import linked_lists
from ingest.entities.media import header_csv
from ingest.errors import MISSING_PARAMETER, XLSFORM_NOT_VALID
from ingest.models import Form, FormVersion
from ingest.publishing.versions import (
    create_draft,
    current_draft,
    current_version,
    discard_draft,
    missing_media,
    publish_draft,
    set_draft_version,
    upload_draft_media,
)
from ingest.queries import submissions_of
from ingest.records.describe import iso
from ingest.records.service import list_test_records

bp = api_blueprint("drafts", __name__)
test_bp = Blueprint("drafts_test", __name__)


def _read_xlsform() -> bytes:
    """Return the XLSForm in the request body.

    :raise 413: over MAX_XLSFORM_BYTES.  :raise 400: empty body.
    """
    limit = int(current_app.config["MAX_XLSFORM_BYTES"])
    if request.content_length is not None and request.content_length > limit:
        abort(413, f"The XLSForm is larger than {limit // (1024 * 1024)} MB; an XLSForm is normally well under 1 MB.")
    data = read_limited(request.stream, limit, "The XLSForm")
    if not data:
        refuse(MISSING_PARAMETER, "Send the .xlsx file as the request body.")
    return data


#: ?strict=true: pyxform warnings refuse the form too.
STRICT = Param("strict", "true: refuse the form on pyxform warnings too.", "boolean")


def _compile(earlier: FormVersion | None = None) -> CompiledForm:
    """Compile the uploaded XLSForm, or check an uploaded XForm (XML, as Central takes too; its fields keep the
    tags of `earlier`); a refusal becomes a 400 listing pyxform's and ODK Validate's problems.

    Central's `X-XlsForm-FormId-Fallback` header (pyodk sends the file's name) names a form whose settings
    sheet gives no form_id.
    """
    data = _read_xlsform()
    validate = current_app.config["VALIDATE_FORMS"]
    fallback = request.headers.get("X-XlsForm-FormId-Fallback")
    try:
        if request.mimetype in ("application/xml", "text/xml") or is_xform(data):
            return compile_xform(data, validate=validate, earlier_fields=earlier.fields if earlier else None)
        return compile_xlsform(
            data, validate=validate, strict=flag("strict"), form_id_fallback=unquote(fallback) if fallback else None
        )
    except FormError as exc:
        raise DraftRefused(exc) from None


def _copy_of(version: FormVersion) -> CompiledForm:
    """The compiled form of a stored version, to start a draft from (Central's POST .../draft with no body)."""
    return CompiledForm(
        form_id=version.form.xml_form_id,
        version=version.version,
        title=version.title,
        xml=version.xml,
        fields=version.fields,
        media=[a.name for a in version.attachments],
        xlsx=version.xlsx,
    )


class DraftRefused(Exception):
    """The XLSForm was refused; carries the compiler's problems for the JSON error body."""

    def __init__(self, error: FormError):
        super().__init__(error.summary)
        self.error = error


@bp.errorhandler(DraftRefused)
def _refused(exc: DraftRefused):
    return json_error(400, exc.error.summary, code=XLSFORM_NOT_VALID, errors=[p.as_dict() for p in exc.error.problems])


def draft_json(form: Form, draft: FormVersion) -> dict:
    """Describe a draft: version, warnings, media and the test URL a training tablet uses."""
    test_url = draft_test_url(draft)
    test_count = len(get_session().scalars(submissions_of(form, drafts=True)).all())
    return {
        "xmlFormId": form.xml_form_id,
        "version": draft.version,
        "name": draft.title,
        "hash": draft.xml_md5,
        "createdAt": iso(draft.created_at),
        "warnings": draft.warnings,
        "attachments": [{"name": a.name, "exists": a.blob_id is not None} for a in draft.attachments],
        "missingMedia": missing_media(draft),
        "testUrl": test_url,
        "testSubmissions": test_count,
        "testQrPayload": settings_payload(draft_test_settings(draft)),
    }


def _draft(form: Form) -> FormVersion:
    """:raise 404: the form has no draft."""
    draft = current_draft(get_session(), form)
    if draft is None:
        abort(404, f"The form '{form.xml_form_id}' has no draft.")
    return draft


@bp.post("/projects/<int:project_id>/forms")
@roles_required(*TRAINERS)
@takes(
    STRICT,
    Param("publish", "true: publish the new form at once instead of keeping it a draft (as Central).", "boolean"),
    Param("ignoreWarnings", "Sent by pyodk; pyxform warnings never refuse a form unless ?strict=true.", "boolean"),
)
def upload_form(project_id: int):
    """Upload an XLSForm (raw .xlsx body) or an XForm (XML body) as the draft of a new form, published at once
    with `?publish=true`; answer Central's Form with the draft's description.

    :raise 400: pyxform or ODK Validate refuse it.  :raise 409: a form with its form_id exists.
    :raise 413: too large.
    """
    get_project(project_id)
    compiled = _compile()
    session = get_session()
    draft = create_draft(session, get_store(), project_id, compiled, new_form=True)
    form = draft.form
    if flag("publish"):
        publish_draft(session, form)
        session.commit()
        return jsonify(form_json(form, draft)), 201
    body = form_json(form, draft) | draft_json(form, draft)
    session.commit()
    return jsonify(body), 201


@bp.post("/projects/<int:project_id>/forms/<xml_form_id>/draft")
@roles_required(*TRAINERS)
@takes(STRICT)
def upload_draft(project_id: int, xml_form_id: str):
    """Upload a new version of an existing form (XLSForm or XForm) as its draft, replacing any earlier draft;
    with no body, the draft is a copy of the published version (Central's way to change only media).
    Answers the draft's description with Central's `"success": true`.

    :raise 400: refused by pyxform or ODK Validate, or another form_id, or no body and nothing published.
    :raise 404: no such form.
    """
    form = get_form(project_id, xml_form_id)
    session = get_session()
    published = current_version(session, form)
    if request.content_length or request.headers.get("Transfer-Encoding"):
        compiled = _compile(current_draft(session, form) or published)
    elif published is None:
        refuse(MISSING_PARAMETER, "Send the .xlsx file as the request body: the form has no published version.")
    else:
        compiled = _copy_of(published)
    draft = create_draft(session, get_store(), project_id, compiled, new_form=False, xml_form_id=xml_form_id)
    session.commit()
    return jsonify(draft_json(draft.form, draft) | {"success": True}), 201


@bp.get("/projects/<int:project_id>/forms/<xml_form_id>/draft")
@roles_required(*TRAINERS)
def show_draft(project_id: int, xml_form_id: str):
    """Describe the form's draft.

    :raise 404: no such form, or no draft.
    """
    form = get_form(project_id, xml_form_id)
    return jsonify(draft_json(form, _draft(form)))


@bp.delete("/projects/<int:project_id>/forms/<xml_form_id>/draft")
@roles_required(*TRAINERS)
def delete_draft(project_id: int, xml_form_id: str):
    """Discard the draft and its test data.

    :raise 404: no such form, or no draft.
    """
    session = get_session()
    discard_draft(session, get_form(project_id, xml_form_id))
    session.commit()
    return jsonify({"success": True})


@bp.post("/projects/<int:project_id>/forms/<xml_form_id>/draft/attachments/<name>")
@roles_required(*TRAINERS)
def upload_media(project_id: int, xml_form_id: str, name: str):
    """Upload a media file (raw body) the draft references, e.g. a CSV list.

    :raise 404: no such form or draft, or the form does not use that file.
    """
    session = get_session()
    draft = _draft(get_form(project_id, xml_form_id))
    attachment = upload_draft_media(session, get_store(), draft, name, request.stream, request.mimetype or None)
    session.commit()
    return jsonify(attachment_json(attachment))


@bp.get("/projects/<int:project_id>/forms/<xml_form_id>/draft/attachments")
@roles_required(*TRAINERS)
def list_media(project_id: int, xml_form_id: str):
    """List the media the draft references and whether each was uploaded, as Central does.

    :raise 404: no such form or draft.
    """
    draft = _draft(get_form(project_id, xml_form_id))
    return jsonify([attachment_json(a) for a in draft.attachments])


@bp.post("/projects/<int:project_id>/forms/<xml_form_id>/draft/publish")
@roles_required(*TRAINERS)
@takes(
    Param("force", "true: publish although media files are missing.", "boolean"),
    Param("version", "Publish under this version string instead of the draft's own (as Central does)."),
)
def publish(project_id: int, xml_form_id: str):
    """Publish the draft as the form's current version; its test data is discarded.

    :raise 404: no draft.  :raise 409: version already published, or media missing without ?force=true.
    """
    session = get_session()
    form = get_form(project_id, xml_form_id)
    force = flag("force")
    if request.args.get("version"):
        set_draft_version(session, _draft(form), request.args["version"])
    version = publish_draft(session, form, force=force)
    session.commit()
    return jsonify(
        {
            "xmlFormId": xml_form_id,
            "version": version.version,
            "publishedAt": iso(version.published_at),
            "hash": version.xml_md5,
            "missingMedia": missing_media(version),
            "success": True,
        }
    )


@bp.get("/projects/<int:project_id>/forms/<xml_form_id>/draft/submissions")
@roles_required(*TRAINERS)
def draft_submissions(project_id: int, xml_form_id: str):
    """List the test submissions sent to the draft.

    :raise 404: no such form or draft.
    """
    form = get_form(project_id, xml_form_id)
    _draft(form)
    session = get_session()
    return jsonify(list_test_records(session, form))


# --- the draft's test endpoints, for a training tablet ------------------------------------------


@test_bp.url_value_preprocessor
def _pop_draft_token(_endpoint, values) -> None:
    g.draft_token = values.pop("draft_token")


def _test_draft(project_id: int, xml_form_id: str) -> FormVersion:
    """Return the draft a test token opens.

    :raise 403: the token is unknown (or its draft was published or replaced).
    """
    draft = get_session().scalar(select(FormVersion).where(FormVersion.draft_token == g.draft_token))
    if draft is None or draft.form.project_id != project_id or draft.form.xml_form_id != xml_form_id:
        abort(403, "This test link has expired: the draft was published or replaced. Scan the new test QR code.")
    return draft


def _test_url(endpoint: str, project_id: int, xml_form_id: str, **values) -> str:
    return url_for(
        f"drafts_test.{endpoint}",
        draft_token=g.draft_token,
        project_id=project_id,
        xml_form_id=xml_form_id,
        _external=True,
        **values,
    )


_DRAFT = "/projects/<int:project_id>/forms/<xml_form_id>/draft"


@test_bp.get(f"{_DRAFT}/formList")
def form_list(project_id: int, xml_form_id: str):
    """List the one draft form (OpenRosa xformsList).

    :raise 403: unknown test token.
    """
    draft = _test_draft(project_id, xml_form_id)
    manifest = _test_url("manifest", project_id, xml_form_id) if draft.attachments else None
    return form_list_response(
        [form_list_entry(xml_form_id, draft, _test_url("form_xml", project_id, xml_form_id), manifest)]
    )


@test_bp.get(f"{_DRAFT}.xml")
def form_xml(project_id: int, xml_form_id: str):
    """Serve the draft's XForm.

    :raise 403: unknown test token.
    """
    return form_xml_response(_test_draft(project_id, xml_form_id))


@test_bp.get(f"{_DRAFT}/manifest")
def manifest(project_id: int, xml_form_id: str):
    """List the draft's uploaded media.

    :raise 403: unknown test token.
    """
    draft = _test_draft(project_id, xml_form_id)
    return manifest_response(
        draft, lambda name: _test_url("attachment", project_id, xml_form_id, name=name), _draft_lists(draft)
    )


def _draft_lists(draft: FormVersion) -> dict[str, bytes]:
    """The entity lists a draft reads (`cases.csv`), each as its header alone: no case on a test URL."""
    names = [a.name for a in draft.attachments]
    return {name: header_csv(d) for name, d in linked_lists(get_session(), draft.form.project_id, names).items()}


@test_bp.get(f"{_DRAFT}/attachments/<name>")
def attachment(project_id: int, xml_form_id: str, name: str):
    """Serve one of the draft's media files.

    :raise 403: unknown test token.  :raise 404: no such file.
    """
    draft = _test_draft(project_id, xml_form_id)
    lists = _draft_lists(draft)
    if name in lists:
        return openrosa_headers(Response(lists[name], content_type="text/csv; charset=utf-8"))
    return attachment_response(draft, name)


@test_bp.route(f"{_DRAFT}/submission", methods=["HEAD", "GET"])
def submission_probe(project_id: int, xml_form_id: str):
    """Answer Collect's pre-flight for test submissions.

    :raise 403: unknown test token.
    """
    _test_draft(project_id, xml_form_id)
    return probe_response()


@test_bp.post(f"{_DRAFT}/submission")
def submission(project_id: int, xml_form_id: str):
    """Receive a test submission for the draft; it is kept apart from real data.

    :raise 403: unknown test token.
    """
    return submission_response(project_id, draft=_test_draft(project_id, xml_form_id))
