"""The Flask service: OpenRosa endpoints for ODK Collect, the JSON API for staff, and the CLI."""

from __future__ import annotations

import logging
import os
import secrets
import tempfile
from pathlib import Path

from flask import Flask, Response, g, request

from collector.ops import publicurl

logger = logging.getLogger(__name__)


def create_app(test_config: dict | None = None) -> Flask:
    """Build the application: configure, connect the database, register blueprints and handlers."""
    app = Flask(
        __name__, instance_path=os.environ.get("COLLECTOR_INSTANCE_PATH") or None, instance_relative_config=True
    )
    configure_settings(app, test_config)
    configure_proxy(app)
    configure_bodies(app)
    configure_database(app)
    configure_observability(app)  # first: its hooks time and log every request, even one refused early
    configure_blueprints(app)
    configure_responses(app)
    return app


def configure_settings(app: Flask, test_config: dict | None) -> None:
    """Load defaults, the instance config file, then environment variables (or the test dict)."""
    app.config.from_object("collector.config")
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if test_config is None:
        app.config.from_pyfile("collector.cfg", silent=True)
        app.config.from_prefixed_env("COLLECTOR")
        if os.environ.get("DATABASE_URL"):
            app.config["DATABASE_URL"] = os.environ["DATABASE_URL"]
    else:
        app.config.update(test_config)
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / 'collector.sqlite3'}"
    if not app.config["MEDIA_DIR"]:
        app.config["MEDIA_DIR"] = str(Path(app.instance_path) / "media")
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _instance_secret(Path(app.instance_path))
    publicurl.resolve(app)
    # Werkzeug refuses bodies over this with 413 while streaming, chunked uploads included.
    app.config["MAX_CONTENT_LENGTH"] = int(app.config["MAX_SUBMISSION_BYTES"])
    # An instance sent as a plain form field (not a file part) may be as large as an XML part.
    app.config["MAX_FORM_MEMORY_SIZE"] = int(app.config["MAX_XML_BYTES"])


def _instance_secret(instance: Path) -> str:
    """Read the instance's secret key, creating it (mode 600) on first start.

    Several gunicorn workers may start at once on a fresh instance: the key is written to a private
    temporary file and linked into place, so exactly one key wins and nobody reads a half-written file.
    """
    path = instance / "secret_key"
    if not path.exists():
        fd, tmp = tempfile.mkstemp(dir=instance, prefix=".secret_key-")
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
            os.link(tmp, path)
        except FileExistsError:
            pass  # another worker was first; use its key
        finally:
            os.unlink(tmp)
    return path.read_text().strip()


def configure_proxy(app: Flask) -> None:
    """Trust X-Forwarded-* from the configured proxies only (TRUSTED_PROXIES, PROXY_HOPS of them in a row),
    so the URLs we build are the public ones while nobody else can pass for https or for another address."""
    from collector.transport.proxies import (  # cycle: these modules import the collector package
        TrustedProxies,
        parse_networks,
    )

    app.wsgi_app = TrustedProxies(
        app.wsgi_app, parse_networks(app.config["TRUSTED_PROXIES"]), int(app.config["PROXY_HOPS"])
    )


def configure_bodies(app: Flask) -> None:
    """Stop request bodies that arrive slower than BODY_MIN_RATE after BODY_TIMEOUT seconds (408)."""
    from collector.transport.bodies import BodyDeadlineMiddleware  # cycle: these modules import the collector package

    app.wsgi_app = BodyDeadlineMiddleware(
        app.wsgi_app, float(app.config["BODY_TIMEOUT"]), float(app.config["BODY_MIN_RATE"])
    )


def configure_database(app: Flask) -> None:
    """Connect the database and media store (tables come from migrations, never from here)."""
    from collector import db  # cycle: these modules import the collector package

    db.init_app(app)


def configure_blueprints(app: Flask) -> None:
    """Register the OpenRosa and JSON API blueprints, each also below /v1/key/<token>, the web console,
    and error handlers."""
    from collector import api, auth, console, errors, openrosa  # cycle: these modules import the collector package
    from collector.transport import guards  # cycle: these modules import the collector package

    guards.init_app(app)
    app.after_request(auth.remember_device)
    errors.init_app(app)
    app.url_value_preprocessor(_note_route)
    app.register_blueprint(openrosa.bp, url_prefix="/v1")
    app.register_blueprint(openrosa.bp, url_prefix="/v1/key/<token>", name="openrosa_key")
    api.init_app(app)
    console.init_app(app)


def configure_observability(app: Flask) -> None:
    """Give each request an id, log one JSON line and count it when it ends, and serve /metrics."""
    # Local: prometheus_client must first be imported in gunicorn's workers, after deploy/gunicorn.conf.py has
    # set PROMETHEUS_MULTIPROC_DIR in the master, which imports this package.
    from collector.ops import counters, logs, metrics

    app.before_request(logs.start_request)

    @app.after_request
    def end_request(response: Response) -> Response:
        response = logs.end_request(response)
        # Paths no route matched share one label: a scanner's probes must not grow a series each.
        route = request.url_rule.rule if request.url_rule is not None else "<unmatched>"
        counters.observe_request(request.method, route, response.status_code, g.request_duration)
        return response

    app.register_blueprint(metrics.bp)


def _note_route(endpoint, values) -> None:
    """Leave the matched route (`/v1/key/<token>/projects/<int:project_id>/submission`) in the WSGI environ:
    the access log names a request by it, never by its path (collector.transport.logredact)."""
    if request.url_rule is not None:
        request.environ["collector.route"] = request.url_rule.rule


#: Headers every answer carries. The policy allows nothing to load or frame an answer; the console's pages
#: replace it with one that allows their own style sheet (collector.console.web.CONSOLE_CSP).
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}


def configure_responses(app: Flask) -> None:
    """Add the security headers, a cache policy and Retry-After to every response, errors included."""

    @app.after_request
    def secure_response(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if "Cache-Control" not in response.headers:
            # Forms and media carry an ETag: Collect may keep them and ask again (304). Everything else is
            # personal or a secret (records, tokens, QR codes) and must not stay in any cache.
            response.headers["Cache-Control"] = "private, no-cache" if response.headers.get("ETag") else "no-store"
        if response.status_code == 429 and g.get("retry_after"):
            response.headers["Retry-After"] = str(g.retry_after)
        return response
