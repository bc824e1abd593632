"""OpenRosa representations: form lists, XForms, manifests, media files, the submission probe and the
answer to a submission, shared by Collect's endpoints (collector.openrosa) and the drafts' test endpoints
(collector.api.drafts)."""

from __future__ import annotations

import hashlib
from xml.sax.saxutils import escape

from flask import Response, abort, current_app, g, request
from sqlalchemy import select

from collector.db import get_session, get_store, send_blob
from collector.errors import openrosa_headers, openrosa_message
from collector.jobs import request_person_match
from collector.ops import counters
from collector.transport.multipart import parse_submission
from ingest.access import SYSTEM, Caller
from ingest.cases.service import note_task_media
from ingest.cases.tasks import PENDING_MEDIA, pending_csv
from ingest.entities.datasets import linked_lists
from ingest.entities.media import entity_list_csv, note_entity_media
from ingest.models import FormAttachment, FormVersion
from ingest.receiving.submissions import Received, receive_submission

XML = "text/xml; charset=utf-8"


#: Bodies larger than this release their database connection while they arrive.
LARGE_BODY = 1024 * 1024


def _xml(body: str, status: int = 200) -> Response:
    return openrosa_headers(Response(body, status=status, content_type=XML))


def form_list_entry(
    xml_form_id: str, version: FormVersion, download_url: str, manifest_url: str | None, xml_md5: str | None = None
) -> str:
    """Render one <xform> of an OpenRosa form list (`xml_md5`: of the XForm as served, if not the stored one)."""
    manifest = f"<manifestUrl>{escape(manifest_url)}</manifestUrl>" if manifest_url else ""
    return (
        "<xform>"
        f"<formID>{escape(xml_form_id)}</formID>"
        f"<name>{escape(version.title)}</name>"
        f"<version>{escape(version.version)}</version>"
        f"<hash>md5:{xml_md5 or version.xml_md5}</hash>"
        f"<downloadUrl>{escape(download_url)}</downloadUrl>"
        f"{manifest}</xform>"
    )


def form_list_response(items: list[str]) -> Response:
    """Wrap rendered entries in an OpenRosa xformsList response."""
    return _xml('<xforms xmlns="http://openrosa.org/xforms/xformsList">' + "".join(items) + "</xforms>")


def form_xml_response(version: FormVersion, xml: str | None = None) -> Response:
    """Serve an XForm (the stored one, or `xml` as served to this caller) with its md5 as ETag."""
    response = _xml(version.xml if xml is None else xml)
    response.set_etag(version.xml_md5 if xml is None else hashlib.md5(xml.encode("utf-8")).hexdigest())
    return response.make_conditional(request)


def manifest_response(version: FormVersion, url_for_name, generated: dict[str, bytes] | None = None) -> Response:
    """Render the manifest of a version's uploaded media; `url_for_name` builds each download URL; a file of
    `generated` is offered with the md5 of the bytes made for this caller instead of the stored ones."""
    files = []
    generated = generated or {}
    for attachment in version.attachments:
        if attachment.name in generated:
            md5 = hashlib.md5(generated[attachment.name]).hexdigest()
        elif attachment.blob is None:
            continue  # a missing file is not offered; Collect would fail on its download
        else:
            md5 = attachment.blob.md5
        url = url_for_name(attachment.name)
        files.append(
            f"<mediaFile><filename>{escape(attachment.name)}</filename>"
            f"<hash>md5:{md5}</hash><downloadUrl>{escape(url)}</downloadUrl></mediaFile>"
        )
    return _xml('<manifest xmlns="http://openrosa.org/xforms/xformsManifest">' + "".join(files) + "</manifest>")


def attachment_response(version: FormVersion, name: str) -> Response:
    """Serve one media file of a version with its md5 as ETag.

    :raise 404: no such file, or not uploaded yet.
    """
    found = get_session().scalar(
        select(FormAttachment).where(FormAttachment.form_version_id == version.id, FormAttachment.name == name)
    )
    if found is None or found.blob is None:
        abort(404, f"The form has no media file named '{name}'.")
    response = send_blob(
        found.blob.sha256,
        found.blob.size,
        mimetype=found.blob.content_type,
        download_name=found.name,
        etag=found.blob.md5,
        conditional=True,
        max_age=0,
    )
    return openrosa_headers(response)


def generated_media(project_id: int, version: FormVersion) -> dict[str, bytes]:
    """Return the media of a version made for this caller at request time: a `pending_followups.csv` the form
    references becomes the open follow-ups the caller's province owes (ingest.cases.tasks), instead of the
    placeholder stored at publishing; a `<list>.csv` naming an entity list of the project (`cases.csv`) becomes
    the entities of that list the caller may see (ingest.entities.media). Each is made once per request.
    """
    names = [a.name for a in version.attachments]
    made: dict[str, bytes] = {}
    if PENDING_MEDIA in names:
        if "pending_csv" not in g:
            g.pending_csv = pending_csv(get_session(), project_id)
        made[PENDING_MEDIA] = g.pending_csv
    if "entity_lists" not in g:
        g.entity_lists = {}  # dataset id -> (dataset, CSV)
    for name, dataset in linked_lists(get_session(), project_id, [n for n in names if n != PENDING_MEDIA]).items():
        if dataset.id not in g.entity_lists:
            g.entity_lists[dataset.id] = (dataset, entity_list_csv(get_session(), dataset))
        made[name] = g.entity_lists[dataset.id][1]
    return made


def generated_response(project_id: int, name: str, body: bytes) -> Response:
    """Serve a file made for this caller by `generated_media` (ETag, conditional GET); a download of the full
    list is audited: an entity list as `entity.media`, the hand-off list as `task.media` (counts, never values)."""
    response = openrosa_headers(Response(body, content_type="text/csv; charset=utf-8"))
    response.set_etag(hashlib.md5(body).hexdigest())
    response.make_conditional(request)
    if response.status_code == 200:
        # Case codes without names, but still what a province owes: who fetched the list, and how long it was.
        rows = body.count(b"\n") - 1
        lists = {d.name: d for d, _csv in g.get("entity_lists", {}).values()}
        if name.endswith(".csv") and name[: -len(".csv")] in lists:
            note_entity_media(get_session(), lists[name[: -len(".csv")]], name, rows)
        else:
            note_task_media(get_session(), project_id, name, rows)
        get_session().commit()
    return response


def probe_response() -> Response:
    """Answer a HEAD/GET on a submission URL: 204 and the largest body accepted."""
    response = openrosa_headers(Response(status=204))
    del response.headers["Content-Type"]
    response.headers["X-OpenRosa-Accept-Content-Length"] = str(request.max_content_length)
    return response


def submission_response(
    project_id: int,
    *,
    device=None,
    user_id: int | None = None,
    draft=None,
    editor: Caller = SYSTEM,
    expect_form: str | None = None,
) -> Response:
    """Read a multipart submission POST, store it, and answer 201 in OpenRosaResponse XML.

    With `expect_form` (a URL that names the form, as a web form's does), an instance of another form is
    refused (400).

    :raise 400: not multipart, no xml_submission_file, or a body cut short.  :raise 413: body over the limit.
    """
    limit = request.max_content_length
    if request.content_length is not None and limit is not None and request.content_length > limit:
        # Refuse before reading a byte of the body.
        abort(413, f"The submission is larger than the {limit // (1024 * 1024)} MB this server accepts.")
    if request.mimetype != "multipart/form-data":
        abort(400, "A submission must be sent as multipart/form-data.")
    if request.content_length is None or request.content_length > LARGE_BODY:
        # A large upload may take minutes over 3G: give the sign-in lookup's connection back meanwhile.
        # A small one arrives in moments (or is stopped by the body deadline), and keeps it.
        get_session().commit()
    xml, files = parse_submission(
        request.stream, request.mimetype_params.get("boundary", ""), int(current_app.config["MAX_XML_BYTES"])
    )
    try:
        if xml is None:
            abort(400, "The submission has no xml_submission_file part.")
        received = receive_submission(
            get_session(),
            get_store(),
            project_id=project_id,
            xml=xml,
            files=files,
            device=device,
            user_id=user_id,
            draft=draft,
            editor=editor,
            expect_form=expect_form,
            device_ident=request.args.get("deviceID"),
            user_agent=request.headers.get("User-Agent"),
        )
    finally:
        for incoming in files:
            incoming.stream.close()
    if received.names_person:
        request_person_match(project_id)
    counters.submission_stored(received.created)
    return openrosa_message(201, submission_message(received), nature="submit_success")


def submission_message(received: Received) -> str:
    """Say what the server did with a submission, in the words Collect shows the officer."""
    if received.created:
        message = "Your record was received."
    elif received.attachments_added:
        message = f"Your record was already received; {received.attachments_added} more file(s) were added."
    else:
        message = "Your record was already received; nothing new was added."
    if received.attachments_missing:
        message += (
            f" {received.attachments_missing} of its {received.attachments_expected} file(s) have not arrived yet."
        )
    if received.claimed_province is not None:
        message += (
            f" It names province {received.claimed_province}, where you do not send records: it was kept"
            f" in province {received.province or '(none)'} for a supervisor to check."
        )
    return message
