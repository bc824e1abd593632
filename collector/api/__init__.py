"""JSON API for staff and tools, shaped like ODK Central's so that pyodk and Central users feel at home.

Each resource is a module with its own blueprint; `init_app` registers them all below /v1, and again below
/v1/key/<token>/ where Central answers app users (devices are refused there: they never read data back).
"""

from __future__ import annotations

from flask import Flask

from collector.api import (
    app_users,
    audits,
    cases,
    ctdc,
    drafts,
    entities,
    entity_odata,
    exports,
    handbook,
    odata,
    openapi,
    persons,
    projects,
    sessions,
    stats,
    submissions,
    tasks,
    tokens,
    users,
)

BLUEPRINTS = (
    sessions.bp,
    projects.bp,
    submissions.bp,
    app_users.bp,
    drafts.bp,
    handbook.bp,
    users.bp,
    tokens.bp,
    audits.bp,
    stats.bp,
    cases.bp,
    exports.bp,
    odata.bp,
    persons.bp,
    tasks.bp,
    ctdc.bp,
    entities.bp,
    entity_odata.bp,
)


def init_app(app: Flask) -> None:
    """Register every API blueprint, and the draft test endpoints for training tablets."""
    for bp in BLUEPRINTS:
        app.register_blueprint(bp, url_prefix="/v1")
        app.register_blueprint(bp, url_prefix="/v1/key/<token>", name=f"{bp.name}_key")
    app.register_blueprint(drafts.test_bp, url_prefix="/v1/test/<draft_token>")
    app.register_blueprint(openapi.bp, url_prefix="/v1")
