"""WSGI entry point for gunicorn: `gunicorn collector.wsgi:app`."""

from collector import create_app

app = create_app()
# Each worker imports this module after gunicorn forks it, so each runs its own sweeping thread.
app.extensions["collector.store"].start_sweeping(float(app.config["MEDIA_SWEEP_SECONDS"]))
