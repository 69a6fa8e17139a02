"""The fever alert over a real SMTP server on loopback, by a real RQ worker: once, at night too."""
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select

from gridapp.extensions import db
from gridapp.notifications.models import OutboxMessage
from gridapp.observation import services
from gridapp.timeutil import pin_clock
from tests.notifications.servers import SMTPServer
from tests.observation.factories import start
from tests.workers import run_burst_worker

# The night before the suite's day (the worker reads the real clock: the message is due for it).
EVENING = datetime(2026, 11, 29, 7, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def _deliver(app):
    done = run_burst_worker(app)
    assert done.returncode == 0, done.stderr[-3000:]
    db.session.expire_all()


def test_a_fever_at_night_is_mailed_to_the_grid_member_once(app, world):
    world.gm1.email = "gridder1@example.org"
    db.session.commit()
    try:
        obs = start(world, at=EVENING)
        night = EVENING + timedelta(hours=16, minutes=30)  # 23:30: the grid member's quiet hours
        pin_clock(night)
        check = services.current_check(obs, night)
        with SMTPServer() as server:
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
    finally:
        pin_clock(None)
