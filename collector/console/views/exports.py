"""Exports of a project's records: choose a form, a format, the labels' language and a date range, then download
through the same export services as the API (scope, redaction, audit), built in the background where Redis is
configured."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date

from flask import Response, abort, current_app, g, redirect, render_template, request, stream_with_context, url_for
from sqlalchemy import select

from collector import export_jobs
from collector.console import web
from collector.console.frame import bp, console_project, needs, refuse
from collector.console.views.forms import _title_in
from collector.console.web import _
from collector.db import get_session
from collector.downloads import export_response
from ingest.audit import parse_moment
from ingest.exports.formats import FORMATS
from ingest.exports.walk import Filters
from ingest.models import Form, FormVersion
from ingest.publishing.choices import LANGUAGES
from ingest.publishing.versions import current_version
from ingest.stats.ctdc import csv_bytes
from ingest.stats.service import export_ctdc

logger = logging.getLogger(__name__)

#: The formats offered, in the order shown; CTDC is the case register's, for callers who may read statistics.
FORMAT_CHOICES = ("csv", "xlsx", "geojson", "ctdc")
#: The formats whose choice answers can be written as labels in a language.
LABELLED = ("csv", "xlsx")
#: A job id as RQ makes them (a UUID); anything else is no job.
_JOB_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True)
class Choice:
    """What the user chose on the page, checked."""

    form: Form | None
    fmt: str
    lang: str | None
    start: date | None
    end: date | None
    bom: bool

    def filters(self) -> Filters:
        """Return the records' filters: submitted on or after `start`, up to the end of `end` (as the API's)."""
        return Filters(
            start=parse_moment(self.start.isoformat()) if self.start else None,
            end=parse_moment(self.end.isoformat(), end=True) if self.end else None,
        )


def _forms(project_id: int) -> list[tuple[Form, str]]:
    """Return the project's forms that have a published version, each with its title in the page language."""
    db = get_session()
    published = select(FormVersion.form_id).where(FormVersion.published_at.is_not(None))
    forms = db.scalars(
        select(Form).where(Form.project_id == project_id, Form.id.in_(published)).order_by(Form.xml_form_id)
    )
    out = []
    for form in forms:
        version = current_version(db, form)
        title = _title_in(version.title, web.page_language()) if version is not None else form.xml_form_id
        out.append((form, title))
    return out


def _formats() -> tuple[str, ...]:
    """Return the formats this user may choose."""
    return tuple(f for f in FORMAT_CHOICES if f != "ctdc" or g.actor.caller.may("stats"))


def _day(name: str) -> date | None:
    """Read a date field (YYYY-MM-DD, as a date input sends it); None when empty.

    :raise 400: anything else.
    """
    text = request.form.get(name, "").strip()
    if not text:
        return None
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        refuse(400, _("export_bad_date"))
    try:
        return date.fromisoformat(text)
    except ValueError:
        refuse(400, _("export_bad_date"))
        raise  # refuse() never returns


def _choice(project_id: int) -> Choice:
    """Read and check the page's form.

    :raise 400: a format not offered, a form that is no published form of the project, a language the forms
        do not carry, a malformed date, or a range that ends before it starts.
    """
    fmt = request.form.get("format", "")
    if fmt not in _formats():
        refuse(400, _("export_bad_format"))
    lang = request.form.get("lang", "") or None
    if lang is not None and lang not in LANGUAGES:
        refuse(400, _("export_bad_language"))
    start, end = _day("start"), _day("end")
    if start and end and end < start:
        refuse(400, _("export_bad_range"))
    bom = request.form.get("bom") == "true"
    if fmt == "ctdc":
        return Choice(None, fmt, None, None, None, bom)
    wanted = request.form.get("form", "")
    form = next((f for f, _title in _forms(project_id) if f.xml_form_id == wanted), None)
    if form is None:
        refuse(400, _("export_bad_form"))
    return Choice(form, fmt, lang if fmt in LABELLED else None, start, end, bom)


@bp.get("/projects/<int:project_id>/exports")
@needs("records")
def exports(project_id: int):
    """Show the choice of form, format, language and date range for an export of the project's records.

    :raise 403: a role that reads no records.  :raise 404: no such project.
    """
    project = console_project(project_id)
    return render_template(
        "console/exports/choose.html",
        project=project,
        forms=_forms(project_id),
        formats=_formats(),
        languages=LANGUAGES,
        background=export_jobs.available(current_app),
    )


@bp.post("/projects/<int:project_id>/exports")
@needs("records")
def exports_start(project_id: int):
    """Export what the user chose: a background job where Redis is configured, else the file directly.

    :raise 400: a bad choice (`_choice`) or no CSRF token.  :raise 403: a role that reads no records.
    :raise 404: no such project.
    """
    console_project(project_id)
    choice = _choice(project_id)
    if choice.fmt == "ctdc":
        return _ctdc(project_id, choice.bom)
    assert choice.form is not None
    if export_jobs.available(current_app):
        filters = choice.filters()
        order = export_jobs.ExportOrder(
            user_id=g.actor.user.id,
            form_id=choice.form.id,
            fmt=choice.fmt,
            lang=choice.lang,
            start=filters.start.isoformat() if filters.start else None,
            end=filters.end.isoformat() if filters.end else None,
            bom=choice.bom,
            address=request.remote_addr,
        )
        try:
            job_id = export_jobs.start(current_app, order, choice.form.xml_form_id + FORMATS[choice.fmt].suffix)
        except Exception as exc:  # a queue that is down must not cost the user their file: send it directly
            logger.warning("export job not queued, sent directly: %s", type(exc).__name__)
        else:
            return redirect(url_for("console.exports_job", project_id=project_id, job_id=job_id), 303)
    return export_response(choice.form, choice.fmt, choice.filters(), lang=choice.lang, bom=choice.bom)


def _ctdc(project_id: int, bom: bool) -> Response:
    """Send the case register as CTDC's data set, k-anonymised at STATS_THRESHOLD (the API's default)."""
    result = export_ctdc(get_session(), project_id, int(current_app.config["STATS_THRESHOLD"]))
    get_session().commit()
    return Response(
        csv_bytes(result.rows, bom=bom),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="ctdc-project-{project_id}.csv"'},
    )


def _job(job_id: str) -> export_jobs.ExportState:
    """:raise 404: no such job of this user (another user's job is no job), or no background jobs here."""
    if not export_jobs.available(current_app) or not _JOB_ID.fullmatch(job_id):
        abort(404)
    found = export_jobs.state(current_app, job_id, g.actor.user.id)
    if found is None:
        refuse(404, _("export_no_job"))
    assert found is not None
    return found


@bp.get("/projects/<int:project_id>/exports/jobs/<job_id>")
@needs("records")
def exports_job(project_id: int, job_id: str):
    """Show how far an export job has gone, and its download once finished (static/exports.js polls this page).

    :raise 404: no such project, or no such job of this user.
    """
    project = console_project(project_id)
    job = _job(job_id)
    return render_template("console/exports/job.html", project=project, job=job, job_id=job_id)


@bp.get("/projects/<int:project_id>/exports/jobs/<job_id>/file")
@needs("records")
def exports_file(project_id: int, job_id: str):
    """Send a finished export job's file to the user who asked for it.

    :raise 404: no such project, no such job of this user, or not finished (or expired).
    """
    console_project(project_id)
    job = _job(job_id)
    if job.state != "finished" or job.name is None:
        refuse(404, _("export_not_ready"))
    logger.info("sent export job %s", job_id)
    return Response(
        stream_with_context(export_jobs.file_pieces(current_app, job_id)),
        mimetype=job.mimetype,
        headers={"Content-Disposition": f'attachment; filename="{job.name}"'},
    )
