""""My visits" draws each household's row once per process for its values (screening.views.VisitRow,
DoneRow; gridapp/core/fragments.py) and keeps no resident's data: the household's label and its
head's name are put in by each response. A visit recorded shows on the very next request; the rows
kept are those drawn fresh, for every viewer and in either language."""
import re

import pytest
from sqlalchemy import select

from gridapp.extensions import db
from gridapp.grid.models import Household
from gridapp.timeutil import town_today
from tests.fragments import assert_kept_rows_are_fresh, viewers
from tests.screening.helpers import NOW_TEXT, open_campaign, record, visit_of

VIEWERS = ("head1", "gridder1", "gridder3", "secretary1")


@pytest.fixture
def campaign(world, clock):
    clock.town(NOW_TEXT)
    return open_campaign(world.leader)


def _part(html: str, part: str) -> str:
    if f'id="{part}"' not in html:
        return ""
    start = html.index(f'id="{part}"')
    return html[start:html.index("</ul>", start)]


def test_a_visit_recorded_shows_on_the_next_request(world, campaign, make_client):
    head, = viewers(make_client, "head1")
    page = f"/screening/{campaign.id}/mine"
    html = head.get(page).text
    assert f'id="visit-{visit_of(campaign, world.h1).id}"' in _part(html, "my-to-visit")
    assert world.h1.head_name in _part(html, "my-to-visit")
    record(visit_of(campaign, world.h1), world.head1, "seen")
    html = head.get(page).text
    assert f'id="visit-{visit_of(campaign, world.h1).id}"' not in _part(html, "my-to-visit")
    assert world.h1.label in _part(html, "my-done")


def test_the_rows_keep_no_resident_and_are_the_rows_drawn_fresh(app, world, campaign, make_client):
    record(visit_of(campaign, world.h2), world.head1, "nobody_home", revisit_on=town_today())
    record(visit_of(campaign, world.h4), world.gm3, "returnees")
    english, = viewers(make_client, "head1")
    english.post("/lang", {"lang": "en"})
    clients = [*viewers(make_client, *VIEWERS), english]
    page = f"/screening/{campaign.id}/mine"
    shown = "".join(c.get(page).text for c in clients)
    kept = "".join(app.extensions["fragments"]._kept.values())
    assert "visit-" in kept
    households = db.session.scalars(select(Household)).all()
    assert any(h.head_name and h.head_name in shown for h in households)
    for h in households:
        assert not h.head_name or h.head_name not in kept, h.head_name
        assert f"{h.label}<" not in kept and f"{h.label} " not in kept, h.label
    assert_kept_rows_are_fresh(app, clients, [page])



def test_never_visited_by_compound_then_those_to_visit_again(world, campaign, make_client):
    """Each compound's heading before its first household never visited; then one heading for those
    to visit again, each with its compound's name, and no compound heading among them."""
    record(visit_of(campaign, world.h3), world.sec1, "nobody_home", revisit_on=town_today())
    secretary, = viewers(make_client, "secretary1")
    part = _part(secretary.get(f"/screening/{campaign.id}/mine").text, "my-to-visit")
    assert re.findall(r'<li class="group-head"><h2>(.*?)</h2>', part) == [world.k1.name, "待再访"]
    assert re.findall(r"<strong>(.*?)</strong>", part) == [world.h1.label, world.h2.label,
                                                           f"{world.k2.name} {world.h3.label}"]
    assert '<span class="badge warn">该再访</span>' in part[part.index("待再访"):]  # come back today
