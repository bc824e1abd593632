"""WSGI entry point for gunicorn: `gunicorn collector.wsgi:app`."""
from collector import create_app

app = create_app()
