"""Home observation costs the same SQL statements for more people under observation: the list (with its
open fever follow-ups), the community's ledger and the sweep's day of checks send no statement per row
(the benchmark's town and county datasets rely on it, bench/run.py)."""
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from gridapp.extensions import db
from gridapp.observation import services
from gridapp.observation.models import FeverFollowUp, ObservationCheck
from gridapp.timeutil import pin_clock
from jobs.observation import sweep_observation
from tests.factories import make_household
from tests.observation.factories import T0, make_person, start

H = timedelta(hours=1)


@pytest.fixture(autouse=True)
def _clock():
    yield
    pin_clock(None)


def _observe(world, compound, room, fever: bool):
    """A person of a new household of `compound` under observation since T0; with a fever at 08:00."""
    household = make_household(compound, room)
    db.session.commit()
    obs = start(world, person=make_person(world, household, name=f"甲{room}", phone=f"1390939{room:04d}"),
                actor=world.sec1)
    if fever:
        at = T0 + 1 * H
        pin_clock(at)
        services.record_check(services.current_check(obs, at), world.sec1,
                              {"temperature": Decimal("38.1"), "cough": True}, "phone", now=at)
        db.session.commit()
    return obs


def _statements(make_client, count_queries, username, path):
    client = make_client()
    client.login(username)
    client.get(path)  # the first request of a session may touch the login session
    with count_queries() as counted:
        html = client.get(path).text
    return counted["n"], html


def test_the_list_and_the_ledger_cost_the_same_statements_for_more_people_and_fevers(make_client, world,
                                                                                      count_queries):
    _observe(world, world.k1, 701, fever=True)
    pages = [("leader", "/observation/"), ("gridder1", "/observation/"),
             ("secretary1", f"/observation/ledger/{world.c1.id}")]
    few = {p: _statements(make_client, count_queries, *p) for p in pages}
    # More people, in another grid of the community too, each with an open follow-up.
    for i in range(4):
        _observe(world, world.k2 if i % 2 else world.k1, 702 + i, fever=True)
    assert db.session.scalar(select(func.count(FeverFollowUp.id)).where(FeverFollowUp.closed_at.is_(None))) == 5
    many = {p: _statements(make_client, count_queries, *p) for p in pages}
    for p in pages:
        assert few[p][0] == many[p][0], p
    # The pages do show the others: the leader all five, grid member 1 the three of grid 1.
    assert many[pages[0]][1].count("38.1 ℃") == 5
    assert many[pages[1]][1].count("38.1 ℃") == 3
    assert many[pages[2]][1].count("/observation/") >= 5


def test_the_sweep_makes_the_days_checks_in_the_same_statements_for_more_people(world, count_queries,
                                                                                 monkeypatch):
    # A batch of two rows per INSERT: rows sent one batch after another would show as more statements
    # here with a handful of people, as they would with a county's thousands at the default batch size.
    monkeypatch.setattr(db.engine.dialect, "insertmanyvalues_page_size", 2)

    def sweep_statements():
        with count_queries() as counted:
            sweep_observation(T0.isoformat())  # 07:00 of the first day: the day's checks, nothing due yet
        return counted["n"]

    _observe(world, world.k1, 701, fever=False)
    few = sweep_statements()
    for i in range(5):
        _observe(world, world.k2 if i % 2 else world.k1, 702 + i, fever=False)
    db.session.execute(ObservationCheck.__table__.delete())  # the sweep makes them all again
    db.session.commit()
    many = sweep_statements()
    assert few == many
    day = T0.date()
    assert db.session.scalar(select(func.count(ObservationCheck.id)).where(ObservationCheck.day == day)) == 12
