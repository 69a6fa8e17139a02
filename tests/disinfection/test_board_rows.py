"""The compliance board draws each compound's row once per process for the figures it shows
(gridapp/core/fragments.py, disinfection.views.board_rows): a round ticked, or a window opening,
shows on every viewer's very next request; the rows kept are those drawn fresh."""
from datetime import timedelta

from gridapp.core.fragments import store
from gridapp.disinfection import services
from gridapp.extensions import db
from gridapp.timeutil import town_today
from tests.disinfection.factories import make_point
from tests.fragments import assert_kept_rows_are_fresh, viewers

VIEWERS = ("leader", "secretary1", "sup1")


def _row(html: str, compound_id: int) -> str:
    start = html.index(f'<tr id="compound-{compound_id}">')
    return html[start:html.index("</tr>", start)]


def test_a_tick_and_the_clock_show_on_every_viewers_next_request(world, make_client, clock):
    clock.town("2026-11-25 07:00")  # before either window: nothing has begun
    now = services.utcnow()
    p = make_point(world.k1, windows="08:00-10:00,14:00-16:00", now=now - timedelta(days=1))
    make_point(world.k2, windows="08:00-10:00", now=now - timedelta(days=1))
    services.ensure_slots([town_today()])
    db.session.commit()
    clients = viewers(make_client, *VIEWERS)
    for c in clients:
        row = _row(c.get("/disinfection/board").get_data(as_text=True), world.k1.id)
        assert "0/0" in row and '<td class="today-percent">–</td>' in row
    assert len(store()) > 0

    clock.town("2026-11-25 08:30")  # the first window is open: no write, only the clock
    for c in clients:
        row = _row(c.get("/disinfection/board").get_data(as_text=True), world.k1.id)
        assert "0/1" in row and '<td class="today-percent">0%</td>' in row

    services.tick(p, world.pm1, token="board-rows", now=services.utcnow())
    db.session.commit()
    for c in clients:
        row = _row(c.get("/disinfection/board").get_data(as_text=True), world.k1.id)
        assert "1/1" in row and '<td class="today-percent">100%</td>' in row
        assert "0/1" in _row(c.get("/disinfection/board").get_data(as_text=True), world.k2.id)


def test_the_rows_kept_are_the_rows_drawn_fresh(app, world, make_client, clock):
    clock.town("2026-11-25 15:00")
    now = services.utcnow()
    points = [make_point(k, windows="08:00-10:00,14:00-16:00,20:00-22:00", now=now - timedelta(days=3))
              for k in (world.k1, world.k2, world.k3)]
    make_point(community=world.c1, place_name="文化广场", windows="08:00-10:00", now=now - timedelta(days=3))
    today = town_today()
    services.ensure_slots([today - timedelta(days=1), today])
    services.tick(points[0], world.pm1, token="a", now=now)
    db.session.commit()
    english, = viewers(make_client, "leader")
    english.post("/lang", {"lang": "en"})
    pages = ("/disinfection/board", f"/disinfection/board?community={world.c1.id}")
    assert "Public places" in english.get(pages[0]).get_data(as_text=True)
    assert_kept_rows_are_fresh(app, [*viewers(make_client, *VIEWERS), english], pages)
