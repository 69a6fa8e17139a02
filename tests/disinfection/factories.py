"""Factories for the disinfection tests: points made through the service, a fixed clock."""
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from gridapp.disinfection import services
from gridapp.extensions import db

SHANGHAI = ZoneInfo("Asia/Shanghai")
ALL_DAY = "00:00-24:00"


def at(day, hhmm: str) -> datetime:
    """A moment of a local (Shanghai) day, as aware UTC."""
    h, m = map(int, hhmm.split(":"))
    return datetime.combine(day, time(h, m), tzinfo=SHANGHAI).astimezone(UTC)


def make_points(compound=None, *, community=None, kind="elevator", count=1, windows="", task="disinfection",
                name="", place_name="", actor=None, now=None, active=True):
    points = services.create_points(actor, compound=compound, community=community,
                                    values={"kind": kind, "count": count, "windows": windows, "task": task,
                                            "name": name, "place_name": place_name}, now=now)
    if not active:
        for p in points:
            p.active = False
    db.session.commit()
    return points


def make_point(compound=None, **kw):
    return make_points(compound, **kw)[0]
