"""WSGI entry point for gunicorn: `gunicorn collector.wsgi:app`."""

import logging

from collector import create_app
from collector.ops import logs, publicurl

app = create_app()
logs.configure(app)
# The URL the server was started with is the one tablets reach: later commands of the instance use it too.
try:
    publicurl.remember(app)
except OSError as exc:  # a read-only instance folder costs the stored URL, never the server
    logging.getLogger(__name__).warning("public URL not stored in the instance folder: %s", type(exc).__name__)
# Each worker imports this module after gunicorn forks it, so each runs its own sweeping thread.
app.extensions["collector.store"].start_sweeping(float(app.config["MEDIA_SWEEP_SECONDS"]))
