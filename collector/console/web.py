"""What every console page relies on: the session cookie, the CSRF check, the page language, the signed-in user.

The CSRF check is a dozen lines here rather than Flask-WTF's CSRFProtect: it runs for the console blueprint
only (the JSON API and OpenRosa endpoints, which take no cookies, are never asked for a token), and it needs
no new dependency. A random token is kept in the signed session and every POST form must send it back.
"""

from __future__ import annotations

import hmac
import secrets

from flask import abort, g, request, session
from flask.sessions import SecureCookieSessionInterface

from collector.auth import Actor
from collector.console.messages import DEFAULT_LANGUAGE, LANGUAGES, translate
from collector.db import get_session
from ingest import scope
from ingest.accounts.users import user_for_console
from ingest.models import User

#: Where the console lives; its cookie is sent to these paths only.
CONSOLE_PATH = "/console"
#: The console's pages load their scripts, styles, pictures and data from this server and nothing else: no
#: inline script or style, nothing from elsewhere, and forms post back here only.
CONSOLE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
#: The pages that fill a form with ODK Web Forms (collector.console.views.fill) add only what that library needs:
#: 'wasm-unsafe-eval' to compile its XPath parser (tree-sitter, WebAssembly bundled in its script), and
#: 'unsafe-inline' styles, since it and PrimeVue add their stylesheets as <style> elements at run time, and
#: fonts from data: URLs (its Roboto is inlined in its stylesheet), and workers from blob: and data: URLs, which
#: its photo resizing (pica, for a form's max-pixels) makes from its own code. Scripts
#: still come from this server only: no inline script, no eval of JavaScript, nothing from elsewhere.
WEBFORMS_CSP = CONSOLE_CSP.replace("script-src 'self';", "script-src 'self' 'wasm-unsafe-eval';").replace(
    "style-src 'self';", "style-src 'self' 'unsafe-inline'; font-src 'self' data:; worker-src 'self' blob: data:;"
)
#: Header a page's script sends the CSRF token in (a web form's submission, whose multipart body the server
#: streams to the write path rather than reading it as a form).
CSRF_HEADER = "X-CSRF-Token"
#: Console endpoints a POST reaches without the session's CSRF token: a desk link's submission, which the
#: desk's token in its URL authorises and which acts for no signed-in user.
CSRF_EXEMPT = frozenset({"console.desk_submission"})
#: Session keys: the console session id (opaque, and refused as a bearer token), the CSRF token, the language.
TOKEN, CSRF, LANG = "sid", "csrf", "lang"
#: Name of the hidden field that carries the CSRF token.
CSRF_FIELD = "csrf_token"


class ConsoleSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, sent to the console's paths only, SameSite=Lax unless configured
    otherwise, and Secure whenever the request came over https (as the trusted proxy saw it)."""

    def get_cookie_path(self, app) -> str:
        """Keep the cookie to /console (below the proxy's prefix, if any): the API never sees it."""
        return (request.script_root or "") + CONSOLE_PATH

    def get_cookie_samesite(self, app) -> str:
        """Lax: the cookie is not sent with another site's POST, so a form elsewhere cannot act as the user."""
        return app.config["SESSION_COOKIE_SAMESITE"] or "Lax"

    def get_cookie_secure(self, app) -> bool:
        """Secure over https, so the browser never sends the cookie in the clear; plain over http (loopback)."""
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


def csrf_token() -> str:
    """Return the session's CSRF token, making one on first use."""
    token = session.get(CSRF)
    if not token:
        token = session[CSRF] = secrets.token_urlsafe(32)
    return token


def check_csrf() -> None:
    """Refuse a POST to the console that does not carry the session's CSRF token (before_request).

    :raise 400: no token, or not the session's.
    """
    if request.method in ("GET", "HEAD", "OPTIONS") or request.endpoint in CSRF_EXEMPT:
        return
    expected = session.get(CSRF) or ""
    # A header first: reading request.form would consume a streamed submission's body.
    sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD, "")
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        g.csrf_failed = True
        abort(400)


def remember_language() -> None:
    """Take the page language from ?lang=lo|en and keep it in the session (before_request).

    The handbook route reads ?lang= as the PDF's language (lo, en or both), not the page's.
    """
    asked = request.args.get("lang")
    if asked in LANGUAGES and request.endpoint != "console.handbook" and session.get(LANG) != asked:
        session[LANG] = asked


def page_language() -> str:
    """Return the language of this page: the one remembered in the session, else Lao."""
    lang = session.get(LANG)
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def _(key: str, **values) -> str:
    """Return a console string in the page language."""
    return translate(key, page_language(), **values)


def signed_in_user() -> User | None:
    """Return the user of the session cookie's console session id, or None (no cookie, or a revoked or
    expired session).

    The console accepts its cookie only: a Basic or bearer header is the API's way in, not the pages'.
    The user then reads in their own scope, as on the API.
    """
    if "actor" in g:
        return g.actor.user
    token = session.get(TOKEN)
    if not token:
        return None
    db = get_session()
    user = user_for_console(db, token)
    if user is None:
        session.pop(TOKEN, None)  # revoked, expired or disabled: forget it
        return None
    g.actor = Actor(user=user)
    scope.use(db, g.actor.caller)
    return user


def start_session(token: str) -> None:
    """Keep a new console session id in the cookie, with a fresh CSRF token (the one used to sign in is spent)."""
    lang = session.get(LANG)
    session.clear()
    if lang:
        session[LANG] = lang
    session[TOKEN] = token
    session[CSRF] = secrets.token_urlsafe(32)


def end_session() -> None:
    """Forget the session token and CSRF token, keeping the page language."""
    lang = session.get(LANG)
    session.clear()
    if lang:
        session[LANG] = lang
