"""The fever alert over a real SMTP server and a real group robot (HTTP) on loopback, by a real RQ
worker: once, at night too; the robot hears a count, never the person."""
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select

from gridapp.extensions import db
from gridapp.notifications.models import OutboxMessage
from gridapp.notifications.services import add_webhook
from gridapp.observation import services
from gridapp.timeutil import pin_clock, utcnow
from tests.notifications.servers import HTTPPeer, SMTPServer
from tests.observation.factories import start
from tests.workers import run_burst_worker

ZONE = ZoneInfo("Asia/Shanghai")


def _last_night() -> datetime:
    """The last 23:30 in the town before the suite's clock: the worker reads that clock (not the
    test's pinned one), so the message must be due for it, whatever hour the suite runs at."""
    now = utcnow().astimezone(ZONE)
    night = now.replace(hour=23, minute=30, second=0, microsecond=0)
    return night if night <= now else night - timedelta(days=1)


def _deliver(app):
    done = run_burst_worker(app)
    assert done.returncode == 0, done.stderr[-3000:]
    db.session.expire_all()


def test_a_fever_at_night_is_mailed_to_the_grid_member_and_posted_to_the_robot_once(app, world):
    world.gm1.email = "gridder1@example.org"
    db.session.commit()
    try:
        night = _last_night()  # 23:30: the grid member's quiet hours
        obs = start(world, at=night - timedelta(hours=16, minutes=30))  # that day, 07:00
        pin_clock(night)
        check = services.current_check(obs, night)
        with SMTPServer() as server, HTTPPeer() as robot:
            add_webhook(world.sec1, world.c1, "wecom", "城关社区工作群", robot.url + "/hook")
            db.session.commit()
            app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port)
            services.record_check(check, world.head1, {"temperature": Decimal("38.4"), "cough": True}, "phone",
                                  now=night)
            db.session.commit()
            (row,) = db.session.scalars(select(OutboxMessage).where(OutboxMessage.address == "gridder1@example.org"))
            assert row.urgent and row.not_before == night  # quiet hours do not hold it
            _deliver(app)
            services._fever_alert(check, night)  # the alert raised again: nothing new
            db.session.commit()
            _deliver(app)
            assert [m["to"] for m in server.sink.messages] == [["gridder1@example.org"]]
            mail = server.sink.messages[0]
            assert "38.4" in mail["body"] and "王小明" in mail["body"]
            (post,) = robot.requests
            text = str(post["json"])
            assert post["path"] == "/hook" and "1" in text
            assert "王小明" not in text and "38.4" not in text and "101" not in text
    finally:
        pin_clock(None)
