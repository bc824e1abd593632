"""Submissions: the forms with the number of records the user may see, a form's records in a filtered table,
and one record with its answers, files, versions, review state, comments and interview log.

Everything is read and written through ingest.records.service, as the JSON API does: the caller's province
scope, the redaction of sensitive answers and the audit of every identifiable read happen there, once.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from flask import g, redirect, render_template, request, send_file, url_for
from sqlalchemy import select

from collector.console import web
from collector.console.frame import bp, console_project, needs, refuse
from collector.console.views import record_page, record_table
from collector.console.web import _
from collector.db import get_session, get_store
from ingest.db import begin_write
from ingest.exports.walk import union_fields
from ingest.models import Form, FormVersion, Submission
from ingest.publishing.choices import question_label, version_choice_labels
from ingest.publishing.versions import current_version
from ingest.records import service
from ingest.records.describe import current_of
from ingest.records.interview import AUDIT_FILE, MAX_AUDIT_BYTES, AuditUnreadable, read_interview
from ingest.records.review import MAX_COMMENT_CHARS, REVIEW_STATES, REVIEWERS

logger = logging.getLogger(__name__)

_FORM = "/projects/<int:project_id>/forms/<xml_form_id>/submissions"
_ONE = _FORM + "/<path:instance_id>"


def _title_in(title: str, lang: str) -> str:
    """Return a form title in the page language: the ministry's titles read "<Lao> / <English>"."""
    lao, sep, english = title.partition(" / ")
    return ((lao if lang == "lo" else english).strip() or title) if sep else title


def _short(label: str, most: int = 60) -> str:
    """Cut a long question label for a list of choices."""
    return label if len(label) <= most else label[: most - 1] + "…"


def _form(project_id: int, xml_form_id: str) -> Form:
    form = get_session().scalar(select(Form).where(Form.project_id == project_id, Form.xml_form_id == xml_form_id))
    if form is None:
        refuse(404, _("rec_no_such_form"))
    return form


def _record(form: Form, instance_id: str) -> Submission:
    """Find a record in the caller's scope; one outside it is not found, as one that does not exist."""
    found = service.find_record(get_session(), form, instance_id)
    if found is None:
        refuse(404, _("rec_no_such_record"))
    return found


def _title_of(form: Form, version: FormVersion | None, lang: str) -> str:
    """Return a form's title in `lang` from its current version (its form ID when none is published)."""
    return _title_in(version.title, lang) if version is not None else form.xml_form_id


def _form_title(form: Form, lang: str) -> str:
    return _title_of(form, current_version(get_session(), form), lang)


@bp.get("/projects/<int:project_id>/submissions")
@needs("records")
def records(project_id: int):
    """List a project's forms with the number of records of each the user may see (counts only: not audited).

    :raise 403: a role that reads no records.  :raise 404: no such project.
    """
    project = console_project(project_id, "rec_no_such_project")
    db, lang = get_session(), web.page_language()
    rows = [
        {"form": form, "title": _form_title(form, lang), "count": service.count_records(db, form)}
        for form in db.scalars(select(Form).where(Form.project_id == project_id).order_by(Form.xml_form_id))
    ]
    return render_template("console/records/index.html", project=project, rows=rows)


@bp.get(_FORM)
@needs("records")
def records_form(project_id: int, xml_form_id: str):
    """Show a form's records newest first, one keyset page at a time, filtered and with the chosen columns.

    :raise 400: a filter or page key that is not one (record_table.read_table says which).  :raise 403: a
        role that reads no records, or an answer filter on a sensitive question without identity access.
    :raise 404: no such project or form.
    """
    project = console_project(project_id, "rec_no_such_project")
    form = _form(project_id, xml_form_id)
    db, lang = get_session(), web.page_language()
    fields = union_fields(db, form)
    table = record_table.read_table(db, fields, lang)
    body, next_key = service.list_newest(db, form, table.filters, limit=record_table.PAGE_SIZE, before=table.key)
    db.commit()
    version = current_version(db, form)
    labels = version_choice_labels(db, get_store(), version.id, lang) if version is not None else {}
    answers = record_page.Answers(fields, labels, lang, service.identities_hidden(db))
    rows = []
    for item in body:
        redacted = set(item["redacted"])
        rows.append(
            {
                "item": item,
                "cells": [answers.cell(c, item["data"], redacted) for c in table.columns],
                "href": url_for(
                    "console.records_record",
                    project_id=project_id,
                    xml_form_id=xml_form_id,
                    instance_id=item["instanceId"],
                ),
            }
        )
    keep = [(k, v) for k, v in request.args.items(multi=True) if k not in ("key", "lang") and v]
    next_href = f"?{urlencode([*keep, ('key', record_table.encode_key(next_key))])}" if next_key else None
    first_href = f"?{urlencode(keep)}" if table.key is not None else None
    provinces, districts = record_table.places(lang)
    mine = g.actor.caller.provinces
    return render_template(
        "console/records/table.html",
        project=project,
        form=form,
        title=_title_of(form, version, lang),
        table=table,
        rows=rows,
        choices=[(record_table.rel(f), _short(question_label(f, lang))) for f in record_table.columns_of(fields)],
        filterable=[
            (record_table.rel(f), _short(question_label(f, lang)))
            for f in record_table.filterable_of(fields)
            if service.may_filter_on(db, f)
        ],
        provinces={c: n for c, n in provinces.items() if mine is None or c in mine},
        districts=(
            {c: n for c, (p, n) in districts.items() if mine is None or p in mine}
            if record_table.has_districts(fields)
            else None
        ),
        states=REVIEW_STATES,
        next_href=next_href,
        first_href=first_href,
        labels={record_table.rel(c): question_label(c, lang) for c in table.columns},
    )


@bp.get(_ONE)
@needs("records")
def records_record(project_id: int, xml_form_id: str, instance_id: str):
    """Show one record: every answer under its label, its files, every version with what changed, the
    review state, the comments and the interview's audit log.

    Reads every version (audited once, `submission.read_versions`), the comments (`comment.read`) and the
    audit log file (`attachment.read`), each through the service that audits it.

    :raise 403: a role that reads no records.  :raise 404: no such form, or no such record in the caller's
        scope (another province's record is not found, as one that does not exist).
    """
    project = console_project(project_id, "rec_no_such_project")
    form = _form(project_id, xml_form_id)
    found = _record(form, instance_id)
    db, lang = get_session(), web.page_language()
    hide = service.identities_hidden(db)
    versions = service.read_versions(db, found)
    comments = service.list_comments(db, found)
    interview, interview_error = _interview(found)
    db.commit()
    by_instance = {v.instance_id: v for v in found.versions}
    shown = []
    for body in versions:
        version = by_instance[body["instanceId"]]
        fields = version.form_version.fields if version.form_version else []
        labels = version_choice_labels(db, get_store(), version.form_version_id, lang) if version.form_version else {}
        layout = record_page.Answers(fields, labels, lang, hide)
        shown.append({"body": body, "layout": layout, "flat": layout.flat(body["data"], body["redacted"])})
    for newer, older in zip(shown, shown[1:], strict=False):
        newer["changes"] = record_page.changes(older["flat"], newer["flat"])
    current = shown[0]
    files = {f["name"]: f["exists"] for f in service.list_files(db, found)}
    fields = current_of(found).form_version.fields if current_of(found).form_version else []
    return render_template(
        "console/records/record.html",
        project=project,
        form=form,
        title=_form_title(form, lang),
        record=found,
        lines=current["layout"].lines(current["body"]["data"], current["body"]["redacted"]),
        versions=shown,
        comments=comments,
        files=files,
        hide=hide,
        may_review=g.actor.caller.role in REVIEWERS,
        states=REVIEW_STATES,
        interview=interview,
        interview_lines=record_page.interview_lines(interview, fields, lang) if interview else [],
        interview_error=interview_error,
        done=request.args.get("done") if request.args.get("done") in ("review", "comment") else None,
        max_comment=MAX_COMMENT_CHARS,
        province_names=record_table.places(lang)[0],
    )


def _interview(found: Submission):
    """Read the record's Collect audit log, if it sent one (read through the service: audited)."""
    if not any(a.name == AUDIT_FILE and a.blob_id is not None for a in current_of(found).attachments):
        return None, False
    try:
        attachment = service.read_file(get_session(), found, AUDIT_FILE)
    except service.FileRefused:
        return None, False
    if attachment is None:
        return None, False
    with get_store().open(attachment.blob.sha256) as handle:
        data = handle.read(MAX_AUDIT_BYTES + 1)
    try:
        return read_interview(data), False
    except AuditUnreadable:
        logger.info("an audit log of form %s could not be read", found.form_id)
        return None, True


@bp.get(_ONE + "/files/<name>")
@needs("records")
def records_file(project_id: int, xml_form_id: str, instance_id: str, name: str):
    """Send one file of a record (a photo is shown in the page; any other file is downloaded), audited by the
    service as the API's download is.

    :raise 403: a file of a sensitive question, for a role that does not see identities.
    :raise 404: no such record in the caller's scope, or the file has not arrived.
    """
    found = _record(_form(project_id, xml_form_id), instance_id)
    try:
        attachment = service.read_file(get_session(), found, name)
    except service.FileRefused:
        refuse(403, _("rec_file_hidden"))
    if attachment is None:
        refuse(404, _("rec_no_such_file"))
    blob = attachment.blob
    get_session().commit()
    inline = blob.content_type in record_page.INLINE_TYPES
    response = send_file(
        get_store().path(blob.sha256),
        mimetype=blob.content_type if inline else "application/octet-stream",
        download_name=attachment.name,
        as_attachment=not inline,
        etag=blob.md5,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _reviewer_record(project_id: int, xml_form_id: str, instance_id: str) -> Submission:
    """Find the record a review or comment is about, for a role that reviews records.

    :raise 403: an analyst (reads records without identities, judges none).  :raise 404: not found.
    """
    if g.actor.caller.role not in REVIEWERS:
        refuse(403, _("rec_not_reviewer"))
    return _record(_form(project_id, xml_form_id), instance_id)


def _back(project_id: int, xml_form_id: str, instance_id: str, done: str):
    url = url_for(
        "console.records_record", project_id=project_id, xml_form_id=xml_form_id, instance_id=instance_id, done=done
    )
    return redirect(url, 303)


@bp.post(_ONE + "/review")
@needs("records")
def records_review(project_id: int, xml_form_id: str, instance_id: str):
    """Set a record's review state (audited by the service with the old and new state), then show the record.

    :raise 400: not one of the review states, or no CSRF token.  :raise 403: not a reviewer.  :raise 404: no
        such record in the caller's scope.
    """
    state = request.form.get("state", "")
    if state not in REVIEW_STATES:
        refuse(400, _("rec_bad_state"))
    db = get_session()
    begin_write(db)  # the record is read in the transaction that changes it
    found = _reviewer_record(project_id, xml_form_id, instance_id)
    service.review_record(db, found, state)
    db.commit()
    return _back(project_id, xml_form_id, instance_id, "review")


@bp.post(_ONE + "/comments")
@needs("records")
def records_comment(project_id: int, xml_form_id: str, instance_id: str):
    """Add a comment to a record (audited by the service without its text), then show the record.

    :raise 400: an empty comment, one longer than MAX_COMMENT_CHARS or holding a NUL, or no CSRF token.
    :raise 403: not a reviewer.  :raise 404: no such record in the caller's scope.
    """
    text = request.form.get("body", "")
    if not text.strip() or len(text) > MAX_COMMENT_CHARS or "\x00" in text:
        refuse(400, _("rec_bad_comment", most=MAX_COMMENT_CHARS))
    db = get_session()
    begin_write(db)
    found = _reviewer_record(project_id, xml_form_id, instance_id)
    service.comment_on(db, found, text)
    db.commit()
    return _back(project_id, xml_form_id, instance_id, "comment")
