"""RQ job functions. Each takes ids (never ORM objects) and runs in the app context."""
import functools

from flask import has_app_context

_app = None


def get_app():
    """The app of this worker process, built once from the environment."""
    global _app
    if _app is None:
        from gridapp import create_app

        _app = create_app()
    return _app


def in_app_context(func):
    """Run the job inside the app context (the worker's own, or the caller's in tests)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if has_app_context():
            return func(*args, **kwargs)
        with get_app().app_context():
            return func(*args, **kwargs)

    return wrapper
