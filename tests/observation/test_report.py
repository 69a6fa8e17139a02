"""The daily report's home-observation figures: under observation, fever reports, observations ended."""
from datetime import date, timedelta
from decimal import Decimal

import pytest

from gridapp.extensions import db
from gridapp.observation import services
from gridapp.reports.figures import TOWN, day_figures
from gridapp.timeutil import pin_clock
from tests.observation.factories import T0, make_person, start

H = timedelta(hours=1)


@pytest.fixture(autouse=True)
def _clock():
    yield
    pin_clock(None)


def test_the_days_figures_count_observations_fevers_and_ends(world):
    first = start(world)
    second = start(world, person=make_person(world, name="李二", phone=""))
    start(world, person=make_person(world, household=world.h4, name="赵七", phone=""), actor=world.gm3)
    at = T0 + 3 * H
    pin_clock(at)
    services.record_check(services.current_check(first, at), world.head1, {"temperature": Decimal("38.1")},
                          "in_person", now=at)
    services.close_observation(second, world.gm1, "end_early", "转集中隔离", now=at)
    db.session.commit()
    figures = day_figures(date(2026, 11, 30), T0 + 13 * H, [world.c1.id, world.c2.id])
    c1, c2, town = figures[world.c1.id], figures[world.c2.id], figures[TOWN]
    assert (c1["observation_active"], c1["observation_fevers"], c1["observation_ended"]) == (1, 1, 1)
    assert (c2["observation_active"], c2["observation_fevers"], c2["observation_ended"]) == (1, 0, 0)
    assert (town["observation_active"], town["observation_fevers"], town["observation_ended"]) == (2, 1, 1)
    # As it stood before the fever and the early end: the same day with an earlier cut-off.
    early = day_figures(date(2026, 11, 30), T0 + H, [world.c1.id])[world.c1.id]
    assert (early["observation_active"], early["observation_fevers"], early["observation_ended"]) == (2, 0, 0)
