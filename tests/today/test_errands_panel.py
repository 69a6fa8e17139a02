"""The errands panel's counts (waiting, urgent, claimed, awaiting confirmation, filed and delivered
today) against the same errands counted here one by one, for every viewer and every place they may
choose, with errands of every state and day: the statement reads only the errands one of its counts
names (under way, filed today, delivered today, each by its index), and this checks that none it
should count is left out."""
from datetime import timedelta

import pytest
from sqlalchemy import and_, select

from gridapp.auth.models import User
from gridapp.errands import policy
from gridapp.errands import today as panel
from gridapp.errands.models import Errand
from gridapp.extensions import db
from gridapp.policy import scope_of
from gridapp.timeutil import town_midnight
from gridapp.today import services
from tests.disinfection.factories import at
from tests.errands import factories as errands
from tests.today.factories import NOW_TEXT, TODAY, YESTERDAY, day_in_town

VIEWERS = ("admin", "leader", "sup1", "secretary1", "secretary2", "gridder1", "gridder3", "head1", "pm1", "vol1")


@pytest.fixture
def day(world, clock):
    d = day_in_town(world)
    # Beside e1–e5: errands done or called off, today and before, in both communities.
    week_ago = TODAY - timedelta(days=7)
    for household, filed, delivered in (
            (world.h1, at(TODAY, "06:10"), at(TODAY, "07:40")),  # filed and delivered today
            (world.h3, at(YESTERDAY, "09:00"), at(TODAY, "08:10")),  # delivered today
            (world.h4, at(YESTERDAY, "15:00"), at(TODAY, "09:05")),  # 东城社区's
            (world.h2, at(week_ago, "09:00"), at(week_ago, "12:00")),  # counted nowhere
            (world.h3, at(YESTERDAY, "11:00"), at(YESTERDAY, "13:00"))):
        e = errands.make_errand(world, by=world.sec2 if household is world.h4 else world.sec1, household=household,
                                now=filed)
        e.status, e.delivered_at = "confirmed", delivered  # as after a delivery confirmed
    for household, filed in ((world.h2, at(TODAY, "07:15")), (world.h4, at(week_ago, "10:00"))):
        errands.make_errand(world, by=world.sec2 if household is world.h4 else world.sec1, household=household,
                            now=filed).status = "cancelled"
    db.session.commit()
    clock.town(NOW_TEXT)
    return d


def _expected(user, place):
    """The six counts over the errands the viewer's lists hold there, worked out errand by errand."""
    rows = db.session.scalars(select(Errand).where(
        and_(policy.staff_clause(user, scope_of(user)), panel._in_place(place)))).all()
    midnight = town_midnight(TODAY)
    return {"open": sum(e.status == "open" for e in rows),
            "urgent": sum(e.status == "open" and e.urgent for e in rows),
            "claimed": sum(e.status == "claimed" for e in rows),
            "delivered": sum(e.status == "delivered" for e in rows),
            "filed_today": sum(e.filed_at >= midnight for e in rows),
            "delivered_today": sum(e.delivered_at is not None and e.delivered_at >= midnight for e in rows)}


@pytest.mark.parametrize("username", VIEWERS)
def test_the_panel_counts_every_errand_it_names(day, clock, username):
    user = db.session.scalars(select(User).where(User.username == username)).one()
    checked, seen = 0, set()
    for place in services.choices(user):
        board = services.board(user, f"{place.kind}-{place.id}", now=clock.now)
        data = next((d for p, d in board.panels if p.name == "errands"), None)
        if data is None:
            continue
        want = _expected(user, place)
        assert {k: data[k] for k in want} == want, (username, place.kind, place.name)
        checked += 1
        seen |= {k for k, v in want.items() if v}
    if username in ("admin", "leader", "secretary1"):
        assert seen == {"open", "urgent", "claimed", "delivered", "filed_today", "delivered_today"}
        assert checked
