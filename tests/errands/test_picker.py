"""The household picker when filing: a search by compound, building/unit/room, label, name or phone,
only within the filer's own places, with and without JavaScript, in a bounded number of queries;
and a household outside them can never be chosen, whatever is posted."""
import re

import pytest
from sqlalchemy import func, insert, select

from gridapp.errands.models import Errand
from gridapp.extensions import db
from gridapp.grid.models import Household
from tests.errands.factories import add_volunteers
from tests.errands.helpers import logged_in
from tests.errands.test_views import good_form
from tests.factories import make_household


@pytest.fixture
def w(world):
    add_volunteers(world)
    world.h5 = make_household(world.k1, 202, building="2", unit="1", head_name="孙七", phone="13700000202")
    db.session.commit()
    return world


def options(html):
    if 'id="household_id"' in html:
        html = html.split('id="household_id"', 1)[1].split("</select>", 1)[0]
    return [int(v) for v in re.findall(r'<option value="(\d+)"', html)]


@pytest.mark.parametrize("q,expected", [
    ("阳光", ["h1", "h2", "h5"]),        # compound
    ("2-1-202", ["h5"]),                # the label
    ("阳光 102", ["h2"]),                # every word must match
    ("孙七", ["h5"]),                    # the head's name
    ("13700000202", ["h5"]),            # the phone
    ("王五", []),                        # 育才楼院 is not head1's compound
    ("育才", []),
    ("%", []),                          # LIKE wildcards are taken literally
    ("_", []),
])
def test_the_picker_searches_only_the_filers_own_households(make_client, w, q, expected):
    head = logged_in(make_client, "head1")
    want = sorted(getattr(w, name).id for name in expected)
    fragment = head.htmx_get(f"/errands/new/households?q={q}")
    assert fragment.status_code == 200 and "<html" not in fragment.get_data(as_text=True)
    assert sorted(options(fragment.get_data(as_text=True))) == want
    page = head.get(f"/errands/new?q={q}").get_data(as_text=True)  # the same without JavaScript
    assert sorted(options(page)) == want
    if not expected:
        assert 'data-picker-note="none"' in page and "育才楼院 1-1-201" not in page


def test_a_single_match_is_chosen_and_the_htmx_search_is_wired(make_client, w):
    head = logged_in(make_client, "head1")
    page = head.get("/errands/new?q=孙七").get_data(as_text=True)
    assert f'<option value="{w.h5.id}" selected>' in page
    search = page.split('id="household-search"', 1)[1].split("</form>", 1)[0]
    assert 'hx-get="/errands/new/households"' in search and 'hx-target="#household_id"' in search
    assert 'method="get"' in page.split('id="household-search"', 1)[0].rsplit("<form", 1)[1]
    # The filing form keeps the search, so a bad submission shows the same narrowed list.
    assert 'action="/errands/new?q=' in page


def test_a_household_outside_my_places_can_never_be_chosen(make_client, w):
    head = logged_in(make_client, "head1")
    for other in (w.h3, w.h4):  # another grid of my community; another community
        for url in ("/errands/new", f"/errands/new?q={other.room}"):
            resp = head.post(url, good_form(w, household_id=str(other.id)))
            html = resp.get_data(as_text=True)
            assert resp.status_code == 422 and "Choose a household in your own area." in html
            assert other.head_name not in html and f'value="{other.id}"' not in html  # not even named
        page = head.get(f"/errands/new?household_id={other.id}").get_data(as_text=True)
        assert other.head_name not in page and f'value="{other.id}"' not in page
    for bad in ("99999999999999999999", "-1", "abc", "1e3"):
        resp = head.post("/errands/new", good_form(w, household_id=bad))
        assert resp.status_code == 422, bad
    assert db.session.scalar(select(func.count(Errand.id))) == 0
    # Volunteers and others without a filing role are refused the picker itself.
    for name in ("vol1", "pm1"):
        assert logged_in(make_client, name).htmx_get("/errands/new/households?q=张三").status_code == 403
    # Mine still works, chosen from a search.
    resp = head.post("/errands/new?q=孙七", good_form(w, household_id=str(w.h5.id)))
    assert resp.status_code == 303
    assert db.session.scalars(select(Errand.household_id)).one() == w.h5.id


def test_the_picker_is_bounded(make_client, w, count_queries):
    sec = logged_in(make_client, "secretary1")
    urls = ("/errands/new/households?q=1", "/errands/new?q=1")
    sec.htmx_get(urls[0])
    sec.get(urls[1])

    def measure():
        out = []
        for url in urls:
            with count_queries() as counted:
                resp = sec.htmx_get(url) if "households" in url else sec.get(url)
            out.append((counted["n"], resp.get_data(as_text=True)))
        return out

    (small_fragment, few), (small_page, _page) = measure()
    rows = [{"compound_id": w.k1.id, "building": "9", "unit": str(1 + i // 100), "room": str(1000 + i),
             "head_name": f"住户{i}", "phone": f"135{i:08d}", "housebound": False, "living_alone": False,
             "notes": ""} for i in range(400)]
    db.session.execute(insert(Household), rows)
    db.session.commit()
    (large_fragment, many), (large_page, page) = measure()
    assert (large_fragment, large_page) == (small_fragment, small_page)
    assert len(options(many)) == 30 and 'data-picker-note="more"' in many and "data-picker-note" not in few
    assert len(options(page)) == 30
