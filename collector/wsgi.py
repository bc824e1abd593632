"""WSGI entry point for gunicorn: `gunicorn collector.wsgi:app`."""

from collector import create_app
from collector.ops import logs, publicurl

app = create_app()
logs.configure(app)
# The URL the server was started with is the one tablets reach: later commands of the instance use it too.
publicurl.remember(app)
# Each worker imports this module after gunicorn forks it, so each runs its own sweeping thread.
app.extensions["collector.store"].start_sweeping(float(app.config["MEDIA_SWEEP_SECONDS"]))
