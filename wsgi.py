"""The WSGI entry point for gunicorn: `gunicorn wsgi:app`. At start-up each village log is
checked against the cosigned checkpoint kept outside the database (a restored old copy shows)."""

from sunvote import create_app
from sunvote.services.witness import check_at_start_up

app = create_app()
check_at_start_up(app)
