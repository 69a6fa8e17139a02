"""WSGI entry point: gunicorn wsgi:app"""
from gridapp import create_app

app = create_app()
