"""The disinfection panel's figures (totals, the compounds with most misses, the points missed again)
against a plain reading of the same slots in Python, for every viewer and every place they may
choose, at instants across the day: before, inside and after the windows and their grace. The
statements count the slots point by point before joining anything; this checks that they count
exactly the slots of the points each viewer sees there."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from gridapp.auth.models import User
from gridapp.disinfection import today as panel
from gridapp.disinfection.models import DisinfectionPoint, DisinfectionSlot
from gridapp.disinfection.services import grace
from gridapp.extensions import db
from gridapp.policy import can
from gridapp.today import services
from tests.disinfection.factories import at
from tests.today.factories import NOW_TEXT, TODAY, day_in_town

INSTANTS = ("05:00", "07:00", "09:10", "09:40", "10:00", "13:00", "15:00")
VIEWERS = ("admin", "leader", "sup1", "secretary1", "secretary2", "gridder1", "gridder3", "head1", "pm1", "pm2")


@pytest.fixture
def day(world, clock):
    d = day_in_town(world)
    clock.town(NOW_TEXT)
    return d


def _in_place(point, place) -> bool:
    compound = point.compound
    return {"town": True, "community": point.community_id == place.id,
            "grid": compound is not None and compound.grid_id == place.id,
            "company": compound is not None and compound.property_company_id == place.id}.get(place.kind, False)


def _expected(user, place, now):
    """The panel's figures worked out slot by slot, with the object rule can(user, "view", point)."""
    points = {p.id: p for p in db.session.scalars(select(DisinfectionPoint))
              if can(user, "view", p) and _in_place(p, place)}
    slots = [s for s in db.session.scalars(select(DisinfectionSlot)) if s.point_id in points]
    late = now - grace()

    def missed(s):
        return s.status == "missed" or (s.status == "pending" and s.ends_at <= late)

    def due(s):
        return s.status == "pending" and s.starts_at <= now < s.ends_at + grace()

    today = [s for s in slots if s.day == TODAY]
    yesterday = [s for s in slots if s.day == TODAY - timedelta(days=1)]
    groups: dict = {}
    for s in today:
        p = points[s.point_id]
        key = (p.compound_id is None, p.community_id if p.compound_id is None else p.compound_id)
        g = groups.setdefault(key, {"missed": 0, "due": 0, "done": 0})
        g["missed"] += missed(s)
        g["due"] += due(s)
        g["done"] += s.status == "done" and s.ends_at <= now
    worst = {(k[0], k[1], g["missed"], g["due"], g["done"]) for k, g in groups.items() if g["missed"] or g["due"]}
    days: dict = {}
    for s in slots:
        if TODAY - timedelta(days=panel.REPEAT_DAYS) < s.day <= TODAY and missed(s):
            days.setdefault(s.point_id, set()).add(s.day)
    repeat = {(pid, len(d)) for pid, d in days.items() if len(d) >= 2}
    return {
        "done_closed": sum(s.status == "done" and s.ends_at <= now for s in today),
        "missed": sum(missed(s) for s in today), "due": sum(due(s) for s in today),
        "done_open": sum(s.status == "done" and s.ends_at > now for s in today),
        "later": sum(s.status == "pending" and s.starts_at > now for s in today),
        "yesterday": (len(yesterday), sum(s.status == "done" for s in yesterday)),
        "worst": worst, "repeat": repeat,
    }


def _shown(data):
    return {"worst": {(w["public"], w["id"], w["missed"], w["due"], w["done"]) for w in data["worst"]},
            "repeat": {(r["point_id"], r["days"]) for r in data["repeat"]}}


@pytest.mark.parametrize("username", VIEWERS)
def test_the_panel_counts_the_slots_of_the_points_the_viewer_sees(day, clock, username):
    user = db.session.scalars(select(User).where(User.username == username)).one()
    checked, listed = 0, set()
    for hhmm in INSTANTS:
        now = clock.set(at(TODAY, hhmm))
        for place in services.choices(user):
            board = services.board(user, f"{place.kind}-{place.id}", now=now)
            data = next((d for p, d in board.panels if p.name == "disinfection"), None)
            if data is None:
                continue
            want, got = _expected(user, place, now), _shown(data)
            where = (username, place.kind, place.name, hhmm)
            assert {k: data[k] for k in ("done_closed", "missed", "due", "done_open", "later")} == {
                k: want[k] for k in ("done_closed", "missed", "due", "done_open", "later")}, where
            y_total, y_done = want["yesterday"]
            assert data["yesterday_missed"] == y_total - y_done, where
            # The lists are cut at a few rows: what is shown is among what is expected, most missed
            # first, and the totals say how many there are.
            assert data["worst_total"] == len(want["worst"]) and got["worst"] <= want["worst"], where
            assert len(data["worst"]) == min(len(want["worst"]), panel.WORST_LIMIT), where
            ranks = [(-w["missed"], -w["due"]) for w in data["worst"]]
            assert ranks == sorted(ranks), where
            assert data["repeat_total"] == len(want["repeat"]) and got["repeat"] <= want["repeat"], where
            assert len(data["repeat"]) == min(len(want["repeat"]), panel.REPEAT_LIMIT), where
            checked += 1
            listed |= {"worst"} if data["worst"] else set()
            listed |= {"repeat"} if data["repeat"] else set()
    if username != "head1":  # a building head has no disinfection board
        assert checked
    if username in ("admin", "leader", "sup1", "secretary1", "pm1"):  # p2 and p3 are theirs
        assert listed == {"worst", "repeat"}
