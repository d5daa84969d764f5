"""WSGI entry point: ``gunicorn -c gunicorn.conf.py visits.wsgi:app``."""

from . import create_app

app = create_app()
