"""The forms of a project: each form's version and content hash, with handbook links for trainers; and one
form's page for trainers: its draft (problems, media, test QR code, what changed), state and version history.

The uploads and changes the form page posts are in collector.console.views.form_drafts.
"""

from __future__ import annotations

import functools
import logging

from flask import Response, abort, g, render_template, request, url_for
from sqlalchemy import select

from collector.console import web
from collector.console.frame import bp, needs, refuse, signed_in
from collector.console.views.form_problems import problem_text
from collector.console.web import _
from collector.db import get_session, get_store
from collector.devices import draft_test_url
from forms.compiler import Problem
from forms.handbook.render import LANGUAGE_CHOICES, handbook_pdf
from ingest.cases.tasks import PENDING_MEDIA
from ingest.errors import IngestError
from ingest.models import Form, Project
from ingest.publishing.diff import compare_forms
from ingest.publishing.handbooks import form_source, handbook_versions
from ingest.publishing.versions import FORM_STATES, current_draft, current_version, missing_media, published_versions
from ingest.queries import submissions_of

logger = logging.getLogger(__name__)


def _title_in(title: str, lang: str) -> str:
    """Return a form title in the page language: the ministry's titles read "<Lao> / <English>"."""
    lao, sep, english = title.partition(" / ")
    if not sep:
        return title
    return (lao if lang == "lo" else english).strip() or title


def _form_row(form: Form, lang: str, can_print: bool) -> dict:
    """Describe one form for the table: its current version, the hash formList advertises, and print links."""
    db = get_session()
    version = current_version(db, form)
    row = {
        "form_id": form.xml_form_id,
        "state": form.state,
        "version": None,
        "links": [],
        "draft": None,
        "href": url_for("console.forms_detail", project_id=form.project_id, xml_form_id=form.xml_form_id),
    }
    if version is not None:
        row.update(
            title=_title_in(version.title, lang),
            version=version.version,
            hash=f"md5:{version.xml_md5}",
            published=version.published_at.strftime("%Y-%m-%d %H:%M UTC"),
            per_tablet=any(a.name == PENDING_MEDIA for a in version.attachments),
        )
        if form.state == "open" and g.actor.caller.may("submit"):
            row["fill"] = url_for("console.fill", project_id=form.project_id, xml_form_id=form.xml_form_id)
    else:
        row["title"] = form.xml_form_id
    if not can_print:
        return row
    link = functools.partial(url_for, "console.handbook", project_id=form.project_id, xml_form_id=form.xml_form_id)
    if version is not None and version.xlsx is not None:
        row["links"] = [
            (_("handbook_lo"), link(lang="lo")),
            (_("handbook_en"), link(lang="en")),
            (_("handbook_both"), link(lang="both")),
            (_("paper_form"), link(lang=lang, paper="true")),
        ]
    draft = current_draft(db, form)
    if draft is not None and draft.xlsx is not None:
        row["draft"] = (_("draft_handbook", version=draft.version), link(lang="both", draft="true"))
    return row


@bp.get("/projects/<int:project_id>/forms")
@signed_in
def forms(project_id: int):
    """List a project's forms with their published version and content hash, and handbook links for trainers.

    Forms are the ministry's national guidelines: every staff role sees every form, as on the API; province
    scope applies to the records, which this page does not show.

    :raise 404: no such project.
    """
    db = get_session()
    project = db.get(Project, project_id)
    if project is None:
        abort(404)
    can_print = g.actor.caller.may("forms")
    rows = [
        _form_row(f, web.page_language(), can_print)
        for f in db.scalars(select(Form).where(Form.project_id == project_id).order_by(Form.xml_form_id))
    ]
    return render_template("console/forms/list.html", project=project, rows=rows, can_print=can_print)


@bp.get("/projects/<int:project_id>/forms/<xml_form_id>/handbook.pdf")
@signed_in
def handbook(project_id: int, xml_form_id: str):
    """Print a form's handbook (?lang=lo|en|both, ?paper=true, ?draft=true) with the API's handbook builder.

    :raise 400: ?lang= is not lo, en or both.  :raise 403: not a trainer or administrator.
    :raise 404: no such form, or no such version.
    """
    if not g.actor.caller.may("forms"):
        abort(403)
    lang = request.args.get("lang", "both")
    if lang not in LANGUAGE_CHOICES:
        g.bad_language = True
        abort(400)
    db = get_session()
    if db.scalar(select(Form.id).where(Form.project_id == project_id, Form.xml_form_id == xml_form_id)) is None:
        abort(404)
    draft, paper = (request.args.get(n, "").lower() in ("1", "true", "yes") for n in ("draft", "paper"))
    try:
        version = handbook_versions(db, project_id, [xml_form_id], draft=draft)[0]
    except IngestError as exc:
        if exc.status == 404:
            refuse(404, _("no_such_version"))
        raise
    pdf = handbook_pdf([form_source(version, get_store())], lang=lang, paper=paper)
    kind = "paper" if paper else "handbook"
    name = f"{xml_form_id}-{version.version}{'-draft' if draft else ''}-{kind}-{lang}.pdf"
    logger.info("printed the %s of form %s version %s from the console", kind, xml_form_id, version.version)
    return Response(pdf, content_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}"'})


def find_form(project_id: int, xml_form_id: str) -> Form:
    """Return a form of the project.

    :raise 404: no such project or form (a page saying so).
    """
    form = get_session().scalar(select(Form).where(Form.project_id == project_id, Form.xml_form_id == xml_form_id))
    if form is None:
        refuse(404, _("no_such_form", form_id=xml_form_id[:64]))
    return form


def form_page(form: Form, *, status: int = 200, problems: list | None = None):
    """Render a form's page: state, published version, draft with its media, test QR code and changes, history.

    `problems` (with `status`) shows why an upload of a new version was refused.
    """
    db = get_session()
    lang = web.page_language()
    published = current_version(db, form)
    draft = current_draft(db, form)
    diff = None
    if draft is not None and published is not None:
        diff = compare_forms(published.fields, published.xml, draft.fields, draft.xml, lang)
    tests = len(db.scalars(submissions_of(form, drafts=True)).all()) if draft is not None else 0
    return render_template(
        "console/forms/detail.html",
        form=form,
        row=_form_row(form, lang, can_print=True),
        published=published,
        draft=draft,
        draft_problems=[Problem(**w) for w in draft.warnings] if draft is not None else [],
        missing=missing_media(draft) if draft is not None else [],
        test_url=draft_test_url(draft) if draft is not None else None,
        tests=tests,
        diff=diff,
        history=published_versions(db, form),
        states=FORM_STATES,
        problems=problems,
        problem_text=problem_text,
    ), status


@bp.get("/projects/<int:project_id>/forms/<xml_form_id>")
@needs("forms")
def forms_detail(project_id: int, xml_form_id: str):
    """Show a form to a trainer: its state, its draft (problems, missing media, test QR code and link, what
    changed against the published version, publish), a new version's upload and the version history.

    :raise 403: not a trainer or administrator.  :raise 404: no such form.
    """
    return form_page(find_form(project_id, xml_form_id))
