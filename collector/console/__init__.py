"""The web console: staff sign in with their email and password and see each form's version and content
hash, with links to its printed handbook for trainers (issue 11). Pages in Lao (the default) and English.

Sign-in shares everything with the JSON API's POST /v1/sessions: the password check, the failure limits
(429), the audit and the refusal of passwords over plain HTTP. An opaque console session id (refused as an
API bearer token) lives in Flask's signed session cookie, which is HttpOnly, SameSite=Lax, Secure over https and
sent to /console only; the signing
key is SECRET_KEY, generated once into the instance folder when not configured (collector.configure_settings).
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Mount the console at /console/ and keep its session in a cookie of the console's own."""
    from collector.console import pages, web  # cycle: they import this package

    app.session_interface = web.ConsoleSessionInterface()
    app.register_blueprint(pages.bp, url_prefix=web.CONSOLE_PATH)
