"""The reminder ladder near a campaign's end, with a frozen clock: building heads, then grid members,
then secretaries, once per rung and place, one notice per person listing their places; two sweeps at
once tell once; a real RQ worker runs the sweep."""
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from gridapp.auth.services import assign_role
from gridapp.extensions import db
from gridapp.notifications.models import Notification
from gridapp.screening import services
from gridapp.screening.models import ScreeningReminder
from jobs.periodic import by_name
from jobs.screening import sweep_screening
from tests.concurrency import at_once
from tests.factories import make_household
from tests.screening.helpers import open_campaign, record, visit_of
from tests.workers import run_burst_worker

TOWN = ZoneInfo("Asia/Shanghai")
START, END = date(2026, 3, 2), date(2026, 3, 8)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TOWN)


@pytest.fixture
def campaign(world, clock):
    clock.town("2026-03-02 09:00")
    return open_campaign(world.leader, starts_on=START, ends_on=END)


def sweep(moment: datetime) -> dict:
    """The periodic job, as `flask jobs run sweep-screening --at ISO` runs it."""
    result = sweep_screening(moment.isoformat())
    db.session.expire_all()
    return result


def bodies(user) -> str:
    """Everything the person's screening notices say (a newer digest folds an unread older one in)."""
    return "\n".join(db.session.scalars(select(Notification.body).where(
        Notification.user_id == user.id, Notification.kind == "screening_reminder")))


def reached(level: int) -> set[int]:
    return set(db.session.scalars(select(ScreeningReminder.place_id).where(ScreeningReminder.level == level)))


def levels(result) -> tuple:
    return result["level1"], result["level2"], result["level3"]


def test_the_sweep_runs_every_fifteen_minutes():
    assert by_name("sweep-screening").interval == 900


def test_the_ladder_building_heads_then_grid_members_then_secretaries(world, campaign):
    assert services.level_days(campaign) == {1: date(2026, 3, 6), 2: date(2026, 3, 7), 3: END}
    record(visit_of(campaign, world.h4), world.gm3, "seen")  # 监管局家属楼 is done
    assert levels(sweep(at(date(2026, 3, 6), 7, 59))) == (0, 0, 0)
    assert levels(sweep(at(date(2026, 3, 6), 8, 0))) == (2, 0, 0)
    assert reached(1) == {world.k1.id, world.k2.id}
    # head1 for his compound; 育才楼院 has no building head, and its grid no grid member: its secretary.
    assert "阳光小区，2 户未走访" in bodies(world.head1) or "阳光小区, 2 households" in bodies(world.head1)
    assert "育才楼院" in bodies(world.sec1) and bodies(world.gm1) == "" and bodies(world.gm3) == ""
    assert levels(sweep(at(date(2026, 3, 6), 8, 15))) == (0, 0, 0)  # once per rung and place
    assert levels(sweep(at(date(2026, 3, 7), 8, 0))) == (0, 2, 0)
    assert reached(2) == {world.g1.id, world.g2.id}
    assert "第一网格" in bodies(world.gm1) and "第二网格" in bodies(world.sec1)
    assert levels(sweep(at(END, 8, 0))) == (0, 0, 1)
    assert reached(3) == {world.c1.id}
    assert "城关社区" in bodies(world.sec1) and bodies(world.sec2) == ""  # 东城社区 has nothing left
    assert levels(sweep(at(END, 20, 0))) == (0, 0, 0)
    assert levels(sweep(at(END + timedelta(days=3), 8, 0))) == (0, 0, 0)  # never again


def test_one_notice_per_person_listing_each_place(world, campaign):
    assign_role(None, world.head1, "building_head", world.k2.id)
    db.session.commit()
    sweep(at(date(2026, 3, 6), 8, 0))
    (notice,) = db.session.scalars(select(Notification).where(Notification.user_id == world.head1.id)).all()
    assert "阳光小区" in notice.body and "育才楼院" in notice.body
    assert len(notice.body.splitlines()) == 2
    assert "张三" not in notice.body  # places and numbers, never a resident


def test_a_late_sweep_climbs_every_rung_at_once_and_the_ladder_never_comes_down(world, campaign):
    assert levels(sweep(at(END, 9, 0))) == (3, 3, 2)
    for v in (world.h1, world.h2, world.h3, world.h4):
        record(visit_of(campaign, v), world.admin, "seen")
    assert levels(sweep(at(END, 10, 0))) == (0, 0, 0)
    assert len(reached(1)) == 3  # kept: what was sent stays sent


def test_households_visited_are_not_reminded_of(world, campaign):
    for h in (world.h1, world.h2):
        record(visit_of(campaign, h), world.head1, "seen")
    record(visit_of(campaign, world.h3), world.sec1, "nobody_home", revisit_on=date(2026, 3, 3))
    sweep(at(date(2026, 3, 6), 8, 0))
    assert reached(1) == {world.k2.id, world.k3.id}  # nobody home is still to do
    assert bodies(world.head1) == ""
    row = db.session.scalars(select(ScreeningReminder).where(ScreeningReminder.place_id == world.k2.id)).one()
    assert (row.households, row.to_revisit) == (1, 1)


def test_a_household_registered_later_is_added_and_counted(world, campaign):
    make_household(world.k1, 109)
    db.session.commit()
    assert sweep(at(date(2026, 3, 6), 8, 0))["added"] == 1
    row = db.session.scalars(select(ScreeningReminder).where(ScreeningReminder.place_id == world.k1.id)).one()
    assert row.households == 3


def test_the_days_before_the_end_are_a_setting(app, world, campaign):
    app.config["SCREENING_REMIND_DAYS"] = 4
    assert services.level_days(campaign) == {1: date(2026, 3, 4), 2: date(2026, 3, 5), 3: END}
    assert levels(sweep(at(date(2026, 3, 4), 8, 0)))[0] == 3
    app.config["SCREENING_REMIND_DAYS"] = 1  # the building heads and grid members the day before
    assert services.level_days(campaign) == {1: date(2026, 3, 7), 2: date(2026, 3, 7), 3: END}


def test_a_closed_campaign_reminds_nobody(world, campaign):
    services.close_campaign(campaign, world.leader, "疫情解除，停止排查")
    db.session.commit()
    assert levels(sweep(at(END, 9, 0))) == (0, 0, 0)


def test_two_sweeps_at_once_tell_once_per_rung(app, world, campaign):
    db.session.commit()
    for moment in (at(date(2026, 3, 6), 8, 0), at(END, 8, 0)):
        at_once(app, lambda moment=moment: sweep_screening(moment.isoformat()))
    db.session.expire_all()
    for level, places in ((1, 3), (2, 3), (3, 2)):
        assert db.session.scalar(select(func.count(ScreeningReminder.id)).where(ScreeningReminder.level == level)) \
            == places
    # Each person told of each place once: the lines of all their notices, without repeats.
    for user, n in ((world.head1, 1), (world.gm3, 2), (world.sec2, 1)):
        lines = [line for body in db.session.scalars(select(Notification.body).where(
            Notification.user_id == user.id)) for line in body.splitlines()]
        assert len(lines) == len(set(lines)) == n, lines


def test_a_real_worker_runs_the_sweep(app, world, campaign):
    from gridapp.jobs_runtime import enqueue

    enqueue(sweep_screening, at(END, 9, 0).isoformat(), job_id="sweep-screening-test", job_timeout=60)
    result = run_burst_worker(app)
    assert result.returncode == 0, result.stdout + result.stderr
    db.session.expire_all()
    assert len(reached(3)) == 2
    db.session.commit()


def test_the_setting_is_read_from_the_environment(monkeypatch, tmp_path):
    from gridapp import create_app
    from tests.conftest import test_config

    monkeypatch.setenv("SCREENING_REMIND_DAYS", "3")
    app = create_app(test_config(INSTANCE_PATH=str(tmp_path), REDIS_URL="redis://127.0.0.1:1/0"))
    with app.app_context():
        assert services.remind_days() == 3
