"""The missed-round sweep with frozen time: set-based, idempotent, one notice per event."""
from datetime import date, timedelta

from sqlalchemy import func, select

from gridapp.disinfection import services
from gridapp.disinfection.models import DisinfectionFlag, DisinfectionSlot
from gridapp.extensions import db
from gridapp.jobs_runtime import enqueue
from gridapp.notifications.models import Notification
from gridapp.timeutil import town_today
from jobs.disinfection import sweep_disinfection
from tests.disinfection.factories import at, make_point, make_points
from tests.workers import run_burst_worker

DAY = date(2026, 3, 2)
T0 = at(DAY, "00:00")  # when the points were set up


def _notices(user, kind):
    db.session.expire_all()
    return db.session.scalars(select(Notification).where(Notification.user_id == user.id,
                                                         Notification.kind == kind)).all()


def _statuses(point_id, day=DAY):
    db.session.expire_all()
    return [s.status for s in db.session.scalars(select(DisinfectionSlot).where(
        DisinfectionSlot.point_id == point_id, DisinfectionSlot.day == day).order_by(DisinfectionSlot.starts_at))]


def test_a_closed_window_is_missed_only_after_the_grace(world):
    p = make_point(world.k1, now=T0)
    services.ensure_slots([DAY], [p.id])
    db.session.commit()
    sweep_disinfection(at=at(DAY, "10:29").isoformat())
    assert _statuses(p.id) == ["pending"] * 3
    assert _notices(world.pm1, "disinfection_missed") == []
    sweep_disinfection(at=at(DAY, "10:30").isoformat())
    assert _statuses(p.id) == ["missed", "pending", "pending"]


def test_the_sweep_run_twice_marks_and_notifies_once(world):
    done, missed = make_points(world.k1, count=2, name="电梯", now=T0)
    services.ensure_slots([DAY])
    services.tick(done, world.pm1, token="t", now=at(DAY, "07:00"))
    db.session.commit()
    first = sweep_disinfection(at=at(DAY, "11:00").isoformat())
    second = sweep_disinfection(at=at(DAY, "11:05").isoformat())
    assert first["missed"] == 1 and second["missed"] == 0
    assert _statuses(done.id)[0] == "done" and _statuses(missed.id)[0] == "missed"
    notices = _notices(world.pm1, "disinfection_missed")
    assert len(notices) == 1
    assert "电梯 2" in notices[0].body and "电梯 1" not in notices[0].body
    assert "06:00-10:00" in notices[0].body
    # pm2 (远景) answers for other compounds; the secretary is not told about one miss.
    assert _notices(world.pm2, "disinfection_missed") == []
    assert _notices(world.sec1, "disinfection_compound") == []


def test_community_run_points_notify_the_secretary_and_grid_member(world):
    p = make_point(world.k3, now=T0)  # a work unit's compound: no property company
    services.ensure_slots([DAY], [p.id])
    db.session.commit()
    sweep_disinfection(at=at(DAY, "11:00").isoformat())
    assert len(_notices(world.sec2, "disinfection_missed")) == 1
    assert len(_notices(world.gm3, "disinfection_missed")) == 1
    assert _notices(world.pm1, "disinfection_missed") == []


def test_a_compound_with_three_misses_in_a_day_tells_the_secretary_once(world):
    make_points(world.k1, count=2, now=T0)
    services.ensure_slots([DAY])
    db.session.commit()
    sweep_disinfection(at=at(DAY, "10:45").isoformat())  # 2 misses
    assert _notices(world.sec1, "disinfection_compound") == []
    sweep_disinfection(at=at(DAY, "15:45").isoformat())  # 4 misses
    sweep_disinfection(at=at(DAY, "21:45").isoformat())  # 6 misses
    notices = _notices(world.sec1, "disinfection_compound")
    assert len(notices) == 1 and world.k1.name in notices[0].title
    assert _notices(world.sec2, "disinfection_compound") == []
    # The manager has not read them: one notice, one line per window, the latest first.
    missed = _notices(world.pm1, "disinfection_missed")
    assert len(missed) == 1 and len(missed[0].body.splitlines()) == 3
    assert missed[0].body.splitlines()[0].split()[2] > missed[0].body.splitlines()[-1].split()[2]


def test_three_days_of_misses_raise_one_flag_and_one_item(world):
    p = make_point(world.k1, windows="06:00-10:00", now=T0)
    other = make_point(world.k1, windows="06:00-10:00", now=T0)
    days = [DAY + timedelta(days=i) for i in range(4)]
    services.ensure_slots(days)
    db.session.commit()
    services.tick(other, world.pm1, token="o", now=at(days[1], "07:00"))  # breaks the run of `other`
    db.session.commit()
    for d in days[:2]:
        sweep_disinfection(at=at(d, "12:00").isoformat())
    assert db.session.scalar(select(func.count()).select_from(DisinfectionFlag)) == 0
    sweep_disinfection(at=at(days[2], "12:00").isoformat())
    sweep_disinfection(at=at(days[2], "12:05").isoformat())
    sweep_disinfection(at=at(days[3], "12:00").isoformat())  # still the same run: the flag is open
    flags = db.session.scalars(select(DisinfectionFlag)).all()
    assert [(f.point_id, f.last_day) for f in flags] == [(p.id, days[2])]
    # It became a supervision item for 红嘴鸥's manager (tests/disinfection/test_findings.py).
    assert len(_notices(world.pm1, "supervision_item")) == 1
    assert _notices(world.sec1, "disinfection_flag") == []


def test_the_sweep_runs_in_a_real_worker(app, world):
    p = make_point(world.k1, now=at(town_today(), "00:00"))
    today = town_today()
    db.session.commit()
    enqueue(sweep_disinfection, at=at(today + timedelta(days=1), "06:00").isoformat(), job_timeout=120)
    proc = run_burst_worker(app)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # Today's three windows have closed by tomorrow 06:00: the worker marked them missed.
    assert _statuses(p.id, today) == ["missed"] * 3
    notices = _notices(world.pm1, "disinfection_missed")
    assert len(notices) == 1 and len(notices[0].body.splitlines()) == 3  # one sweep, one digest


def test_the_sweep_makes_only_the_missing_days_slots(world, count_queries):
    kept, lost = make_points(world.k1, count=2, name="电梯", now=T0)  # creation makes today's and tomorrow's
    db.session.execute(DisinfectionSlot.__table__.delete().where(DisinfectionSlot.point_id == lost.id,
                                                                 DisinfectionSlot.day == DAY))
    db.session.commit()
    with count_queries() as box:
        first = sweep_disinfection(at=at(DAY, "05:00").isoformat())
    assert first["slots"] == 3  # only the point without today's slots gets them
    assert len([s for s in box["sql"] if "INSERT INTO disinfection_slots" in s]) == 1
    assert len(_statuses(lost.id)) == 3 and len(_statuses(kept.id)) == 3
    with count_queries() as box:
        second = sweep_disinfection(at=at(DAY, "05:05").isoformat())
    assert second["slots"] == 0
    assert not [s for s in box["sql"] if "INSERT INTO disinfection_slots" in s]
