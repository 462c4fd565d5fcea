"""Entry point: `flask --app app run`, `gunicorn app:app`."""

from gantong import create_app

app = create_app()
