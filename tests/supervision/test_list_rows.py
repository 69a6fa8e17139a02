"""The lists of rectification items draw each item's row once per process for the values it shows
(gridapp/core/fragments.py, supervision.views.item_rows): a change of state, owner or escalation,
and the clock passing the due time, show on every viewer's very next request; the rows kept are
those drawn fresh, in either language."""
from datetime import timedelta

from gridapp.core.fragments import store
from gridapp.extensions import db
from gridapp.supervision import services
from gridapp.supervision.models import RectificationItem
from tests.fragments import assert_kept_rows_are_fresh, viewers
from tests.supervision.factories import T0, make_item

VIEWERS = ("sup1", "leader", "secretary1")
PAGES = ("/supervision/items", "/supervision/items?overdue=1", "/supervision/items?status=", "/supervision/")


def _row(html: str, item_id: int) -> str:
    start = html.index(f'<li id="item-row-{item_id}"')
    return html[start:html.index("</li>", start) + 5]


def _item(item_id) -> RectificationItem:
    db.session.expire_all()
    return db.session.get(RectificationItem, item_id)


def test_a_change_shows_on_every_viewers_next_request(world, make_client, clock):
    clock.set(T0)
    item = make_item(world, severity="minor")
    other = make_item(world, target=world.k2)
    clients = viewers(make_client, *VIEWERS)
    first = {c: _row(c.get("/supervision/items").get_data(as_text=True), item.id) for c in clients}
    assert all("badge warn" not in row for row in first.values()) and len(store()) > 0

    services.reassign(_item(item.id), world.sup, world.gm3.id, now=T0)
    services.acknowledge(_item(item.id), world.gm3, now=T0)
    db.session.commit()
    for c in clients:
        row = _row(c.get("/supervision/items").get_data(as_text=True), item.id)
        assert row != first[c] and "Gridder3" in row

    due = _item(item.id).due_at
    clock.set(due + timedelta(minutes=1))  # overdue now: no write, only the clock
    for c in clients:
        html = c.get("/supervision/items?overdue=1").get_data(as_text=True)
        assert html.count("badge warn") >= 1 and f'id="item-row-{item.id}"' in html
        assert (f'id="item-row-{other.id}"' in html) == (_item(other.id).due_at <= due + timedelta(minutes=1))
    services.escalate_overdue(now=due + timedelta(hours=2))
    db.session.commit()
    assert _item(item.id).escalation_level
    for c in clients:
        row = _row(c.get("/supervision/items?overdue=1").get_data(as_text=True), item.id)
        assert row.count("badge warn") == 2  # escalated, and overdue


def test_the_rows_kept_are_the_rows_drawn_fresh_in_either_language(app, world, make_client, clock):
    clock.set(T0)
    items = [make_item(world, severity=s, target=t) for s, t in
             (("minor", world.k1), ("major", world.k2), ("critical", world.k3), ("major", world.k1))]
    acknowledged = _item(items[1].id)
    services.acknowledge(acknowledged, acknowledged.owner, now=T0)
    db.session.commit()
    clock.set(_item(items[0].id).due_at + timedelta(hours=3))
    services.escalate_overdue(now=_item(items[0].id).due_at + timedelta(hours=3))
    db.session.commit()
    clients = viewers(make_client, *VIEWERS)
    english, = viewers(make_client, "sup1")
    english.post("/lang", {"lang": "en"})
    assert "Overdue" in english.get(PAGES[0]).get_data(as_text=True)
    assert "Overdue" not in clients[0].get(PAGES[0]).get_data(as_text=True)
    assert_kept_rows_are_fresh(app, [*clients, english], PAGES)
