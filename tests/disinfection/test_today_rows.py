"""Today's rounds draw each round's row and each compound's line once per process for what they show
(gridapp/core/fragments.py, disinfection.views.today_rows and group_rows): a tick, and the clock
opening a window, show on every manager's very next request; each due row's form carries a tick token
of its own, new in every response, that records the round; the rows kept are those drawn fresh; and
the counts taken from the compounds' lines are those counted by state."""
import re

from gridapp.core.fragments import store
from gridapp.disinfection import services
from gridapp.disinfection.models import DisinfectionRound
from gridapp.extensions import db
from gridapp.grid.models import Compound
from tests.disinfection.factories import ALL_DAY, make_point, make_points
from tests.factories import make_user
from tests.fragments import assert_kept_rows_are_fresh, viewers

TICK_TOKENS = re.compile(r'name="token" id="tick-([^"]+)-token" value="([^"]+)"')


def _managers(world, make_client):
    make_user("pm1b", ("property_manager", world.hzo))
    return viewers(make_client, "pm1", "pm1b")


def _row(html: str, slot_id: int) -> str:
    start = html.index(f'<li id="slot-{slot_id}"')
    return html[start:html.index("</li>", start)]


def _slot_of(point_id: int):
    from sqlalchemy import select

    from gridapp.disinfection.models import DisinfectionSlot
    db.session.expire_all()
    return db.session.scalars(select(DisinfectionSlot).where(DisinfectionSlot.point_id == point_id)
                              .order_by(DisinfectionSlot.starts_at)).first()


def test_a_tick_and_the_clock_show_on_every_managers_next_request(world, make_client, clock):
    clock.town("2026-11-25 07:30")
    p = make_point(world.k1, windows="08:00-10:00", name="阳光电梯")
    other = make_point(world.k1, windows=ALL_DAY, name="阳光楼道")
    managers = _managers(world, make_client)
    for c in managers:
        html = c.get("/disinfection/").get_data(as_text=True)
        assert f'id="slot-{_slot_of(p.id).id}"' not in html  # not due yet
        assert "阳光楼道" in html
    assert len(store()) > 0

    clock.town("2026-11-25 08:05")  # the window opened: only the clock moved
    slot = _slot_of(p.id)
    pages = [c.get("/disinfection/").get_data(as_text=True) for c in managers]
    for html in pages:
        assert 'data-status="due"' in _row(html, slot.id) and "tick-button" in _row(html, slot.id)
    # Each due row's tick token is its own, and new in each response.
    tokens = [dict((m[1], m[2]) for m in TICK_TOKENS.finditer(html)) for html in pages]
    assert all(len(t) == 2 for t in tokens)
    assert len({v for t in tokens for v in t.values()}) == 4
    assert all(k == v for t in tokens for k, v in t.items())  # the ids carry the row's own token

    # The first manager ticks with their row's plain form (no JavaScript).
    row = _row(pages[0], slot.id)
    data = dict(re.findall(r'name="(csrf_token|token|view|disinfectant|slot)"[^>]*value="([^"]*)"', row))
    assert managers[0].post(f"/disinfection/points/{p.id}/tick", data, csrf=False).status_code in (302, 303)
    assert db.session.query(DisinfectionRound).filter_by(point_id=p.id).count() == 1
    for c in managers:
        row = _row(c.get(f"/disinfection/?compound={world.k1.id}").get_data(as_text=True), slot.id)
        assert 'data-status="done"' in row and "Pm1" in row and "tick-button" not in row
    assert _slot_of(other.id)


def test_the_rows_kept_are_the_rows_drawn_fresh(app, world, make_client, clock):
    clock.town("2026-11-25 05:00")
    k4 = Compound(grid=world.g1, name="新华小区", address="城关镇新华路2号", property_company=world.hzo)
    db.session.add(k4)
    db.session.commit()
    make_points(world.k1, count=3, windows=ALL_DAY, name="阳光电梯")
    make_point(world.k1, windows="20:00-21:00", name="阳光楼道")
    make_point(k4, windows="06:00-07:00", name="新华垃圾点")
    make_point(community=world.c1, place_name="文化广场", windows=ALL_DAY)
    clock.town("2026-11-25 10:00")
    ticked = make_point(k4, windows=ALL_DAY, name="新华电梯")
    services.today_groups(world.pm1, services.utcnow())
    services.tick(ticked, world.pm1, token="t", now=services.utcnow())
    db.session.commit()
    managers = _managers(world, make_client)
    pages = ["/disinfection/", f"/disinfection/?compound={world.k1.id}", f"/disinfection/?compound={k4.id}"]
    assert "tick-button" in managers[0].get(pages[0]).get_data(as_text=True)
    assert_kept_rows_are_fresh(app, managers, pages, TICK_TOKENS)


def test_the_counts_from_the_compounds_lines_are_the_counts_by_state(world, clock):
    clock.town("2026-11-25 05:00")
    make_points(world.k1, count=2, windows="06:00-07:00,09:00-12:00,20:00-21:00", name="阳光电梯")
    make_point(world.k2, windows="06:00-07:00,09:00-12:00", name="育才电梯")
    make_point(community=world.c1, place_name="文化广场", windows=ALL_DAY)
    for hhmm in ("05:30", "06:30", "07:10", "08:00", "10:00", "12:10", "13:00", "20:30", "23:30"):
        now = clock.town(f"2026-11-25 {hhmm}")
        if hhmm == "10:00":
            services.tick(make_point(world.k1, windows=ALL_DAY, name="新电梯"), world.pm1, token="n", now=now)
        if hhmm == "13:00":
            services.mark_missed(now)
        db.session.commit()
        for user in (world.pm1, world.pm2, world.sec1, world.leader):
            groups = services.today_groups(user, now)
            for group in [None, *((g.kind, g.id) for g in groups)]:
                for due_only in (False, True):
                    counted = services.today_for(user, now, group=group, due_only=due_only)
                    given = services.today_for(user, now, group=group, due_only=due_only, groups=groups)
                    assert given[1:] == counted[1:], (hhmm, user.username, group, due_only)
                    assert [r[0].id for r in given[0]] == [r[0].id for r in counted[0]]
