"""Submissions over the JSON API: create (Central's REST), list, read, versions, files, review, comments, delete."""

from __future__ import annotations

import json

from flask import Response, abort, current_app, jsonify, request, stream_with_context, url_for
from marshmallow import Schema, fields, validate

from collector.api.common import READERS, SUBMITTERS, api_blueprint, get_form, json_body, record_filters
from collector.api.openapi import RECORD_FILTERS, Param, accepts, takes
from collector.auth import current_actor, roles_required
from collector.db import get_session, get_store, send_blob
from collector.errors import refuse
from collector.jobs import request_person_match
from collector.transport.bodies import read_limited
from ingest import audit, scope
from ingest.access import SYSTEM
from ingest.cases.register import rebuild_case
from ingest.db import begin_write, utcnow
from ingest.errors import IDENTITIES_HIDDEN, MISSING_PARAMETER, UNEXPECTED_VALUE
from ingest.models import Form, Submission, SubmissionVersion
from ingest.receiving.instances import edit_target
from ingest.receiving.storing import attach_file
from ingest.receiving.submissions import receive_submission
from ingest.records import service as records
from ingest.records.describe import current_of, submission_json
from ingest.records.review import MAX_COMMENT_CHARS, REVIEW_STATES, REVIEWERS
from ingest.redaction import redaction_for

bp = api_blueprint("submissions", __name__)


class ReviewSchema(Schema):
    """A review of a record (Central's PATCH /submissions/:instanceId); null is "received", as GET reports it."""

    reviewState = fields.String(required=True, allow_none=True, validate=validate.OneOf(REVIEW_STATES))


class CommentSchema(Schema):
    """A comment on a record (Central's POST /submissions/:instanceId/comments)."""

    body = fields.String(
        required=True,
        validate=[
            validate.Length(min=1, max=MAX_COMMENT_CHARS),
            validate.Predicate("strip", error="A comment must hold more than white space."),
        ],
    )


_ONE = "/projects/<int:project_id>/forms/<xml_form_id>/submissions/<instance_id>"


def _submission(form_row: Form, instance_id: str) -> Submission:
    """:raise 404: no such submission."""
    found = records.find_record(get_session(), form_row, instance_id)
    if found is None:
        abort(404, "No such submission.")
    return found


def _version(found: Submission, version_id: str) -> SubmissionVersion:
    """:raise 404: the submission has no such version."""
    version = next((v for v in found.versions if v.instance_id == version_id), None)
    if version is None:
        abort(404, "No such version of this submission.")
    return version


@bp.post("/projects/<int:project_id>/forms/<xml_form_id>/submissions")
@roles_required(*SUBMITTERS)
@takes(Param("deviceID", "The sending device's own identifier, kept with the record."))
def create_submission(project_id: int, xml_form_id: str):
    """Receive one instance as a raw XML body (Central's REST submission, used by pyodk).

    :raise 400: bad XML, or an instance of another form.  :raise 403: an edit of a record outside the
        caller's scope.  :raise 404: no such form.  :raise 409: conflict.
    """
    xml = read_limited(request.stream, int(current_app.config["MAX_XML_BYTES"]), "The form data")
    return _receive(project_id, xml_form_id, xml)


def _receive(project_id: int, xml_form_id: str, xml: bytes):
    """Store an instance (new, an edit, or one already stored) sent by the signed-in user; answer the record
    as Central does, 201 when this request stored it."""
    session = get_session()
    actor = current_actor()
    received = receive_submission(
        session,
        get_store(),
        project_id=project_id,
        xml=xml,
        expect_form=xml_form_id,
        user_id=actor.user.id,
        device_ident=request.args.get("deviceID"),
        user_agent=request.headers.get("User-Agent"),
        editor=actor.caller,
    )
    if received.names_person:
        request_person_match(project_id)
    with scope.acting_as(session, SYSTEM):  # the sender reads back what they sent
        body = submission_json(
            session, session.get(SubmissionVersion, received.version_id).submission, redaction_for(SYSTEM)
        )
    return jsonify(body), 200 if not received.created else 201


@bp.put(_ONE)
@roles_required(*SUBMITTERS)
def edit_submission(project_id: int, xml_form_id: str, instance_id: str):
    """Store a new version of a record from its XML (Central's PUT, pyodk's `submissions.edit`): the XML names
    the version it replaces in meta/deprecatedID, and goes through the same write path as a tablet's edit
    (exactly once: the same XML again answers 200 and stores nothing). Audited as `submission.edit`.

    :raise 400: no deprecatedID, or one of another record.  :raise 404: no such form or record (or one
        outside the caller's scope).  :raise 409: the version it replaces was already replaced.
    """
    form_row = get_form(project_id, xml_form_id)
    found = _submission(form_row, instance_id)
    xml = read_limited(request.stream, int(current_app.config["MAX_XML_BYTES"]), "The form data")
    replaced = edit_target(xml, xml_form_id)
    if replaced is None:
        refuse(MISSING_PARAMETER, "An edit names the version it replaces in meta/deprecatedID.")
    if replaced not in {v.instance_id for v in found.versions}:
        refuse(UNEXPECTED_VALUE, f"The deprecatedID names no version of the submission '{instance_id}'.")
    response, status = _receive(project_id, xml_form_id, xml)
    if status == 201:
        session = get_session()
        audit.record(session, "submission.edit", f"submission:{found.id}")
        session.commit()
    return response, status


@bp.post(f"{_ONE}/attachments/<name>")
@roles_required(*SUBMITTERS)
def upload_submission_attachment(project_id: int, xml_form_id: str, instance_id: str, name: str):
    """Upload one file of a submission as a raw body (streamed; chunked bodies accepted).

    :raise 404: no such submission (or one outside the caller's scope), or it does not refer to that file.
    :raise 409: the file arrived already with other bytes (what a tablet sent is never replaced).
    """
    found = _submission(get_form(project_id, xml_form_id), instance_id)
    audit.record(get_session(), "attachment.upload", f"submission:{found.id}", name=name)
    attach_file(
        get_session(),
        get_store(),
        current_of(found),
        name,
        request.stream,
        request.mimetype or "application/octet-stream",
    )
    return jsonify({"success": True})


#: Most records one page of `?limit=` holds.
MAX_PAGE = 1000


def _page_args() -> tuple[int | None, int]:
    """Read `?limit=` (1..MAX_PAGE; none: every record) and `?cursor=` (the last id of the previous page).

    :raise 400: a limit or cursor that is not one.
    """
    limit, cursor = request.args.get("limit"), request.args.get("cursor", "")
    if limit is not None and not (limit.isascii() and limit.isdigit() and 1 <= int(limit) <= MAX_PAGE):
        abort(400, f"limit must be a whole number from 1 to {MAX_PAGE}.")
    if cursor and not (cursor.isascii() and cursor.isdigit() and int(cursor) < 2**63):
        abort(400, "The cursor is not one this server gave; start again without it.")
    return (int(limit) if limit is not None else None), int(cursor or 0)


@bp.get("/projects/<int:project_id>/forms/<xml_form_id>/submissions")
@roles_required(*READERS)
@takes(
    *RECORD_FILTERS,
    Param("limit", f"Records per page, 1 to {MAX_PAGE}; none: every record, streamed.", "integer"),
    Param("cursor", "The X-Next-Cursor of the previous page."),
)
def submissions(project_id: int, xml_form_id: str):
    """List a form's records with their normalised values, oldest first, as a JSON array (as Central's, so
    pyodk reads it), scoped and redacted for the caller (an identifiable read, audited once).

    Filters (combined with and): `?start=`/`?end=` on the submission date, `?reviewState=`, `?province=`,
    `?device=` and `?q=` on answers. With `?limit=N` the array holds one page and, when more remain, the
    `Link` header (rel="next") and `X-Next-Cursor` give the next page's `?cursor=`; without it every record
    is streamed, page by page in constant memory.

    :raise 400: a malformed filter, limit or cursor.  :raise 403: a filter on a sensitive field for a caller
        without identity access.  :raise 404: no such form.  :raise 422: a filter on an unknown field.
    """
    form_row = get_form(project_id, xml_form_id)
    filters = record_filters(form_row)
    limit, after = _page_args()
    session = get_session()
    if limit is None:
        _count, bodies = records.stream_records(session, form_row, filters)
        session.commit()
        caller = current_actor().caller

        def stream():
            # The view's session is closed when the view returns; the stream reads in its own, for the same
            # caller, closed by the app context's teardown when the stream ends.
            reader = get_session()
            scope.use(reader, caller)
            yield "["
            first = True
            for body in bodies(reader):
                yield ("" if first else ",") + json.dumps(body, ensure_ascii=False)
                first = False
            yield "]"

        return Response(stream_with_context(stream()), mimetype="application/json")
    body, next_id = records.list_records(session, form_row, filters, limit=limit, after=after)
    session.commit()
    response = jsonify(body)
    if next_id is not None:
        cursor = str(next_id)
        args = request.args.to_dict(flat=False) | {"cursor": [cursor]}
        response.headers["Link"] = f'<{url_for(request.endpoint, **request.view_args, **args)}>; rel="next"'
        response.headers["X-Next-Cursor"] = cursor
    return response


@bp.get(_ONE)
@roles_required(*READERS)
def submission(project_id: int, xml_form_id: str, instance_id: str):
    """Return one submission with its data (audited).

    :raise 404: no such form or submission.
    """
    found = _submission(get_form(project_id, xml_form_id), instance_id)
    body = records.read_record(get_session(), found)
    get_session().commit()
    return jsonify(body)


@bp.get(f"{_ONE}.xml")
@roles_required(*READERS)
def submission_xml(project_id: int, xml_form_id: str, instance_id: str):
    """Return the raw instance XML exactly as received (audited).

    :raise 404: no such form or submission.
    """
    found = _submission(get_form(project_id, xml_form_id), instance_id)
    xml = records.read_xml(get_session(), found)
    get_session().commit()
    return Response(xml, content_type="application/xml")


@bp.get(f"{_ONE}/attachments")
@roles_required(*READERS)
def submission_attachments(project_id: int, xml_form_id: str, instance_id: str):
    """List the files a submission expects and whether each arrived.

    :raise 404: no such form or submission.
    """
    found = _submission(get_form(project_id, xml_form_id), instance_id)
    return jsonify(records.list_files(get_session(), found))


@bp.get(f"{_ONE}/attachments/<name>")
@roles_required(*READERS)
def submission_attachment(project_id: int, xml_form_id: str, instance_id: str, name: str):
    """Download one submission file (audited).

    :raise 403: a file of a sensitive question, for a caller without identity access.
    :raise 404: no such submission, or the file has not arrived.
    """
    found = _submission(get_form(project_id, xml_form_id), instance_id)
    try:
        attachment = records.read_file(get_session(), found, name)
    except records.FileRefused:
        refuse(IDENTITIES_HIDDEN, "This file belongs to a sensitive question; your role does not show identities.")
    if attachment is None:
        abort(404, "That file has not been received.")
    blob = attachment.blob
    get_session().commit()
    return send_blob(blob.sha256, blob.size, mimetype=blob.content_type, download_name=attachment.name, etag=blob.md5)


@bp.delete(_ONE)
@roles_required("admin")
def delete_submission(project_id: int, xml_form_id: str, instance_id: str):
    """Delete a submission: hidden from reads, and its instanceID refused from then on (409).

    :raise 404: no such form or submission.
    """
    session = get_session()
    begin_write(session)
    found = _submission(get_form(project_id, xml_form_id), instance_id)
    found.deleted_at = utcnow()
    session.flush()
    rebuild_case(session, project_id, found.case_code)  # the case register forgets the deleted record
    audit.record(session, "submission.delete", f"submission:{found.id}")
    session.commit()
    return jsonify({"success": True})


@bp.patch(_ONE)
@roles_required(*REVIEWERS)
@accepts(ReviewSchema)
def review_submission(project_id: int, xml_form_id: str, instance_id: str):
    """Set a record's review state (audited with the old and new state) and return the record.

    :raise 403: a role that does not review records.  :raise 404: no such form or submission.
    :raise 422: not one of Central's review states.
    """
    state = ReviewSchema().load(json_body())["reviewState"]
    session = get_session()
    begin_write(session)
    found = _submission(get_form(project_id, xml_form_id), instance_id)
    body = records.review_record(session, found, state)
    session.commit()
    return jsonify(body)


@bp.get(f"{_ONE}/comments")
@roles_required(*READERS)
def submission_comments(project_id: int, xml_form_id: str, instance_id: str):
    """List a record's comments, newest first; their text is redacted for roles that do not see identities.

    :raise 404: no such form or submission.
    """
    found = _submission(get_form(project_id, xml_form_id), instance_id)
    session = get_session()
    body = records.list_comments(session, found)
    session.commit()
    return jsonify(body)


@bp.post(f"{_ONE}/comments")
@roles_required(*REVIEWERS)
@accepts(CommentSchema)
def create_submission_comment(project_id: int, xml_form_id: str, instance_id: str):
    """Add a comment to a record (audited without its text) and return it.

    :raise 403: a role that does not review records.  :raise 404: no such form or submission.
    :raise 422: an empty body, or one longer than MAX_COMMENT_CHARS.
    """
    text = CommentSchema().load(json_body())["body"]
    session = get_session()
    begin_write(session)
    found = _submission(get_form(project_id, xml_form_id), instance_id)
    body = records.comment_on(session, found, text)
    session.commit()
    return jsonify(body)


@bp.get(f"{_ONE}/versions")
@roles_required(*READERS)
def submission_versions(project_id: int, xml_form_id: str, instance_id: str):
    """List every version of a submission, newest first, each with its data (audited).

    :raise 404: no such form or submission.
    """
    found = _submission(get_form(project_id, xml_form_id), instance_id)
    body = records.read_versions(get_session(), found)
    get_session().commit()
    return jsonify(body)


@bp.get(f"{_ONE}/versions/<version_id>")
@roles_required(*READERS)
def submission_version(project_id: int, xml_form_id: str, instance_id: str, version_id: str):
    """Return one version of a submission with its data (audited).

    :raise 404: no such form, submission or version.
    """
    found = _submission(get_form(project_id, xml_form_id), instance_id)
    body = records.read_record(get_session(), found, _version(found, version_id))
    get_session().commit()
    return jsonify(body)


@bp.get(f"{_ONE}/versions/<version_id>.xml")
@roles_required(*READERS)
def submission_version_xml(project_id: int, xml_form_id: str, instance_id: str, version_id: str):
    """Return one version's raw XML exactly as received (audited).

    :raise 404: no such form, submission or version.
    """
    found = _submission(get_form(project_id, xml_form_id), instance_id)
    xml = records.read_xml(get_session(), found, _version(found, version_id))
    get_session().commit()
    return Response(xml, content_type="application/xml")
