"""The WSGI entry point for gunicorn: `gunicorn wsgi:app`."""

from sunvote import create_app

app = create_app()
