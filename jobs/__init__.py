"""RQ job functions. Each takes ids (never ORM objects) and runs in the app context."""
import functools
from datetime import UTC, datetime

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


def instant(at: str | None) -> datetime | None:
    """A job's `at` (an ISO-8601 time: "pretend it is then") as aware UTC; a time without an offset
    is read in the town's zone. None when not given: the job reads the clock."""
    if not at:
        return None
    from gridapp.timeutil import town_zone

    moment = datetime.fromisoformat(at)
    return (moment if moment.tzinfo else moment.replace(tzinfo=town_zone())).astimezone(UTC)
