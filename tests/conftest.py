"""Test fixtures: the app on SQLite (default) or PostgreSQL (TEST_DATABASE_URL), a real
Redis (REDIS_URL, else the embedded one), a client that carries the CSRF token, the clock.

GRIDAPP_TEST_NOW=2026-11-30T00:30+08:00 runs the whole suite as if it started at that instant
(the clock then runs on from there, in this process and in the workers it starts); with TZ set as
well, the server's own zone can be made to disagree with the town's about the date."""
import gc
import os
import re
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from jinja2 import BytecodeCache
from werkzeug.routing import Rule

if os.environ.get("GRIDAPP_TEST_NOW"):
    _start = datetime.fromisoformat(os.environ["GRIDAPP_TEST_NOW"])
    if _start.tzinfo is None:
        raise SystemExit("GRIDAPP_TEST_NOW needs a UTC offset, e.g. 2026-11-30T00:30+08:00")
    os.environ["GRIDAPP_CLOCK_OFFSET"] = str((_start - datetime.now(UTC)).total_seconds())
from sqlalchemy import event, text

from gridapp import create_app
from gridapp.extensions import GridApp, db
from gridapp.redis_conn import stop_embedded_redis

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
# Tests flush this Redis database: give them one of their own.
TEST_REDIS_URL = os.environ.get("REDIS_URL")
INSTANCE = Path(tempfile.mkdtemp(prefix="gridapp-test-"))
DEFAULT_PASSWORD = "correct-horse-42"


def test_config(**extra) -> dict:
    cfg = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "INSTANCE_PATH": str(INSTANCE),
        "SQLALCHEMY_DATABASE_URI": TEST_DATABASE_URL or f"sqlite:///{INSTANCE / 'test.db'}",
        "REDIS_URL": TEST_REDIS_URL,
        # Fast hashing in tests; production uses Werkzeug's default scrypt cost.
        "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",
        "SERVER_NAME": None,
        # The loopback SMTP/HTTP peers of the delivery tests, allowed as a town's own gateway is.
        "WEBHOOK_ALLOWED_HOSTS": ("127.0.0.1",),
    }
    cfg.update(extra)
    return cfg


test_config.__test__ = False  # a helper, not a test


@pytest.fixture(scope="session")
def _schema():
    app = create_app(test_config())
    with app.app_context():
        db.drop_all()
        db.create_all()
    # What lives all session (modules, mappers, this app) leaves the garbage collector's walks:
    # a full collection then walks what the tests made since, not the whole of SQLAlchemy too.
    gc.collect()
    gc.freeze()
    yield
    with app.app_context():
        db.drop_all()
        db.engine.dispose()
    if not TEST_REDIS_URL:
        stop_embedded_redis(INSTANCE)
    shutil.rmtree(INSTANCE, ignore_errors=True)


def _empty_tables():
    """Every table emptied, children first, and (PostgreSQL) every sequence drawn from set back to 1,
    as a fresh schema has it. DELETE and setval cost a fifth of TRUNCATE … CASCADE on sixty tables."""
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # One round trip for all of them: psycopg sends statements without parameters as one
            # script. (sqlite3 runs one statement per call.)
            conn.exec_driver_sql("; ".join(f'DELETE FROM "{t.name}"' for t in reversed(db.metadata.sorted_tables)))
            conn.execute(text("SELECT setval(format('%I.%I', schemaname, sequencename)::regclass, 1, false)"
                              " FROM pg_sequences WHERE last_value IS NOT NULL"))
        else:
            for t in reversed(db.metadata.sorted_tables):
                conn.execute(t.delete())


def _forget_this_engines_statements():
    """Each test's app has an engine (and a dialect) of its own, and every mapper keeps the flush
    statements it compiled in a cache of its own, keyed by dialect: left alone, a thousand tests
    fill those caches with statements no later engine can use, a million objects that every full
    garbage collection then walks (a quarter of the suite's time)."""
    for mapper in db.Model.registry.mappers:
        mapper._compiled_cache.clear()


class _CompiledTemplates(BytecodeCache):
    """Templates compiled once for the whole session, not once per test's app: Jinja keys each by
    its name and file and checks the source's checksum before using it. Every test app's Jinja
    environment has the same settings (create_app makes them), so their compiled code is the same."""

    def __init__(self):
        self.compiled = {}

    def load_bytecode(self, bucket):
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket):
        self.compiled[bucket.key] = bucket.bytecode_to_string()


COMPILED_TEMPLATES = _CompiledTemplates()


class _RuleBuiltOnce(Rule):
    """A URL rule whose builder functions (Werkzeug writes and compiles two per rule, half of
    create_app's time) are made once for the whole session. A builder depends only on the rule's
    parsed parts; a rule with defaults bakes them in and is left to Werkzeug."""

    builders = {}

    def _compile_builder(self, append_unknown=True):
        if self.defaults:
            return super()._compile_builder(append_unknown)
        key = (tuple(self._trace), append_unknown)
        if key not in self.builders:
            self.builders[key] = super()._compile_builder(append_unknown)
        return self.builders[key]


GridApp.url_rule_class = _RuleBuiltOnce


@pytest.fixture
def app(_schema):
    app = create_app(test_config())
    app.jinja_env.bytecode_cache = COMPILED_TEMPLATES
    with app.app_context():
        from gridapp.jobs_runtime import redis_connection

        redis_connection().flushdb()
        yield app
        db.session.remove()
        _empty_tables()
        _forget_this_engines_statements()


class Client:
    """A test client that finds and sends the CSRF token like a browser form does."""

    TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

    def __init__(self, app):
        self.app = app
        self.raw = app.test_client()
        self._token = None

    def token(self) -> str:
        if self._token is None:
            page = self.get("/login").get_data(as_text=True)
            if "csrf_token" not in page:
                page = self.get("/", follow_redirects=True).get_data(as_text=True)
            self._token = self.TOKEN.search(page).group(1)
        return self._token

    def _open(self, method, url, **kw):
        # End the test's own transaction first (SQLite's BEGIN IMMEDIATE would make the
        # request wait for it), and give the request a fresh app context, like a server.
        db.session.commit()
        with self.app.app_context():
            return getattr(self.raw, method)(url, **kw)

    def get(self, url, **kw):
        return self._open("get", url, **kw)

    def post(self, url, data=None, csrf=True, headers=None, **kw):
        data = dict(data or {})
        if csrf and "csrf_token" not in data:
            data["csrf_token"] = self.token()
        resp = self._open("post", url, data=data, headers=headers or {}, **kw)
        if url.startswith(("/login", "/logout")):
            self._token = None  # the session (and its token) is renewed
        return resp

    def htmx_post(self, url, data=None, **kw):
        """Like htmx: the token travels in the X-CSRFToken header, not the form."""
        headers = {"HX-Request": "true", "X-CSRFToken": self.token()}
        return self._open("post", url, data=data or {}, headers=headers, **kw)

    def htmx_get(self, url, **kw):
        return self._open("get", url, headers={"HX-Request": "true"}, **kw)

    def login(self, username, password=DEFAULT_PASSWORD):
        resp = self.post("/login", {"username": username, "password": password})
        assert resp.status_code == 302, f"login of {username} failed: {resp.status_code}"
        return resp

    def logout(self):
        return self.post("/logout")

    def confirm_password(self, password=DEFAULT_PASSWORD):
        """Type the password again (/reauth), as account and role changes ask for."""
        resp = self.post("/reauth", {"password": password})
        assert resp.status_code == 302, f"re-authentication failed: {resp.status_code}"
        return resp


class Clock:
    """The app's clock in a test: set() stops it at an instant, advance() moves it on."""

    def __init__(self):
        from gridapp import timeutil

        self._timeutil = timeutil
        self.now = None

    def set(self, instant: datetime) -> datetime:
        self._timeutil.pin_clock(instant)
        self.now = self._timeutil.utcnow()
        return self.now

    def advance(self, delta) -> datetime:
        return self.set(self.now + delta)

    def town(self, text: str) -> datetime:
        """Stop the clock at a wall-clock time of the town: clock.town("2026-11-25 10:00")."""
        from zoneinfo import ZoneInfo

        return self.set(datetime.fromisoformat(text).replace(tzinfo=ZoneInfo("Asia/Shanghai")))


@pytest.fixture
def clock():
    """A pinned clock (see Clock); it runs again after the test."""
    from gridapp import timeutil

    c = Clock()
    yield c
    timeutil.pin_clock(None)


@pytest.fixture
def client(app):
    return Client(app)


@pytest.fixture
def make_client(app):
    return lambda: Client(app)


@pytest.fixture
def world(app):
    """A small town: see tests/factories.py for who is who."""
    from tests.factories import build_world

    return build_world()


@pytest.fixture
def count_queries(app):
    """Counts SQL statements executed inside the `with` block."""
    from contextlib import contextmanager

    @contextmanager
    def counter():
        box = {"n": 0, "sql": []}

        def _count(conn, cursor, statement, params, context, executemany):
            box["n"] += 1
            box["sql"].append(statement)

        event.listen(db.engine, "before_cursor_execute", _count)
        try:
            yield box
        finally:
            event.remove(db.engine, "before_cursor_execute", _count)

    return counter


# Browser fixtures (live_server, chromium, phone, phone_nojs) live in tests/browser.py.
pytest_plugins = ["tests.browser"]
