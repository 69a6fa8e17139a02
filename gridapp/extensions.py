"""Flask extensions, created once and bound to the app in create_app(); the app class."""
from flask import Flask, g, request
from flask.globals import _cv_request
from flask_babel import Babel
from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from gridapp.core.csrf import MaskedCSRFProtect

# Stable constraint names so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION))
migrate = Migrate()
login_manager = LoginManager()
csrf = MaskedCSRFProtect()
compress = Compress()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[], strategy="fixed-window")


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection, connection_record):
    """WAL, a busy timeout, foreign keys; and let SQLAlchemy emit BEGIN itself."""
    import sqlite3

    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # The pysqlite driver's own transaction handling would defer BEGIN; take it over
    # so every transaction starts with BEGIN IMMEDIATE (see _sqlite_on_begin).
    dbapi_connection.isolation_level = None
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


@event.listens_for(Engine, "begin")
def _sqlite_on_begin(conn):
    """Take SQLite's write lock at BEGIN, so concurrent writers wait (busy timeout)
    instead of failing with "database is locked" when a read turns into a write — except in
    a page view (see GridApp.dispatch_request), which reads without queueing for it."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN" if g and g.get("sqlite_deferred") else "BEGIN IMMEDIATE")


SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def _sqlite_busy(exc: OperationalError) -> bool:
    code = getattr(exc.orig, "sqlite_errorcode", None)
    return code is not None and code & 0xFF == 5  # SQLITE_BUSY, SQLITE_BUSY_SNAPSHOT among them


# How many built URLs GridApp keeps (a whole town's rows several times over); when full it starts again.
URL_CACHE_SIZE = 50_000


class GridApp(Flask):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._built_urls = {}

    def url_for(self, endpoint, *, _anchor=None, _method=None, _scheme=None, _external=None, **values):
        """Flask's url_for, with the relative URLs built in a request kept: a list page links each
        of its rows to two or three endpoints, and the same rows are shown again and again. A URL
        depends only on the endpoint, its values (their types too: True is not 1) and the
        request's script root, never on who asks, and the URL map does not change once the app
        serves; an anchor, a method, a scheme, an external URL or a relative endpoint (".x")
        go to Flask each time."""
        req_ctx = _cv_request.get(None)
        if (req_ctx is None or _anchor is not None or _method is not None or _scheme is not None or _external
                or endpoint[:1] == "." or req_ctx.url_adapter is None):
            return super().url_for(endpoint, _anchor=_anchor, _method=_method, _scheme=_scheme,
                                   _external=_external, **values)
        try:
            key = (endpoint, req_ctx.url_adapter.script_name,
                   *sorted((name, type(value), value) for name, value in values.items()))
            url = self._built_urls.get(key)
        except TypeError:  # a value that cannot be a key (a list of query values)
            return super().url_for(endpoint, **values)
        if url is None:
            url = super().url_for(endpoint, **values)
            if len(self._built_urls) >= URL_CACHE_SIZE:
                self._built_urls.clear()
            self._built_urls[key] = url
        return url

    def dispatch_request(self):
        """On SQLite, a page view (GET, HEAD) begins its transactions DEFERRED: it reads from its
        own snapshot (WAL) without holding the one write lock while it renders, so that page views
        do not queue behind each other. The few views that also write (a session's last-seen time,
        a record of who opened a household's details, an audit of a refusal) may then find that
        another writer committed since their snapshot, and SQLite refuses the upgrade at once
        (SQLITE_BUSY_SNAPSHOT); the view is then run again from the start, this time with
        BEGIN IMMEDIATE. A page view repeats safely: the refused write and all after it were
        rolled back, and what it committed before (a last-seen time) bears doing twice."""
        if request.method not in SAFE_METHODS or db.engine.dialect.name != "sqlite":
            return super().dispatch_request()
        g.sqlite_deferred = True
        try:
            return super().dispatch_request()
        except OperationalError as exc:
            if not _sqlite_busy(exc):
                raise
            db.session.rollback()
            g.sqlite_deferred = False
            return super().dispatch_request()
        finally:
            g.sqlite_deferred = False
