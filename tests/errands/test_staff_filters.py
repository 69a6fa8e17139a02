"""The staff pages' filters: one community of the user's scope, errands filed between two days;
the same on the list, the statistics and the Excel export; a bad value is shown, never a 500."""
import re
from datetime import timedelta
from io import BytesIO

import pytest
from openpyxl import load_workbook

from gridapp.errands import services
from gridapp.extensions import db
from gridapp.timeutil import to_local, utcnow
from tests.errands.factories import H, add_volunteers, make_errand
from tests.errands.helpers import bulk_errands, logged_in

D = timedelta(days=1)


@pytest.fixture
def w(world):
    return add_volunteers(world)


def listed(client, query):
    html = client.get(f"/errands/staff?list=all&{query}").get_data(as_text=True)
    return {int(i) for i in re.findall(r'id="staff-errand-(\d+)"', html)}, html


def exported(client, query):
    client.confirm_password()  # an export asks for it
    resp = client.get(f"/errands/export.xlsx?{query}")
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet"), resp.status_code
    rows = list(load_workbook(BytesIO(resp.data)).active.iter_rows(values_only=True))
    return {r[0] for r in rows[2:]}  # below the title row and the header


def day(moment):
    return to_local(moment).date().isoformat()


def test_the_community_filter_offers_and_applies_only_communities_in_scope(make_client, w):
    mine = make_errand(w)
    theirs = make_errand(w, by=w.sec2, household=w.h4)
    leader = logged_in(make_client, "leader")
    assert listed(leader, "")[0] == {mine.id, theirs.id}
    ids, html = listed(leader, f"community={w.c2.id}")
    assert ids == {theirs.id}
    assert f'href="/errands/staff?list=open&amp;community={w.c2.id}"' in html  # the tabs keep the filter
    assert f'/errands/export.xlsx?community={w.c2.id}"' in html
    assert exported(leader, f"community={w.c2.id}") == {theirs.id}

    sec1 = logged_in(make_client, "secretary1")
    ids, html = listed(sec1, "")
    options = re.findall(r'<option[^>]*value="(\d+)"', html.split('id="community"', 1)[1].split("</select>", 1)[0])
    assert ids == {mine.id} and options == [str(w.c1.id)]
    # Another community's id, typed into the URL: refused with a message, and nothing of theirs shows.
    ids, html = listed(sec1, f"community={w.c2.id}")
    assert ids == {mine.id} and "Choose one of your communities." in html and theirs.id not in ids
    head = logged_in(make_client, "head1")  # a building head's community is the one of their compound
    assert listed(head, f"community={w.c1.id}")[0] == {mine.id}


def test_the_filed_between_filter_on_list_stats_and_export(make_client, w):
    now = utcnow()
    old = make_errand(w, now=now - 3 * D)
    yesterday = make_errand(w, now=now - D)
    today = make_errand(w)
    leader = logged_in(make_client, "leader")
    y = day(yesterday.filed_at)
    assert listed(leader, f"since={y}&until={y}")[0] == {yesterday.id}
    assert listed(leader, f"since={y}")[0] == {yesterday.id, today.id}
    assert listed(leader, f"until={y}")[0] == {old.id, yesterday.id}
    assert exported(leader, f"since={y}&until={y}") == {yesterday.id}
    assert exported(leader, "") == {old.id, yesterday.id, today.id}

    # Statistics: only errands filed in the period count, and the period has its own column.
    services.claim(old, w.vol1, now=now - 3 * D + H)
    db.session.commit()
    html = leader.get(f"/errands/stats?since={day(old.filed_at)}&until={y}&community={w.c1.id}").get_data(
        as_text=True)
    assert f'id="stats-{w.c2.id}"' not in html and 'id="stats-period"' in html
    cells = re.findall(r"<td>(.*?)</td>", html.split(f'id="stats-{w.c1.id}"', 1)[1].split("</tr>", 1)[0])
    assert cells[4] == "2 / 1 / 0" and cells[5] == "60 min"  # filed, claimed, delivered; median to claim
    plain = leader.get("/errands/stats").get_data(as_text=True)
    assert f'id="stats-{w.c2.id}"' in plain and 'id="stats-period"' not in plain


@pytest.mark.parametrize("query,message", [
    ("since=2026-13-45", "Not a valid date value."),
    ("until=0001-01-01", "Enter a date between 2000 and 2100."),
    ("since=9999-12-31", "Enter a date between 2000 and 2100."),
    ("since=2026-03-05&until=2026-03-01", "The end date is before the start date."),
    ("since=2020-01-01&until=2026-01-01", "Choose a period of at most two years."),
    ("community=abc", "Choose one of your communities."),
    ("community=99999999999999999999", "Choose one of your communities."),
])
def test_bad_filters_are_shown_with_a_message_never_a_500(make_client, w, query, message):
    errand = make_errand(w)
    sec1 = logged_in(make_client, "secretary1")
    for url in (f"/errands/staff?{query}", f"/errands/stats?{query}", f"/errands/export.xlsx?{query}"):
        resp = sec1.get(url)
        html = resp.get_data(as_text=True)
        assert resp.status_code == 200 and resp.mimetype == "text/html", url
        assert message in html and 'id="errand-filters"' in html, url
    # The bad value is not applied: the list still shows what the valid filters allow.
    assert errand.id in listed(sec1, query)[0]


def test_filtered_list_queries_do_not_grow_with_the_errands(make_client, w, count_queries):
    sec1 = logged_in(make_client, "secretary1")
    query = f"/errands/staff?list=open&community={w.c1.id}&since={day(utcnow() - D)}"
    bulk_errands(w, 5, w.head1)
    sec1.get(query)
    with count_queries() as small:
        assert sec1.get(query).status_code == 200
    bulk_errands(w, 500, w.head1)
    with count_queries() as large:
        sec1.get(query)
    assert large["n"] == small["n"]
