"""The screening panel of the today board: the campaigns running over the viewer's place, with their
coverage there; one statement whatever the number of households."""
from datetime import date

import pytest

from gridapp.extensions import db
from gridapp.policy import scope_of
from gridapp.screening import services, today
from gridapp.timeutil import utcnow
from gridapp.today.panels import BoardContext
from gridapp.today.policy import Place
from tests.factories import make_household
from tests.screening.helpers import NOW_TEXT, open_campaign, record, visit_of
from tests.today.factories import figures


@pytest.fixture
def campaign(world, clock):
    clock.town(NOW_TEXT)
    campaign = open_campaign(world.leader)
    record(visit_of(campaign, world.h1), world.head1, "returnees", present=3, returnees=2)
    record(visit_of(campaign, world.h3), world.sec1, "nobody_home")
    return campaign


def board(make_client, username, query=""):
    c = make_client()
    c.login(username)
    resp = c.get("/today/" + query)
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def test_the_town_sees_the_campaign(world, campaign, make_client):
    html = board(make_client, "leader")
    assert 'id="panel-screening"' in html and "第一轮入户排查" in html
    got = figures(html)
    c = campaign.id
    assert (got[f"scr-visited-{c}"], got[f"scr-pending-{c}"], got[f"scr-revisit-{c}"],
            got[f"scr-returnees-{c}"]) == ("1/4", "2", "1", "2")
    assert f"/screening/{c}" in html


def test_a_community_and_a_grid_see_their_part(world, campaign, make_client):
    got = figures(board(make_client, "secretary1"))
    assert got[f"scr-visited-{campaign.id}"] == "1/3"
    got = figures(board(make_client, "leader", f"?scope=grid-{world.g2.id}"))
    assert (got[f"scr-visited-{campaign.id}"], got[f"scr-revisit-{campaign.id}"]) == ("0/1", "1")
    html = board(make_client, "secretary2")
    assert figures(html)[f"scr-visited-{campaign.id}"] == "0/1"
    assert f'href="/screening/{campaign.id}?community={world.c2.id}"' in html


def test_no_panel_for_a_property_manager(world, campaign, make_client):
    assert 'id="panel-screening"' not in board(make_client, "pm1")


def test_a_closed_campaign_leaves_the_board(world, campaign, make_client):
    services.close_campaign(campaign, world.leader, "排查转入下一轮")
    db.session.commit()
    html = board(make_client, "leader")
    assert "第一轮入户排查" not in html and 'id="panel-screening"' in html


def test_the_panel_costs_one_statement_whatever_the_size(app, world, campaign, count_queries):
    def measure():
        with app.test_request_context():
            user = db.session.get(type(world.sec1), world.sec1.id)
            scope_of(user)  # once per request, for every panel
            ctx = BoardContext(user, Place("community", world.c1.id, world.c1.name, world.c1.id), utcnow(),
                               date(2026, 3, 2))
            with count_queries() as q:
                data = today.load(ctx)
        return q["n"], data

    n, data = measure()
    assert n == 1 and data["campaigns"][0]["counts"].total == 3
    for i in range(50):
        make_household(world.k2, 600 + i)
    db.session.commit()
    services.sweep()
    db.session.commit()
    n, data = measure()
    assert n == 1 and data["campaigns"][0]["counts"].total == 53
