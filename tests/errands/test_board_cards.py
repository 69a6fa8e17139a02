"""The errand board draws each card once per process for what it shows (gridapp/core/fragments.py,
errands.views.errand_cards), and never keeps a resident's data: the items go into each response,
not into the store. A claim and a change of the items show on every volunteer's very next request;
the cards kept are the cards drawn fresh; a card's token claims for its viewer."""
import re

import pytest

from gridapp.core.fragments import store
from gridapp.errands import services
from gridapp.errands.models import Errand
from gridapp.extensions import db
from tests.errands.factories import H, add_volunteers, make_errand
from tests.fragments import assert_kept_rows_are_fresh, viewers

TOKENS = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def w(world):
    return add_volunteers(world)


def _card(html: str, errand_id: int) -> str:
    start = html.index(f'<li id="errand-card-{errand_id}"')
    return html[start:html.index("</li>", start)]


def _kept(app) -> str:
    """Everything the store holds, keys and fragments, as one text."""
    kept = app.extensions["fragments"]._kept
    return repr(list(kept.keys())) + "".join(kept.values())


def test_a_claim_and_new_items_show_on_every_volunteers_next_request(app, w, make_client):
    one = make_errand(w, items="布洛芬 1盒\n口罩 10只")
    two = make_errand(w, items="大米 5斤", category="daily", urgent=True)
    volunteers = viewers(make_client, "vol1", "vol2", "vol3")
    for c in volunteers:
        html = c.get("/errands/").get_data(as_text=True)
        assert "布洛芬 1盒" in _card(html, one.id) and "大米 5斤" in _card(html, two.id)
    assert len(store()) > 0
    kept = _kept(app)
    assert "布洛芬" not in kept and "大米" not in kept and "errand-card" in kept  # the items are never kept

    errand = db.session.get(Errand, two.id)
    errand.items = "大米 5斤\n食用油 1桶"
    errand.category = "medicine"
    db.session.commit()
    for c in volunteers:
        card = _card(c.get("/errands/").get_data(as_text=True), two.id)
        assert "大米 5斤、食用油 1桶" in card and "Medicine" in card and "Daily necessities" not in card

    # vol2 claims the first with its card's plain form; it leaves every volunteer's board.
    card = _card(volunteers[1].get("/errands/").get_data(as_text=True), one.id)
    resp = volunteers[1].post(f"/errands/{one.id}/claim", {"csrf_token": TOKENS.search(card).group(1),
                                                           "from": "board", "action": "claim"})
    assert resp.status_code in (302, 303)
    assert db.session.get(Errand, one.id).claimant_id == w.vol2.id
    for c in volunteers:
        assert f'id="errand-card-{one.id}"' not in c.get("/errands/").get_data(as_text=True)
    assert "食用油" not in _kept(app)


def test_the_cards_kept_are_the_cards_drawn_fresh(app, w, make_client):
    for i in range(4):
        make_errand(w, items=f"物品{i} 1件", urgent=i % 2 == 0, needed_in=(i + 2) * H,
                    category=("medicine", "daily", "matter", "daily")[i])
    make_errand(w, by=w.sec2, household=w.h4, items="监管局家属楼的药")  # another community's: not on c1's board
    services.claim(make_errand(w, items="已认领"), w.vol3)
    db.session.commit()
    chinese, = viewers(make_client, "volc2")
    chinese.post("/lang", {"lang": "zh"})
    pages = ["/errands/", "/errands/?urgency=urgent", "/errands/?category=daily"]
    assert "物品0 1件" in viewers(make_client, "vol1")[0].get(pages[0]).get_data(as_text=True)
    assert "监管局家属楼的药" in chinese.get(pages[0]).get_data(as_text=True)
    assert_kept_rows_are_fresh(app, [*viewers(make_client, "vol1", "vol2", "vol3"), chinese], pages)
