"""The town board over 2,000 points × 3 windows × 30 days renders with a bounded number of queries."""
from datetime import timedelta

import pytest
from sqlalchemy import Date, Integer, String, case, func, insert, literal, select, true, union_all

from gridapp.disinfection import services
from gridapp.disinfection.models import DisinfectionPoint, DisinfectionSlot
from gridapp.extensions import db
from gridapp.grid.models import Compound
from gridapp.timeutil import UTCDateTime, town_today
from tests.disinfection.factories import make_point


@pytest.fixture(autouse=True)
def _mid_morning(clock):
    """A point made late in the evening has no window left today (and no row on the day's board):
    these tests look at a day with its windows ahead, whatever the hour the suite runs at."""
    clock.town("2026-11-25 10:00")


def _fill(world, points: int, days: int):
    """Points spread over the compounds and slots for `days` days, with set-based INSERT … SELECT."""
    today = town_today()
    created = services.utcnow() - timedelta(days=days + 1)
    compounds = [world.k1.id, world.k2.id, world.k3.id]
    rows = [{"community_id": world.c1.id if i % 3 != 2 else world.c2.id, "compound_id": compounds[i % 3],
             "place_name": "", "name": f"点{i}", "kind": "elevator", "task": "disinfection", "windows": "",
             "active": True, "last_disinfectant": "", "created_at": created} for i in range(points)]
    db.session.execute(insert(DisinfectionPoint), rows)
    # The day × window grid as a UNION ALL of literal rows (portable; SQLite has no VALUES aliases).
    grid = [select(literal(d, Date).label("day"), literal(label, String).label("window"),
                   literal(starts, UTCDateTime).label("starts_at"), literal(ends, UTCDateTime).label("ends_at"),
                   literal(i, Integer).label("n"))
            for i, d in enumerate(today - timedelta(days=k) for k in range(days))
            for label, start, end in services.parse_windows(services.DEFAULT_WINDOWS["disinfection"]["normal"])
            for starts, ends in [services.window_bounds(d, start, end)]]
    dw = union_all(*grid).subquery("dw")
    status = case(((DisinfectionPoint.id + dw.c.n) % 5 == 0, literal("missed")), else_=literal("done"))
    db.session.execute(insert(DisinfectionSlot).from_select(
        ["point_id", "day", "window", "starts_at", "ends_at", "status", "late"],
        select(DisinfectionPoint.id, dw.c.day, dw.c.window, dw.c.starts_at, dw.c.ends_at, status, literal(False))
        .select_from(DisinfectionPoint).join(dw, true()).where(DisinfectionPoint.created_at == created)))
    db.session.commit()


def _queries(count_queries, client, url):
    client.get(url)
    with count_queries() as box:
        resp = client.get(url)
    assert resp.status_code == 200
    return box["n"], resp.get_data(as_text=True)


def test_board_queries_do_not_grow_with_points_and_days(count_queries, make_client, world):
    make_point(world.k1)
    c = make_client()
    c.login("leader")
    few, html = _queries(count_queries, c, "/disinfection/board")
    _fill(world, 2000, 30)
    assert db.session.scalar(select(func.count()).select_from(DisinfectionSlot)) >= 2000 * 3 * 30
    many, html = _queries(count_queries, c, "/disinfection/board")
    assert many == few
    assert many <= 12
    assert html.count('<tr id="compound-') == 3
    # Every 5th slot was made missed: the chart shows about 80 % for each company.
    assert "80%" in html or "79%" in html or "81%" in html


def test_drill_down_queries_are_bounded(count_queries, make_client, world):
    c = make_client()
    c.login("leader")
    url = f"/disinfection/board/compounds/{world.k1.id}"
    make_point(world.k1)
    few, _html = _queries(count_queries, c, url)
    _fill(world, 300, 2)
    many, html = _queries(count_queries, c, url)
    assert many == few
    assert html.count('<li id="point-') == db.session.scalar(
        select(func.count()).select_from(DisinfectionPoint).where(DisinfectionPoint.compound_id == world.k1.id))
    assert db.session.get(Compound, world.k1.id) is not None


def test_the_chart_has_7_and_30_day_bars_per_company(make_client, world):
    import re

    from sqlalchemy import update

    today = town_today()
    start = services.utcnow() - timedelta(days=40)
    a = make_point(world.k1, windows="06:00-10:00", now=start)  # 红嘴鸥
    b = make_point(world.k2, windows="06:00-10:00", now=start)  # 远景
    make_point(world.k3, windows="06:00-10:00", now=start)  # community-run: nothing closed yet
    days = [today - timedelta(days=k) for k in range(1, 30)]
    services.ensure_slots(days, [a.id, b.id])
    services.ensure_slots([today, today + timedelta(days=1)])
    recent = [today - timedelta(days=k) for k in range(1, 8)]
    # 红嘴鸥: done all month except the last 7 days (missed); 远景: all done.
    db.session.execute(update(DisinfectionSlot).where(DisinfectionSlot.day.in_(days)).values(status="done"))
    db.session.execute(update(DisinfectionSlot).where(DisinfectionSlot.point_id == a.id,
                                                      DisinfectionSlot.day.in_(recent)).values(status="missed"))
    db.session.commit()
    c = make_client()
    c.login("leader")
    html = c.get("/disinfection/board").get_data(as_text=True)
    chart = html[html.index('id="compliance-chart"'):html.index("</svg>")]
    p7 = re.findall(r'class="p7">([^<]*)<', chart)
    p30 = re.findall(r'class="p30">([^<]*)<', chart)
    # Ordered by name, the community-run row last; 7 of 29 closed days missed for 红嘴鸥.
    assert p7 == ["0%", "100%", "–"] and p30 == [f"{round(100 * 22 / 29)}%", "100%", "–"]
    assert chart.index("红嘴鸥物业") < chart.index("远景物业")


def _month_of_rounds(world):
    """Three compounds' points with 29 closed days: 红嘴鸥 missed the last 7, the rest done."""
    from sqlalchemy import update

    today = town_today()
    start = services.utcnow() - timedelta(days=40)
    a = make_point(world.k1, windows="06:00-10:00", now=start)  # 红嘴鸥
    b = make_point(world.k2, windows="06:00-10:00", now=start)  # 远景
    c = make_point(world.k3, windows="06:00-10:00", now=start)  # community-run
    days = [today - timedelta(days=k) for k in range(1, 30)]
    services.ensure_slots(days, [a.id, b.id, c.id])
    services.ensure_slots([today, today + timedelta(days=1)])
    db.session.execute(update(DisinfectionSlot).where(DisinfectionSlot.day.in_(days)).values(status="done"))
    db.session.execute(update(DisinfectionSlot).where(DisinfectionSlot.point_id == a.id,
                                                      DisinfectionSlot.day.in_(days[:7])).values(status="missed"))
    db.session.execute(update(DisinfectionSlot).where(DisinfectionSlot.point_id == c.id,
                                                      DisinfectionSlot.day == days[3]).values(status="missed"))
    db.session.commit()
    return today, days


def _charts(world):
    from gridapp.auth.models import User

    users = [db.session.scalar(select(User).where(User.username == n)) for n in ("leader", "secretary1", "pm1", "pm2")]
    today = town_today()
    return [services.company_compliance(u, today) for u in users] + \
        [services.company_compliance(u, today, services.board_today(u, today)) for u in users]


def test_day_tallies_give_the_chart_the_slots_give(world):
    from gridapp.disinfection.models import DisinfectionDayTally, DisinfectionTalliedDay

    today, days = _month_of_rounds(world)
    # A day the sweep has not closed yet (a slot still pending) is left to the slots.
    db.session.execute(update_slot_status(days[10], "pending"))
    db.session.commit()
    from_slots = _charts(world)
    assert from_slots[0][0]["closed30"] == 28 and from_slots[0][0]["done30"] == 21  # 红嘴鸥, leader
    assert services.tally_closed_days(today) == 29  # 30 days back, one of them still open
    db.session.commit()
    assert services.tally_closed_days(today) == 0  # once
    tallied = set(db.session.scalars(select(DisinfectionTalliedDay.day)))
    assert days[10] not in tallied and today not in tallied and days[0] in tallied
    assert db.session.scalar(select(func.sum(DisinfectionDayTally.slots))) == 3 * 28
    assert _charts(world) == from_slots
    # The day closes (its window marked): the next sweep tallies it, and the chart still agrees.
    db.session.execute(update_slot_status(days[10], "done"))
    db.session.commit()
    closed = _charts(world)
    assert services.tally_closed_days(today) == 1
    db.session.commit()
    assert _charts(world) == closed


def update_slot_status(day, status):
    from sqlalchemy import update

    return update(DisinfectionSlot).where(DisinfectionSlot.day == day).values(status=status)


def test_the_sweep_tallies_closed_days_and_the_board_reads_them(count_queries, make_client, world):
    from jobs.disinfection import sweep_disinfection

    _month_of_rounds(world)
    services.mark_missed()  # today's windows already over: the sweep below then only tallies
    db.session.commit()
    c = make_client()
    c.login("leader")
    before, html_before = _queries(count_queries, c, "/disinfection/board")
    result = sweep_disinfection()
    assert result["tallied_days"] == 30 and sweep_disinfection()["tallied_days"] == 0
    after, html_after = _queries(count_queries, c, "/disinfection/board")
    assert after == before
    chart = html_after[html_after.index('id="compliance-chart"'):html_after.index("</svg>")]
    assert chart == html_before[html_before.index('id="compliance-chart"'):html_before.index("</svg>")]
    assert "<title>22/" in chart  # 红嘴鸥's 30 days: 22 done (of 29 closed days, and today if its window is over)


def test_at_midnight_the_board_counts_no_window_still_ahead_and_shows_yesterday(make_client, world, clock):
    from sqlalchemy import update

    clock.town("2026-11-25 00:30")
    today = town_today()
    yesterday = today - timedelta(days=1)
    p = make_point(world.k1, windows="06:00-10:00,14:00-18:00", now=services.utcnow() - timedelta(days=3))
    services.ensure_slots([yesterday, today], [p.id])
    db.session.execute(update(DisinfectionSlot).where(DisinfectionSlot.day == yesterday,
                                                      DisinfectionSlot.window == "06:00-10:00").values(status="done"))
    db.session.execute(update(DisinfectionSlot).where(DisinfectionSlot.day == yesterday,
                                                      DisinfectionSlot.window == "14:00-18:00").values(status="missed"))
    db.session.commit()
    c = make_client()
    c.login("leader")
    html = c.get("/disinfection/board").get_data(as_text=True)
    row = html.split(f'<tr id="compound-{world.k1.id}">', 1)[1].split("</tr>", 1)[0]
    assert "0/0" in row and '<td class="today-percent">–</td>' in row  # not "0/2 0%": nothing has begun
    assert '<td class="yesterday">50% <span class="error">(漏做 1 次)</span></td>' in row
    clock.town("2026-11-25 15:00")  # the first window closed undone, the second open
    db.session.execute(update(DisinfectionSlot).where(DisinfectionSlot.day == today,
                                                      DisinfectionSlot.window == "06:00-10:00").values(status="missed"))
    db.session.commit()
    row = c.get("/disinfection/board").get_data(as_text=True).split(f'<tr id="compound-{world.k1.id}">', 1)[1]
    assert "0/2" in row.split("</tr>", 1)[0] and '<td class="today-percent">0%</td>' in row


def test_the_board_narrows_to_a_community_from_its_today_board(make_client, world):
    from tests.disinfection.factories import ALL_DAY, make_point

    make_point(world.k1, windows=ALL_DAY, name="阳光电梯")
    make_point(world.k3, windows=ALL_DAY, name="家属楼电梯")  # c2
    c = make_client()
    c.login("leader")
    whole = c.get("/disinfection/board").get_data(as_text=True)
    assert world.k1.name in whole and world.k3.name in whole
    narrowed = c.get(f"/disinfection/board?community={world.c1.id}").get_data(as_text=True)
    today = narrowed.split("</h2>", 1)[1].split("<h2>", 1)[0]
    assert world.k1.name in today and world.k3.name not in today
