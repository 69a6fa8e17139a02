"""WSGI entry point: gunicorn wsgi:app"""
from gridapp import create_app
from jobs.cli import register_jobs_cli

app = create_app()
register_jobs_cli(app)  # `flask --app wsgi jobs list|run`
