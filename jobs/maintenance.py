"""Housekeeping jobs for the foundation: expired login sessions, stale import files, the nightly backup."""
import logging

from flask import current_app

from gridapp.auth.services import purge_sessions
from gridapp.extensions import db
from gridapp.imports.services import forget_stale_files
from gridapp.ops.backup import create_backup
from jobs import in_app_context, instant

log = logging.getLogger(__name__)


@in_app_context
def purge_expired_sessions(at: str | None = None) -> int:
    """Delete login sessions that were ended or idle past SESSION_IDLE_DAYS."""
    now = instant(at)
    removed = purge_sessions(now)
    db.session.commit()
    return removed


@in_app_context
def purge_import_files(at: str | None = None) -> int:
    """Delete the files of imports left unconfirmed (or failed) past IMPORT_FILE_DAYS."""
    removed = forget_stale_files(instant(at))
    db.session.commit()
    return removed


@in_app_context
def back_up(at: str | None = None) -> str:
    """Back up the database and the photos into BACKUP_DIR and keep the BACKUP_KEEP newest there;
    nothing (and a warning) when BACKUP_DIR is unset. A failure raises, so RQ records it."""
    folder = current_app.config["BACKUP_DIR"]
    if not folder:
        log.warning("BACKUP_DIR is not set: no backup made")
        return "BACKUP_DIR is not set: no backup made"
    made = create_backup(folder, keep=current_app.config["BACKUP_KEEP"], now=instant(at))
    return f"{made.path} written, {len(made.pruned)} older deleted"


@in_app_context
def ping(value: str = "pong") -> str:
    """A no-op job: proves a worker picks up work (used by tests and `flask jobs`)."""
    return value
