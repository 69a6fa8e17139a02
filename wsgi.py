"""WSGI entry point: gunicorn wsgi:app"""
from bench.cli import register_bench_cli
from gridapp import create_app
from gridapp.core.process import settle
from jobs.cli import register_jobs_cli

app = create_app()
register_jobs_cli(app)  # `flask --app wsgi jobs list|run`
register_bench_cli(app)  # `flask --app wsgi seed-bench tiny|town|county`
settle()  # the objects of start-up, out of the collector's walks
