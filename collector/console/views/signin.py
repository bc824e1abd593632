"""Signing in and out, and where a signed-in user starts."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, g, redirect, render_template, request, session, url_for
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from collector.auth import require_https_for_passwords, sign_in
from collector.console import web
from collector.console.frame import bp, signed_in
from collector.console.web import _
from collector.db import get_session
from ingest.accounts import admin as accounts_admin
from ingest.accounts.users import close_session, open_session
from ingest.models import Project

#: Longest email and password the sign-in form takes (as POST /v1/sessions).
MAX_EMAIL, MAX_PASSWORD = 320, 1024


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
