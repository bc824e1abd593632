"""What every console page shares: the blueprint, its hooks, the menu, the page context, access decorators and
the error pages.

Each area of the console (collector.console.views.*) adds its routes to `bp` and its strings to a module of
collector.console.messages. A page states the right it needs with `@needs(...)` (rights are ingest.access's
RIGHTS); the records it shows come from the ingest services, which scope, redact and audit for the caller the
session opened: the console adds no rule of its own.
"""

from __future__ import annotations

import functools
import logging
import re

from flask import Blueprint, Response, abort, current_app, g, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.exceptions import HTTPException
from werkzeug.routing import BuildError, PathConverter

from collector.console import web
from collector.console.messages import MESSAGES, translate
from collector.console.web import _
from collector.db import get_session
from collector.errors import DATABASE_UNAVAILABLE, database_unavailable, with_exception_headers
from forms import lao
from ingest.errors import IngestError
from ingest.models import Project

logger = logging.getLogger(__name__)

bp = Blueprint("console", __name__, template_folder="templates", static_folder="static")
bp.before_request(web.remember_language)
bp.before_request(web.check_csrf)

#: The menu: (endpoint, message key, right needed or None for every signed-in user). An entry whose page
#: is not there (its area not installed) is left out; an endpoint taking project_id gets the current project.
NAV: tuple[tuple[str, str, str | None], ...] = (
    ("console.dashboard", "nav_dashboard", "stats"),
    ("console.forms", "nav_forms", None),
    ("console.records", "nav_records", "records"),
    ("console.cases", "nav_cases", "records"),
    ("console.tasks", "nav_tasks", "records"),
    ("console.persons", "nav_persons", "identities"),
    ("console.exports", "nav_exports", "records"),
    ("console.fill_forms", "nav_fill", "submit"),
    ("console.devices", "nav_devices", "forms"),
    ("console.desks", "nav_desks", "admin"),
    ("console.users", "nav_users", "admin"),
    ("console.audit", "nav_audit", "admin"),
)


def current_project_id() -> int | None:
    """Return the project of this page (its project_id), else the first project."""
    asked = (request.view_args or {}).get("project_id")
    if asked is not None:
        return asked
    if "console_project" not in g:
        g.console_project = get_session().scalar(select(Project.id).order_by(Project.id).limit(1))
    return g.console_project


def console_project(project_id: int | None = None, missing: str = "error_404") -> Project:
    """Return the project `project_id` names (by default this page's, else the first).

    :raise 404: no such project; the page says `missing` (a message key).
    """
    project_id = current_project_id() if project_id is None else project_id
    project = get_session().get(Project, project_id) if project_id is not None else None
    if project is None:
        refuse(404, _(missing))
    return project


def menu() -> list[dict]:
    """Return the menu entries the signed-in user may open, each with its label, link and whether it is this page."""
    if "actor" not in g:
        return []
    caller = g.actor.caller
    entries = []
    for endpoint, key, right in NAV:
        if right is not None and not caller.may(right):
            continue
        try:
            href = url_for(endpoint)
        except BuildError:
            project = current_project_id()
            if project is None:
                continue
            try:
                href = url_for(endpoint, project_id=project)
            except BuildError:
                continue  # that area is not installed
        here = request.endpoint == endpoint or (request.endpoint or "").startswith(endpoint + "_")
        entries.append({"label": _(key), "href": href, "here": here})
    return entries


@bp.context_processor
def page_context() -> dict:
    """Give every template the page language, the switch to the other one, the user, the menu and the CSRF token."""
    lang = web.page_language()
    other = "en" if lang == "lo" else "lo"
    if request.url_rule is not None and request.endpoint not in ("console.handbook", "console.logout"):
        # The same page in the other language, its filters kept (a sign-in page keeps where it leads to).
        keep = {k: v for k, v in request.args.lists() if k != "lang"}  # a repeated filter keeps every value
        try:
            switch = url_for(request.endpoint, **(request.view_args or {}), **keep, lang=other)
        except BuildError:
            switch = url_for("console.index", lang=other)
    else:
        switch = url_for("console.index", lang=other)
    user = g.actor.user if "actor" in g else None
    return {
        "_": _,
        "lang": lang,
        "other_lang": other,
        "switch_url": switch,
        "other_language_name": translate("language_name", other),
        "csrf_token": web.csrf_token,
        "csrf_field": web.CSRF_FIELD,
        "user": user,
        "user_provinces": sorted(user.provinces) if user is not None and user.provinces else [],
        "menu": menu(),
    }


@bp.after_request
def page_headers(response: Response) -> Response:
    """Give pages the console's Content-Security-Policy (downloads keep the app's, which allows nothing), and
    mark where their Lao text may wrap: between words only (Lao has no spaces, and browsers would otherwise
    break inside a word)."""
    if response.mimetype == "text/html":
        response.headers["Content-Security-Policy"] = g.get("page_csp") or web.CONSOLE_CSP
        if not response.direct_passthrough and not response.is_streamed:
            response.set_data(mark_page(response.get_data(as_text=True)))
    return response


#: What a browser sends back as typed: a textarea's text is left exactly as it is.
_TEXTAREA = re.compile(r"(<textarea\b[^>]*>.*?</textarea>)", re.S | re.I)


def mark_page(html: str) -> str:
    """Mark the Lao word breaks in every text node of a page except inside a textarea (forms.lao)."""
    parts = _TEXTAREA.split(html)
    return "".join(part if index % 2 else lao.mark_html(part) for index, part in enumerate(parts))


def signed_in(view):
    """Send a signed-out visitor (or a device, which has no account) to the sign-in page, then back."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if web.signed_in_user() is None:
            return redirect(url_for("console.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapped


def needs(*rights: str):
    """Let a signed-in user with every one of `rights` (ingest.access.RIGHTS) open the page; others get 403.

    Signed-out visitors are sent to the sign-in page first (`signed_in`).
    """

    def decorate(view):
        @functools.wraps(view)
        def checked(*args, **kwargs):
            if not all(g.actor.caller.may(right) for right in rights):
                abort(403)
            return view(*args, **kwargs)

        return signed_in(checked)

    return decorate


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


def error_page(status: int, message: str):
    """Return the console's error page with `message` (already in the page language) and `status`."""
    return render_template("console/error.html", status=status, message=message), status


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException):
    """Answer the console's errors with a page in the page language (the API answers JSON)."""
    status = exc.code or 500
    if g.get("csrf_failed"):
        message = _("error_csrf")
    elif g.get("bad_language"):
        message = _("error_bad_language")
    elif g.get("page_message"):
        message = g.page_message
    elif status in (400, 403, 404, 405, 413, 500):
        message = _(f"error_{status}")
    else:
        message = _("error_other", status=status)
    return with_exception_headers(current_app.make_response(error_page(status, message)), exc)


def refuse(status: int, message: str):
    """Stop this request with the error page saying `message` (in the page language) under `status`."""
    g.page_message = message
    abort(status)


@bp.errorhandler(IngestError)
def ingest_error(exc: IngestError):
    """Answer a refusal of the ingest layer as a page in the page language.

    A code with a console string of its own (`ingest_<code>`, dots as underscores: `ingest_400_15`) shows
    that; any other shows its status's sentence, with the service's own (English) sentence beneath it.
    """
    key = "ingest_" + exc.code.code.replace(".", "_")
    if key in MESSAGES:
        return error_page(exc.status, _(key))
    generic = _(f"error_{exc.status}") if f"error_{exc.status}" in MESSAGES else _("error_other", status=exc.status)
    return render_template("console/error.html", status=exc.status, message=generic, detail=exc.message), exc.status


def database_error(exc: Exception):
    """Answer a database out of reach with a page asking to try again (503, Retry-After), as the API does."""
    return database_unavailable(exc, current_app.make_response(error_page(503, _("error_503"))))


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
    return error_page(500, _("error_500"))
