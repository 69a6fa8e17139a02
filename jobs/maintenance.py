"""Housekeeping jobs for the foundation: expired login sessions."""

from gridapp.auth.services import purge_sessions
from gridapp.extensions import db
from jobs import in_app_context, instant


@in_app_context
def purge_expired_sessions(at: str | None = None) -> int:
    """Delete login sessions that were ended or idle past SESSION_IDLE_DAYS."""
    now = instant(at)
    removed = purge_sessions(now)
    db.session.commit()
    return removed


@in_app_context
def ping(value: str = "pong") -> str:
    """A no-op job: proves a worker picks up work (used by tests and `flask jobs`)."""
    return value
