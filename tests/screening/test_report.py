"""The daily report's screening figures: the day's visits and returnees found, and where the running
campaigns stood at the cut-off, by community; the same numbers when computed again later."""
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from gridapp.extensions import db
from gridapp.reports.figures import TOWN, day_figures
from gridapp.reports.services import render_text, template_for
from tests.screening.helpers import open_campaign, record, visit_of

TOWN_ZONE = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 3, 3)
CUTOFF = datetime(2026, 3, 3, 20, 0, tzinfo=TOWN_ZONE)


def at(hour, day=DAY):
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=TOWN_ZONE)


def test_the_screening_figures_of_a_day(world, clock):
    clock.set(at(9, date(2026, 3, 2)))
    campaign = open_campaign(world.leader, starts_on=date(2026, 3, 2), ends_on=date(2026, 3, 8))
    record(visit_of(campaign, world.h4), world.gm3, "seen")  # the day before
    clock.set(at(10))
    record(visit_of(campaign, world.h1), world.head1, "returnees", present=4, returnees=2)
    record(visit_of(campaign, world.h2), world.head1, "nobody_home", revisit_on=DAY + timedelta(days=1))
    record(visit_of(campaign, world.h3), world.sec1, "refused", present=None)

    def figures():
        out = day_figures(DAY, CUTOFF, [world.c1.id, world.c2.id])
        return {k: {n: f[n] for n in f if n.startswith("screening_")} for k, f in out.items()}

    before = figures()
    assert before[world.c1.id] == {"screening_visited": 1, "screening_returnees": 2, "screening_revisit": 1,
                                   "screening_done": 2, "screening_households": 3}
    assert before[world.c2.id] == {"screening_visited": 0, "screening_returnees": 0, "screening_revisit": 0,
                                   "screening_done": 1, "screening_households": 1}
    assert before[TOWN]["screening_done"] == 3 and before[TOWN]["screening_households"] == 4
    # After the cut-off the household nobody was home at is visited: the day's figures stay.
    clock.set(at(21))
    record(visit_of(campaign, world.h2), world.head1, "seen")
    db.session.commit()
    assert figures() == before
    text = render_text(template_for("town"), day_figures(DAY, CUTOFF, [world.c1.id])[TOWN], "城关镇", DAY, CUTOFF)
    assert "当日走访1户，发现外地来（返）人员2人；累计走访3户（共4户），待再访1户" in text  # the whole town


def test_no_campaign_that_day(world, clock):
    clock.set(at(9, date(2026, 3, 5)))
    open_campaign(world.leader, starts_on=date(2026, 3, 5), ends_on=date(2026, 3, 8))
    assert day_figures(DAY, CUTOFF, [world.c1.id])[TOWN]["screening_households"] == 0
