"""Factories for the duty tests: checkpoints made through the service, volunteers, a fixed clock."""
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import select

from gridapp.duty import services
from gridapp.duty.models import Shift
from gridapp.extensions import db
from tests.factories import make_user

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 3, 2)


def at(day, hhmm: str) -> datetime:
    """A moment of a local (Shanghai) day, as aware UTC."""
    h, m = map(int, hhmm.split(":"))
    return datetime.combine(day, time(h, m), tzinfo=SHANGHAI).astimezone(UTC)


T0 = at(DAY, "06:00")  # when the checkpoints are set up: the day's 08:00 shift is ahead


def make_checkpoint(community, compound=None, *, name="东门检查点", pattern=None, min_people=1, max_people=2,
                    kind="gate", now=T0, work_unit_id=None):
    cp = services.create_checkpoint(None, community=community, compound=compound, now=now,
                                    values={"name": name, "kind": kind, "location": "东门",
                                            "pattern": pattern or "08:00-16:00,16:00-24:00,00:00-08:00",
                                            "min_people": min_people, "max_people": max_people,
                                            "work_unit_id": work_unit_id})
    db.session.commit()
    return cp


def shift_of(cp, day=DAY, label="08:00-16:00") -> Shift:
    db.session.expire_all()
    return db.session.scalars(select(Shift).where(Shift.checkpoint_id == cp.id, Shift.day == day,
                                                  Shift.label == label)).one()


def make_volunteers(community, n, prefix="v"):
    return [make_user(f"{prefix}{i}", ("volunteer", community)) for i in range(n)]
