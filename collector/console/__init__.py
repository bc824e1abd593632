"""The web console: every trainer's, officer's and ministry staff member's work in the browser, Lao first.

Staff sign in with their email and password. Sign-in shares everything with the JSON API's POST
/v1/sessions: the password check, the failure limits (429), the audit and the refusal of passwords over
plain HTTP. An opaque console session id (refused as an API bearer token) lives in Flask's signed session
cookie, which is HttpOnly, SameSite=Lax, Secure over https and sent to /console only; the signing key is
SECRET_KEY, generated once into the instance folder when not configured (collector.configure_settings).

`frame` holds what every page shares; `views` holds one module per area; `messages` the Lao and English
strings, one module per area. The pages read and write through the same ingest services as the API.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Mount the console at /console/ and keep its session in a cookie of the console's own."""
    # cycle: the frame and the views import this package's modules
    from collector.console import frame, web
    from collector.console.views import (  # noqa: F401  (their routes join frame.bp)
        admin,
        cases,
        dashboard,
        desks,
        devices,
        exports,
        fill,
        form_drafts,
        form_problems,
        forms,
        moments,
        persons,
        record_page,
        record_table,
        records,
        signin,
    )

    app.session_interface = web.ConsoleSessionInterface()
    app.register_blueprint(frame.bp, url_prefix=web.CONSOLE_PATH)
