"""The demo town's home observation: a dozen people at different days, one fever open, alive at any hour."""
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from gridapp.demo import liven, seed
from gridapp.extensions import db
from gridapp.observation.models import FeverFollowUp, Observation, ObservationCheck
from gridapp.timeutil import town_today


def _active():
    db.session.expire_all()
    return db.session.scalars(select(Observation).where(Observation.status == "active")).all()


def test_the_demo_has_a_dozen_people_at_different_days_and_one_open_fever(app, clock):
    clock.set(datetime(2026, 11, 30, 15, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    seed()
    db.session.commit()
    active = _active()
    assert len(active) == 12 and len({o.starts_on for o in active}) >= 10
    assert db.session.scalar(select(func.count(FeverFollowUp.id)).where(FeverFollowUp.closed_at.is_(None))) == 1
    today = town_today()
    done_today = db.session.scalar(select(func.count(ObservationCheck.id)).where(
        ObservationCheck.day == today, ObservationCheck.status == "done"))
    assert done_today >= 8
    # Three weeks later the launcher livens it: still a dozen under observation, today's checks there.
    clock.advance(timedelta(days=21))
    liven()
    active = _active()
    assert len(active) == 12 and all(o.ends_on >= town_today() for o in active)
    assert len({o.starts_on for o in active}) >= 10
    assert db.session.scalar(select(func.count(FeverFollowUp.id)).where(FeverFollowUp.closed_at.is_(None))) >= 1
    c = app.test_client()
    assert c.get("/observation/").status_code in (302, 401)


def test_late_in_the_evening_the_demo_still_has_its_open_fever(app, clock):
    """At 21:30 every check of the day is due and most are recorded: the fever goes on a check
    still to record, so the board and the list keep one follow-up to work on."""
    clock.set(datetime(2026, 11, 30, 21, 30, tzinfo=ZoneInfo("Asia/Shanghai")))
    seed()
    db.session.commit()
    assert len(_active()) == 12
    assert db.session.scalar(select(func.count(FeverFollowUp.id)).where(FeverFollowUp.closed_at.is_(None))) == 1
