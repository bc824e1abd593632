"""The console's pages: sign-in and sign-out, the project list, a project's forms, and their handbooks."""

from __future__ import annotations

import functools
import logging
from datetime import timedelta

from flask import Blueprint, Response, abort, current_app, g, redirect, render_template, request, session, url_for
from sqlalchemy import select
from werkzeug.exceptions import HTTPException
from werkzeug.routing import PathConverter

from collector.auth import require_https_for_passwords, sign_in
from collector.console import web
from collector.console.messages import translate
from collector.console.web import _
from collector.db import get_session, get_store
from collector.errors import DATABASE_UNAVAILABLE, database_unavailable, with_exception_headers
from forms.handbook.render import LANGUAGE_CHOICES, handbook_pdf
from ingest.accounts import admin as accounts_admin
from ingest.accounts.users import close_session, open_session
from ingest.cases.tasks import PENDING_MEDIA
from ingest.errors import IngestError
from ingest.models import Form, Project
from ingest.publishing.handbooks import form_source, handbook_versions
from ingest.publishing.versions import current_draft, current_version

logger = logging.getLogger(__name__)

bp = Blueprint("console", __name__, template_folder="templates", static_folder="static")
bp.before_request(web.remember_language)
bp.before_request(web.check_csrf)

#: Longest email and password the sign-in form takes (as POST /v1/sessions).
MAX_EMAIL, MAX_PASSWORD = 320, 1024


@bp.context_processor
def page_context() -> dict:
    """Give every template the page language, the switch to the other one, the user and the CSRF token."""
    lang = web.page_language()
    other = "en" if lang == "lo" else "lo"
    if request.url_rule is not None and request.endpoint not in ("console.handbook", "console.logout"):
        # The same page in the other language (a sign-in page keeps where it leads to).
        keep = {k: v for k, v in request.args.items() if k == "next"}
        switch = url_for(request.endpoint, **(request.view_args or {}), **keep, lang=other)
    else:
        switch = url_for("console.index", lang=other)
    return {
        "_": _,
        "lang": lang,
        "other_lang": other,
        "switch_url": switch,
        "other_language_name": translate("language_name", other),
        "csrf_token": web.csrf_token,
        "csrf_field": web.CSRF_FIELD,
        "user": g.actor.user if "actor" in g else None,
    }


@bp.after_request
def page_headers(response: Response) -> Response:
    """Give pages the console's Content-Security-Policy (the PDFs keep the app's, which allows nothing)."""
    if response.mimetype == "text/html":
        response.headers["Content-Security-Policy"] = web.CONSOLE_CSP
    return response


def signed_in(view):
    """Send a signed-out visitor (or a device, which has no account) to the sign-in page, then back."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if web.signed_in_user() is None:
            return redirect(url_for("console.login", next=request.path))
        return view(*args, **kwargs)

    return wrapped


def _safe_next(target: str | None) -> str | None:
    """Return `target` if it is a page of this console, else None (no redirect to another site)."""
    prefix = url_for("console.index")
    # Control characters would break the Location header; "//" and "\\" could name another host.
    if target and target.startswith(prefix) and target.isprintable() and "//" not in target and "\\" not in target:
        return target
    return None


def _login_page(message: str, status: int, email: str = ""):
    return render_template(
        "console/login.html",
        message=message,
        email=email if email.isprintable() else "",
        next=_safe_next(request.values.get("next")),
    ), status


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the sign-in form; on POST, check the email and password with the API's limits and open a session.

    :raise 400: no email or password.  :raise 401: wrong email or password.
    :raise 403: a password over plain HTTP from another machine.  :raise 429: too many failed sign-ins.
    """
    if request.method == "GET":
        if web.signed_in_user() is not None:
            return redirect(_safe_next(request.args.get("next")) or _home())
        notice = _("signed_out") if request.args.get("out") else ""
        notice = notice or (_("please_sign_in") if request.args.get("next") else "")
        return render_template(
            "console/login.html", message="", notice=notice, email="", next=_safe_next(request.args.get("next"))
        )
    email, password = request.form.get("email", "").strip(), request.form.get("password", "")
    try:
        require_https_for_passwords()
    except HTTPException:
        return _login_page(_("https_only"), 403, email)
    # A NUL reaches no stored email and PostgreSQL refuses it in a query: treated as a form left empty.
    if (
        not email
        or not password
        or len(email) > MAX_EMAIL
        or len(password) > MAX_PASSWORD
        or "\x00" in email + password
    ):
        return _login_page(_("missing_credentials"), 400, email)
    try:
        user = sign_in(email, password)  # counts and audits failures, answers 429 past the limit
    except HTTPException as exc:
        if exc.code == 429:
            return _login_page(_("too_many", minutes=max(1, round(g.get("retry_after", 60) / 60))), 429, email)
        return _login_page(_("wrong_password"), 401, email)
    db = get_session()
    # A console session id, not a bearer token: the cookie that carries it opens no door of the API.
    token, _row = open_session(db, user, timedelta(hours=int(current_app.config["SESSION_HOURS"])), kind="console")
    accounts_admin.signed_in(db, user, via="console")
    db.commit()
    web.start_session(token)
    return redirect(_safe_next(request.form.get("next")) or _home())


@bp.post("/logout")
def logout():
    """Sign out: revoke the console session the cookie names, and forget it."""
    user = web.signed_in_user()
    token = session.get(web.TOKEN)
    if user is not None and token:
        db = get_session()
        close_session(db, token)
        accounts_admin.signed_out(get_session(), user, via="console")
        db.commit()
    web.end_session()
    return redirect(url_for("console.login", out=1))


def _home() -> str:
    """Return where a signed-in user starts: the forms of the only project, else the list of projects."""
    ids = get_session().scalars(select(Project.id).order_by(Project.id).limit(2)).all()
    return url_for("console.forms", project_id=ids[0]) if len(ids) == 1 else url_for("console.index")


@bp.get("/")
@signed_in
def index():
    """Show the projects, or go straight to the forms when there is only one."""
    projects = list(get_session().scalars(select(Project).order_by(Project.id)))
    if len(projects) == 1:
        return redirect(_home())
    return render_template("console/projects.html", projects=projects)


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
    row = {"form_id": form.xml_form_id, "state": form.state, "version": None, "links": [], "draft": None}
    if version is not None:
        row.update(
            title=_title_in(version.title, lang),
            version=version.version,
            hash=f"md5:{version.xml_md5}",
            published=version.published_at.strftime("%Y-%m-%d %H:%M UTC"),
            per_tablet=any(a.name == PENDING_MEDIA for a in version.attachments),
        )
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
    return render_template("console/forms.html", project=project, rows=rows, can_print=can_print)


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
    version = handbook_versions(db, project_id, [xml_form_id], draft=draft)[0]
    pdf = handbook_pdf([form_source(version, get_store())], lang=lang, paper=paper)
    kind = "paper" if paper else "handbook"
    name = f"{xml_form_id}-{version.version}{'-draft' if draft else ''}-{kind}-{lang}.pdf"
    logger.info("printed the %s of form %s version %s from the console", kind, xml_form_id, version.version)
    return Response(pdf, content_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}"'})


class AnyPathConverter(PathConverter):
    """Match any rest of a path, line breaks included (Werkzeug's `path` stops at one)."""

    regex = "[^/](?s:.)*?"


@bp.record_once
def _add_converter(state) -> None:
    state.app.url_map.converters["console_rest"] = AnyPathConverter


@bp.route("/", methods=["POST", "PUT", "PATCH", "DELETE"], defaults={"_rest": ""})
@bp.route("/<console_rest:_rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown(_rest: str):
    """Answer a path the console does not have, or a method a console page does not take, with a page.

    Without this route Flask would answer them before any console code runs, in the API's JSON.

    :raise 404: no such page.  :raise 405: the page takes other methods (named in Allow).
    """
    adapter = current_app.url_map.bind_to_environ(request.environ)
    allowed = []
    for method in ("GET", "POST"):
        try:
            endpoint, _args = adapter.match(method=method)
        except HTTPException:
            continue
        if endpoint != request.endpoint:
            allowed.append(method)
    if allowed:
        abort(405, valid_methods=allowed)
    abort(404)


def _error_page(status: int, message: str):
    return render_template("console/error.html", status=status, message=message), status


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException):
    """Answer the console's errors with a page in the page language (the API answers JSON)."""
    status = exc.code or 500
    if g.get("csrf_failed"):
        message = _("error_csrf")
    elif g.get("bad_language"):
        message = _("error_bad_language")
    elif status in (400, 403, 404, 405, 413, 500):
        message = _(f"error_{status}")
    else:
        message = _("error_other", status=status)
    return with_exception_headers(current_app.make_response(_error_page(status, message)), exc)


@bp.errorhandler(IngestError)
def ingest_error(exc: IngestError):
    """Answer a refusal of the ingest layer (no version to print) as a page."""
    return _error_page(exc.status, _("no_such_version") if exc.status == 404 else _("error_other", status=exc.status))


def database_error(exc: Exception):
    """Answer a database out of reach with a page asking to try again (503, Retry-After), as the API does."""
    return database_unavailable(exc, current_app.make_response(_error_page(503, _("error_503"))))


for _error in DATABASE_UNAVAILABLE:
    # The console's catch-all below would otherwise answer it first, as a 500.
    bp.register_error_handler(_error, database_error)


@bp.errorhandler(Exception)
def unexpected_error(exc: Exception):
    """Answer an unexpected error with a page that shows nothing of it."""
    # The type and place only, as the app's handler does: exception text may quote submitted data.
    logger.error(
        "unhandled %s on %s %s", type(exc).__name__, request.method, request.url_rule, exc_info=current_app.debug
    )
    return _error_page(500, _("error_500"))
