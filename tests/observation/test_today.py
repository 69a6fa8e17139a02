"""The today board's home-observation panel: counted for the viewer's place, at a pinned instant."""
import re
from datetime import timedelta
from decimal import Decimal

import pytest

from gridapp.extensions import db
from gridapp.observation import services
from gridapp.timeutil import pin_clock
from tests.observation.factories import T0, make_person, start

H = timedelta(hours=1)


@pytest.fixture(autouse=True)
def _clock():
    yield
    pin_clock(None)


def _figures(html):
    return {m.group(1): int(m.group(2)) for m in re.finditer(r'id="(obs-[a-z]+)" data-n="(\d+)"', html)}


def test_the_panel_counts_observations_checks_and_fevers_of_the_place(make_client, world):
    first = start(world)
    second = start(world, person=make_person(world, name="李二", phone=""))
    at = T0 + 3 * H  # 10:00: the 08:00 checks are an hour late
    pin_clock(at)
    services.record_check(services.current_check(first, at), world.head1, {"temperature": Decimal("37.5")},
                          "in_person", now=at)
    db.session.commit()
    assert second.status == "active"
    c = make_client()
    c.login("secretary1")
    html = c.get("/today/").text
    assert 'id="panel-observation"' in html
    assert _figures(html) == {"obs-active": 2, "obs-due": 0, "obs-missed": 1, "obs-fevers": 1, "obs-open": 1}
    other = make_client()
    other.login("secretary2")
    assert _figures(other.get("/today/").text)["obs-active"] == 0
    pm = make_client()
    pm.login("pm1")
    assert 'id="panel-observation"' not in pm.get("/today/").text
