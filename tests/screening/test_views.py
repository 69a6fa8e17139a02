"""The screening pages: who may open what (every object route refused to someone), opening a campaign,
recording a visit without JavaScript (errors 422 with nothing lost; someone else first: 409 saying
who), the coverage and "my visits", and every look at residents' names recorded."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from gridapp.extensions import db
from gridapp.privacy.models import AccessRecord
from gridapp.screening.models import ScreeningCampaign
from gridapp.timeutil import town_today
from tests.screening.helpers import NOW_TEXT, open_campaign, record, visit_of


@pytest.fixture
def now(clock):
    return clock.town(NOW_TEXT)


@pytest.fixture
def campaign(world, now):
    return open_campaign(world.leader)


def as_(make_client, username):
    c = make_client()
    c.login(username)
    return c


def looks(what):
    db.session.expire_all()
    return db.session.scalars(select(AccessRecord).where(AccessRecord.what == what)).all()


def test_the_campaign_list(world, campaign, make_client):
    for username in ("admin", "leader", "sup1", "secretary1", "gridder1", "head1"):
        page = as_(make_client, username).get("/screening/")
        assert page.status_code == 200 and "第一轮入户排查" in page.text, username
    assert "/screening/new" in as_(make_client, "secretary1").get("/screening/").text
    assert "/screening/new" not in as_(make_client, "head1").get("/screening/").text
    assert f"/screening/{campaign.id}/mine" in as_(make_client, "head1").get("/screening/").text
    for username in ("vol1", "pm1", "unit1", "nobody"):
        assert as_(make_client, username).get("/screening/").status_code == 403, username


def _menu(client):
    return re.search(r'<nav class="nav".*?</nav>', client.get("/").text, re.S).group(0)


def test_the_menu_leads_to_screening_for_whoever_may_see_it(world, campaign, make_client):
    """The administrator opens campaigns too: its menu has 排查; Invitations moved from its menu to
    the accounts page (the one desktop line keeps room), while a secretary keeps it in the menu."""
    for username in ("admin", "leader", "sup1", "secretary1", "gridder1", "head1"):
        assert 'href="/screening/"' in _menu(as_(make_client, username)), username
    for username in ("vol1", "pm1"):
        assert 'href="/screening/"' not in _menu(as_(make_client, username)), username
    admin = as_(make_client, "admin")
    assert 'href="/admin/invitations"' not in _menu(admin)
    assert 'href="/admin/invitations"' in admin.get("/admin/users").text
    assert 'href="/admin/invitations"' in _menu(as_(make_client, "secretary1"))


def test_a_campaign_of_other_places_is_not_listed(world, now, make_client):
    open_campaign(world.sec1, town_wide=False, places=[f"grid-{world.g1.id}"], name="城关社区第一网格排查")
    assert "城关社区第一网格排查" in as_(make_client, "head1").get("/screening/").text
    assert "城关社区第一网格排查" not in as_(make_client, "gridder3").get("/screening/").text
    assert "城关社区第一网格排查" not in as_(make_client, "secretary2").get("/screening/").text


def test_opening_a_campaign(world, now, make_client):
    sec = as_(make_client, "secretary1")
    form = sec.get("/screening/new")
    assert form.status_code == 200 and f'value="grid-{world.g1.id}"' in form.text
    assert f'value="grid-{world.g3.id}"' not in form.text and 'name="town_wide"' not in form.text
    today = town_today()
    data = {"name": "城关社区返乡人员排查", "starts_on": today.isoformat(),
            "ends_on": (today + timedelta(days=3)).isoformat(), "places": [f"community-{world.c1.id}"],
            "record_items": "y", "record_present": "y"}
    bad = sec.post("/screening/new", {**data, "places": [f"grid-{world.g3.id}"]})
    assert bad.status_code == 422 and "城关社区返乡人员排查" in bad.text  # nothing lost
    bad = sec.post("/screening/new", {**data, "ends_on": (today - timedelta(days=1)).isoformat()})
    assert bad.status_code == 422 and "城关社区返乡人员排查" in bad.text
    done = sec.post("/screening/new", data)
    assert done.status_code == 303
    campaign = db.session.scalars(select(ScreeningCampaign)).one()
    assert done.headers["Location"].endswith(f"/screening/{campaign.id}")
    assert (campaign.community_id, campaign.record_items) == (world.c1.id, True)
    for username in ("head1", "gridder1", "sup1", "vol1"):
        assert as_(make_client, username).get("/screening/new").status_code == 403, username
        assert as_(make_client, username).post("/screening/new", data).status_code == 403, username


def test_the_coverage_page(world, campaign, make_client):
    record(visit_of(campaign, world.h1), world.head1, "returnees", present=3, returnees=2)
    page = as_(make_client, "leader").get(f"/screening/{campaign.id}")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "1/4" in page.text and "李四" in page.text and "王五" in page.text and "张三" not in page.text
    assert looks("screening_coverage")
    narrowed = as_(make_client, "leader").get(f"/screening/{campaign.id}?grid={world.g2.id}")
    assert "王五" in narrowed.text and "李四" not in narrowed.text
    # A supervisor sees the numbers, never a household.
    sup = as_(make_client, "sup1").get(f"/screening/{campaign.id}")
    assert sup.status_code == 200 and "1/4" in sup.text and "李四" not in sup.text
    # head1 sees his compound only.
    head = as_(make_client, "head1").get(f"/screening/{campaign.id}")
    assert "李四" in head.text and "王五" not in head.text and "1/2" in head.text


def test_a_campaign_page_refused(world, now, make_client):
    campaign = open_campaign(world.sec1, town_wide=False, places=[f"grid-{world.g1.id}"])
    for username in ("gridder3", "secretary2", "vol1", "pm1"):
        assert as_(make_client, username).get(f"/screening/{campaign.id}").status_code == 404, username
        assert as_(make_client, username).get(f"/screening/{campaign.id}/mine").status_code == 404, username
        assert as_(make_client, username).post(f"/screening/{campaign.id}/close").status_code == 404, username
    assert as_(make_client, "gridder1").post(f"/screening/{campaign.id}/close").status_code == 403
    assert as_(make_client, "leader").get(f"/screening/{campaign.id}/mine").status_code == 403
    assert as_(make_client, "sup1").post(f"/screening/{campaign.id}/close").status_code == 403
    assert as_(make_client, "leader").get("/screening/999999").status_code == 404


def test_closing_a_campaign(world, campaign, make_client):
    sec = as_(make_client, "secretary1")
    assert sec.post(f"/screening/{campaign.id}/close").status_code == 403  # the town's campaign
    leader = as_(make_client, "leader")
    bad = leader.post(f"/screening/{campaign.id}/close", {"reason": ""})
    assert bad.status_code == 422 and "4" in bad.text
    done = leader.post(f"/screening/{campaign.id}/close", {"reason": "转入第二轮"})
    assert done.status_code == 303
    assert db.session.get(ScreeningCampaign, campaign.id).status == "closed"
    page = leader.get(f"/screening/{campaign.id}")
    assert "转入第二轮" in page.text and f'action="/screening/{campaign.id}/close"' not in page.text
    visit = as_(make_client, "head1").get(f"/screening/visits/{visit_of(campaign, world.h1).id}").text
    assert 'id="campaign-closed"' in visit and 'name="result"' not in visit  # no button the server would refuse


def test_my_visits(world, campaign, make_client):
    record(visit_of(campaign, world.h2), world.head1, "nobody_home", revisit_on=town_today())
    page = as_(make_client, "head1").get(f"/screening/{campaign.id}/mine")
    assert page.status_code == 200
    text = page.text
    assert text.index("张三") < text.index("李四")  # not visited first, then to visit again
    assert "王五" not in text and "赵六" not in text
    assert looks("screening_visits")
    grid3 = as_(make_client, "gridder3").get(f"/screening/{campaign.id}/mine").text
    assert "赵六" in grid3 and "张三" not in grid3


def test_recording_a_visit_without_javascript(world, campaign, make_client):
    v = visit_of(campaign, world.h1)
    head = as_(make_client, "head1")
    page = head.get(f"/screening/visits/{v.id}")
    assert page.status_code == 200 and 'name="result"' in page.text and 'name="attempts" type="hidden" value="0"' \
        in page.text
    assert [r.what for r in looks("screening_visit")] == ["screening_visit"]
    form = {"result": "seen", "visited_at": "2026-03-02T09:30", "present": "", "item_mask": "y",
            "notes": "门口登记", "attempts": "0"}
    bad = head.post(f"/screening/visits/{v.id}", form)
    assert bad.status_code == 422 and "门口登记" in bad.text and '<input checked id="result-0"' in bad.text
    done = head.post(f"/screening/visits/{v.id}", {**form, "present": "2"})
    assert done.status_code == 303 and done.headers["Location"].endswith(f"/screening/{campaign.id}/mine")
    v = visit_of(campaign, world.h1)
    assert (v.status, v.present, v.items_handed, v.notes) == ("seen", 2, ["mask"], "门口登记")
    again = head.post(f"/screening/visits/{v.id}", {**form, "present": "2"})
    assert again.status_code == 409  # already recorded: the visit as it is, and who recorded it
    assert "Head1" in again.text and 'id="visit-refused"' in again.text and 'name="result"' not in again.text


def test_returnees_found_lead_to_registering_them(world, campaign, make_client):
    v = visit_of(campaign, world.h1)
    done = as_(make_client, "gridder1").post(f"/screening/visits/{v.id}", {
        "result": "returnees", "present": "3", "returnees": "1", "attempts": "0", "item_form": "y"})
    assert done.status_code == 303 and done.headers["Location"].endswith(f"/people/households/{world.h1.id}")


def test_someone_else_recorded_it_first(world, campaign, make_client):
    v = visit_of(campaign, world.h1)
    head, gm = as_(make_client, "head1"), as_(make_client, "gridder1")
    head.get(f"/screening/visits/{v.id}")
    gm.post(f"/screening/visits/{v.id}", {"result": "nobody_home", "revisit_on": town_today().isoformat(),
                                           "attempts": "0"})
    late = head.post(f"/screening/visits/{v.id}", {"result": "seen", "present": "2", "notes": "晚到一步",
                                                    "attempts": "0"})
    assert late.status_code == 409
    assert "Gridder1" in late.text and "晚到一步" in late.text  # who; and what was typed is kept
    assert 'name="attempts" type="hidden" value="1"' in late.text  # the next try is about what is there now
    assert visit_of(campaign, world.h1).status == "nobody_home"


def test_a_visit_refused(world, campaign, make_client):
    v3 = visit_of(campaign, world.h3)
    v1 = visit_of(campaign, world.h1)
    for username in ("gridder1", "head1", "gridder3", "sup1", "vol1", "pm2"):
        assert as_(make_client, username).get(f"/screening/visits/{v3.id}").status_code == 404, username
        assert as_(make_client, username).post(f"/screening/visits/{v3.id}", {"result": "seen"}).status_code \
            == 404, username
    leader = as_(make_client, "leader")
    page = leader.get(f"/screening/visits/{v1.id}")
    assert page.status_code == 200 and 'name="result"' not in page.text  # sees it, does not record it
    assert leader.post(f"/screening/visits/{v1.id}", {"result": "seen", "present": "1"}).status_code == 403
    assert as_(make_client, "secretary1").post(f"/screening/visits/{v3.id}", {
        "result": "seen", "present": "1", "attempts": "0"}).status_code == 303


def test_an_htmx_or_boosted_post_is_answered_too(world, campaign, make_client):
    v = visit_of(campaign, world.h1)
    head = as_(make_client, "head1")
    resp = head._open("post", f"/screening/visits/{v.id}", data={
        "result": "refused", "attempts": "0", "csrf_token": head.token()},
        headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert resp.status_code == 303
    assert re.search(r"/screening/\d+/mine$", resp.headers["Location"])


def test_the_home_page_shows_what_is_left_to_visit(world, campaign, make_client):
    record(visit_of(campaign, world.h2), world.head1, "nobody_home")
    home = as_(make_client, "head1").get("/").text
    assert 'id="next-screening"' in home and f'href="/screening/{campaign.id}/mine"' in home
    section = home[home.index('id="next-screening"'):]
    assert "1 户未走访" in section[:2000] or "1 not visited yet" in section[:2000]
    assert 'id="next-screening"' not in as_(make_client, "vol1").get("/").text
    assert 'id="next-screening"' not in as_(make_client, "leader").get("/").text


def _pages_shown(text):
    found = re.search(r"第 1 页，共 (\d+) 页", text)
    return int(found.group(1)) if found else 1


@pytest.mark.parametrize("username", ["admin", "leader", "sup1", "secretary1", "secretary2", "gridder1",
                                      "gridder3", "head1"])
def test_the_to_visit_pager_counts_what_the_list_selects(app, world, campaign, make_client, username):
    """The coverage page takes its list's total from its own figures when the two count the same
    households, saving a statement; for every viewer and narrowing the pager says what the list has."""
    from sqlalchemy import func

    from gridapp.auth.models import User
    from gridapp.screening import services

    record(visit_of(campaign, world.h1), world.head1, "seen")
    record(visit_of(campaign, world.h3), world.gm3, "nobody_home", revisit_on=town_today())
    app.config["PAGE_SIZE"] = 1  # a page a household: the pager then says how many the list counted
    user = db.session.scalars(select(User).where(User.username == username)).one()
    client = as_(make_client, username)
    for narrowing in (services.Narrowing(), services.Narrowing(community_id=world.c1.id),
                      services.Narrowing(grid_id=world.g3.id)):
        stmt = services.to_visit_query(campaign, user, narrowing)
        listed = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
        query = "&".join(f"{k}={v}" for k, v in narrowing.args().items())
        assert _pages_shown(client.get(f"/screening/{campaign.id}?{query}").text) == max(listed, 1), narrowing
    # Where the figures and the list count the same households, the figures give the total.
    derived = services.listed_to_do(services.coverage(campaign, user), user)
    assert (derived is not None) == (username in ("admin", "leader", "secretary1", "secretary2", "gridder1",
                                                  "gridder3", "head1")), derived


def test_the_coverage_page_counts_no_rows_it_already_counted(world, campaign, make_client, count_queries):
    leader, head = as_(make_client, "leader"), as_(make_client, "head1")
    leader.get(f"/screening/{campaign.id}"), head.get(f"/screening/{campaign.id}/mine")  # warm
    for client, path in ((leader, f"/screening/{campaign.id}"), (head, f"/screening/{campaign.id}/mine")):
        with count_queries() as box:
            assert client.get(path).status_code == 200
        assert not [s for s in box["sql"] if s.lstrip().upper().startswith("SELECT COUNT(*)")], path
