"""The today board (/today/): each role sees its own place with the right panels and figures, picks
only places of its own, never sees phones it must not, gets the board fragment from htmx and a whole
page otherwise, and the board costs the same number of statements in a small town and a bigger one.
The pages are in Chinese (the default locale)."""
import pytest
from sqlalchemy import select

from gridapp.audit.models import AuditEvent
from gridapp.extensions import db
from gridapp.today import panels
from tests.today.factories import NOW_TEXT, VOL1_PHONE, day_in_town, figures, grow

DUTY = ("duty-short-now", "duty-gaps-24", "duty-no-shows")
DISINFECTION = ("dis-done", "dis-missed", "dis-due", "dis-yesterday")
ERRANDS = ("err-open", "err-claimed", "err-awaiting", "err-filed", "err-delivered")
SUPERVISION = ("sup-overdue-0", "sup-overdue-1", "sup-overdue-2", "sup-due-today", "sup-findings-today")


@pytest.fixture
def day(world, clock):
    d = day_in_town(world)
    clock.town(NOW_TEXT)
    return d


def _board(make_client, username, query=""):
    c = make_client()
    c.login(username)
    resp = c.get("/today/" + query)
    return resp, resp.get_data(as_text=True)


def _panel_ids(html):
    return [name for name in ("duty", "disinfection", "errands", "supervision") if f'id="panel-{name}"' in html]


def _expect(html, **want):
    got = figures(html)
    assert {k.replace("_", "-"): got.get(k.replace("_", "-")) for k in want} == {
        k.replace("_", "-"): str(v) for k, v in want.items()}


# --- each role: its place, its panels, its figures -------------------------------------------------

def test_the_town_leader_sees_the_whole_town(day, make_client):
    resp, html = _board(make_client, "leader")
    assert resp.status_code == 200
    assert 'id="today-place">城关镇<' in html
    assert _panel_ids(html) == ["duty", "disinfection", "errands", "supervision"]
    _expect(html, duty_short_now=2, duty_gaps_24=9, duty_no_shows=2,
            dis_done=2, dis_missed=2, dis_due=1, dis_yesterday="90%",
            err_open=3, err_claimed=1, err_awaiting=1, err_filed=3, err_delivered=1,
            sup_overdue_0=1, sup_overdue_1=1, sup_overdue_2=1, sup_due_today=1, sup_findings_today=2)
    # Urgent first, then the oldest; how long each has waited.
    waiting = html[html.index('id="err-waiting"'):]
    assert (waiting.index(f'/errands/{day.e1.id}"') < waiting.index(f'/errands/{day.e2.id}"')
            < waiting.index(f'/errands/{day.e5.id}"'))
    assert "30 分钟" in waiting  # e1, filed at 09:30
    assert "约谈 1 人、印发通报 1 期、督办整改问题 5 条" in html
    # Each checkpoint short now, with who is on it: vol1 checked in at cpA, nobody at cpB.
    assert "阳光北门 · 08:00-16:00" in html and "育才东门 · 08:00-16:00" in html
    assert "志愿者一" in html
    # Points missed on two of the last three days: p2 and p3.
    assert 'id="dis-repeat-total">2<' in html
    # The items to act on first: the overdue, most escalated first.
    urgent = html[html.index('id="sup-urgent"'):]
    assert (urgent.index(f'/items/{day.i1.id}"') < urgent.index(f'/items/{day.i2.id}"')
            < urgent.index(f'/items/{day.i4.id}"'))
    assert f'/items/{day.i3.id}"' not in urgent[:urgent.index("</ul>")]  # three listed


def test_a_secretary_sees_her_community(day, make_client):
    resp, html = _board(make_client, "secretary1")
    assert 'id="today-place">城关社区<' in html
    assert _panel_ids(html) == ["duty", "disinfection", "errands", "supervision"]
    _expect(html, duty_short_now=2, duty_gaps_24=6, duty_no_shows=2,
            dis_done=1, dis_missed=2, dis_due=1, dis_yesterday="88%",
            err_open=2, err_claimed=1, err_awaiting=1, err_filed=2, err_delivered=1,
            sup_overdue_0=1, sup_overdue_1=0, sup_overdue_2=1, sup_due_today=1, sup_findings_today=1)
    assert "约谈 1 人、印发通报 1 期、督办整改问题 3 条" in html
    assert f'/errands/{day.e5.id}"' not in html  # 东城社区's errand
    # The overdue (most escalated first), then the item due soonest.
    urgent = html[html.index('id="sup-urgent"'):]
    assert [urgent.index(f'/supervision/items/{i.id}"') for i in (day.i1, day.i4, day.i3)] == sorted(
        urgent.index(f'/supervision/items/{i.id}"') for i in (day.i1, day.i4, day.i3))
    # She manages the checkpoints: the phone of the person on duty, as a link to call.
    assert f'href="tel:{VOL1_PHONE}"' in html


def test_a_grid_member_sees_his_grid(day, make_client):
    resp, html = _board(make_client, "gridder1")
    assert 'id="today-place">城关社区 · 第一网格<' in html
    assert 'id="today-scope"' not in html  # one place only: no picker
    assert _panel_ids(html) == ["duty", "disinfection", "errands", "supervision"]
    # 阳光小区 is run by 红嘴鸥: its rounds are the company's, not on the grid member's board.
    _expect(html, duty_short_now=1, duty_gaps_24=3, duty_no_shows=1,
            dis_done=0, dis_missed=0, dis_due=0,
            err_open=1, err_claimed=1, err_awaiting=1, err_filed=2, err_delivered=1,
            sup_overdue_0=1, sup_overdue_1=0, sup_overdue_2=0, sup_due_today=0, sup_findings_today=0)
    assert f'href="tel:{VOL1_PHONE}"' in html
    assert "today-tally" not in html


def test_a_property_manager_sees_the_company(day, make_client):
    resp, html = _board(make_client, "pm1")
    assert 'id="today-place">红嘴鸥物业<' in html
    assert _panel_ids(html) == ["disinfection", "supervision"]
    _expect(html, dis_done=1, dis_missed=1, dis_due=0, dis_yesterday="100%",
            sup_overdue_2=1, sup_overdue_0=0, sup_findings_today=0)
    assert 'id="dis-repeat-total">1<' in html  # p2
    assert "today-tally" not in html


def test_a_work_unit_contact_sees_the_unit(day, make_client):
    resp, html = _board(make_client, "unit1")
    assert 'id="today-place">县市场监管局<' in html
    assert _panel_ids(html) == ["duty", "supervision"]
    _expect(html, duty_short_now=0, duty_gaps_24=3, duty_no_shows=0,
            sup_overdue_0=0, sup_overdue_1=0, sup_overdue_2=0, sup_findings_today=1)
    assert 'id="duty-short-list"' not in html


def test_a_supervisor_sees_the_town_without_errands(day, make_client):
    resp, html = _board(make_client, "sup1")
    assert _panel_ids(html) == ["duty", "disinfection", "supervision"]
    _expect(html, duty_short_now=2, sup_overdue_2=1, sup_findings_today=2)
    assert "约谈 1 人、印发通报 1 期、督办整改问题 5 条" in html


@pytest.mark.parametrize("username", ["vol1", "head1", "nobody"])
def test_volunteers_and_others_have_no_board(day, make_client, username):
    resp, html = _board(make_client, username)
    assert resp.status_code == 403
    assert VOL1_PHONE not in html


def test_the_menu_offers_the_board_to_staff_only(day, make_client):
    for username, shown in (("leader", True), ("secretary1", True), ("pm1", True), ("vol1", False),
                            ("head1", False)):
        c = make_client()
        c.login(username)
        html = c.get("/profile").get_data(as_text=True)
        assert ('href="/today/">今日<' in html) is shown, username


# --- phones ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("username", ["leader", "sup1", "unit1", "pm1"])
def test_no_phones_for_those_who_do_not_manage_the_checkpoint(day, make_client, username):
    """The town leader and supervisors see who is on duty, not their phones (the shift's page is the
    managers'); no board shows a resident's phone."""
    resp, html = _board(make_client, username)
    assert resp.status_code == 200
    assert VOL1_PHONE not in html and "tel:" not in html


def test_no_board_shows_a_residents_phone(day, world, make_client):
    phones = [h.phone for h in (world.h1, world.h2, world.h3, world.h4)]
    for username in ("admin", "leader", "secretary1", "gridder1", "pm1", "unit1", "sup1"):
        _resp, html = _board(make_client, username)
        assert not [p for p in phones if p in html], username


# --- the scope picker -------------------------------------------------------------------------------

def test_the_leader_picks_any_community_or_grid(day, world, make_client):
    resp, html = _board(make_client, "leader")
    options = html[html.index('id="today-scope-select"'):html.index("</select>")]
    for key in (f"town-{world.town.id}", f"community-{world.c1.id}", f"community-{world.c2.id}",
                f"grid-{world.g1.id}", f"grid-{world.g3.id}"):
        assert f'value="{key}"' in options
    resp, html = _board(make_client, "leader", f"?scope=grid-{world.g3.id}")
    assert resp.status_code == 200
    assert 'id="today-place">东城社区 · 第三网格<' in html
    _expect(html, duty_short_now=0, duty_gaps_24=3, err_open=1, err_filed=1, sup_overdue_1=1, sup_overdue_2=0)
    assert f'hx-get="/today/?scope=grid-{world.g3.id}"' in html  # the refresh keeps the place


def test_a_secretary_picks_her_community_or_its_grids(day, world, make_client):
    resp, html = _board(make_client, "secretary1")
    options = html[html.index('id="today-scope-select"'):html.index("</select>")]
    assert options.count("<option") == 3
    assert f'value="community-{world.c1.id}"' in options and f'value="grid-{world.g2.id}"' in options
    resp, html = _board(make_client, "secretary1", f"?scope=grid-{world.g2.id}")
    _expect(html, duty_short_now=1, duty_gaps_24=3, dis_due=1, err_open=1, err_claimed=0)


@pytest.mark.parametrize(("username", "scope"), [
    ("secretary1", "community-{c2}"), ("secretary1", "grid-{g3}"), ("secretary1", "town-{town}"),
    ("gridder1", "grid-{g2}"), ("gridder1", "community-{c1}"), ("pm1", "company-{yj}"), ("unit1", "grid-{g3}"),
])
def test_a_place_out_of_scope_is_refused_and_audited(day, world, make_client, username, scope):
    key = scope.format(c2=world.c2.id, g3=world.g3.id, town=world.town.id, g2=world.g2.id, c1=world.c1.id,
                       yj=world.yj.id)
    resp, html = _board(make_client, username, f"?scope={key}")
    assert resp.status_code == 403
    assert "today-board" not in html
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "denied")
                               .order_by(AuditEvent.id.desc())).first()
    assert (event.actor_name, event.summary, event.object_id) == (username, "view_today", int(key.split("-")[1]))


@pytest.mark.parametrize("scope", ["community-99999", "grid-0", "grid-99999999999", "village-1", "community-",
                                   "community-1-2", "长" * 300])
def test_a_scope_that_names_no_place_is_not_found(day, make_client, scope):
    resp, _html = _board(make_client, "leader", f"?scope={scope}")
    assert resp.status_code == 404


# --- refresh: the fragment for htmx, a whole page otherwise -----------------------------------------

def test_htmx_gets_the_board_alone_and_a_browser_the_whole_page(day, world, make_client):
    c = make_client()
    c.login("secretary1")
    page = c.get("/today/")
    assert "<html" in page.get_data(as_text=True) and 'id="today-scope"' in page.get_data(as_text=True)
    fragment = c.htmx_get(f"/today/?scope=grid-{world.g1.id}")
    text = fragment.get_data(as_text=True)
    assert fragment.status_code == 200
    assert text.lstrip().startswith('<div id="today-board"') and "<html" not in text
    assert 'hx-trigger="every 60s"' in text and 'hx-swap="outerHTML"' in text
    assert figures(text)["duty-short-now"] == "1"
    assert "HX-Request" in fragment.headers["Vary"] and "HX-Request" in page.headers["Vary"]
    assert fragment.headers["Cache-Control"] == "no-store"
    # A boosted request (the scope picker sent by htmx) wants the whole page.
    boosted = c._open("get", "/today/", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert "<html" in boosted.get_data(as_text=True)


def test_the_whole_board_is_one_refresh(day, make_client):
    """One element polls, for the whole board: not one request per panel."""
    _resp, html = _board(make_client, "leader")
    assert html.count('hx-trigger="every 60s"') == 1
    board = html[html.index('id="today-board"') - 10:]
    assert board.count("hx-get") == 1


def test_a_session_that_ended_sends_the_browser_to_log_in(day, make_client):
    c = make_client()
    assert c.get("/today/").status_code == 302
    resp = c.htmx_get("/today/")
    assert resp.status_code == 204 and resp.headers["HX-Redirect"].startswith("/login")


# --- panels are registered ------------------------------------------------------------------------

def test_a_new_module_adds_a_panel_by_registering_it(day, make_client, monkeypatch):
    calls = []

    def load(ctx):
        calls.append(ctx.place.key)
        return {}

    monkeypatch.setitem(panels._PANELS, "households", panels.Panel(
        name="households", title="居家留观", template="today/_macros.html", order=50,
        shown=lambda ctx: ctx.place.kind == "community", load=load))
    _resp, html = _board(make_client, "secretary1")
    assert _panel_ids(html) + ["households"] == ["duty", "disinfection", "errands", "supervision", "households"]
    assert 'id="panel-households"' in html and "居家留观" in html
    _resp, html = _board(make_client, "pm1")
    assert 'id="panel-households"' not in html
    assert calls == [f"community-{day.cp_a.community_id}"]


# --- bounded cost -------------------------------------------------------------------------------------

def _statements(make_client, count_queries, username, query=""):
    c = make_client()
    c.login(username)
    c.get("/today/" + query)  # the first request may touch the login session
    with count_queries() as q:
        resp = c.get("/today/" + query)
    assert resp.status_code == 200
    return q["n"], resp.get_data(as_text=True)


VIEWERS = [("leader", ""), ("secretary1", ""), ("gridder1", ""), ("pm1", ""), ("unit1", ""), ("sup1", ""),
           ("admin", "?scope=grid-{g1}")]


def test_the_board_costs_the_same_statements_in_a_bigger_town(day, world, make_client, count_queries):
    queries = {u: q.format(g1=world.g1.id) for u, q in VIEWERS}
    small = {u: _statements(make_client, count_queries, u, q) for u, q in queries.items()}
    grow(world, 6, "大")
    big = {u: _statements(make_client, count_queries, u, q) for u, q in queries.items()}
    assert {u: n for u, (n, _h) in small.items()} == {u: n for u, (n, _h) in big.items()}
    # The bigger town is bigger on the board too (so the two counts measured different work).
    assert int(figures(big["leader"][1])["duty-short-now"]) == 2 + 3 * 6
    assert int(figures(big["leader"][1])["err-open"]) > int(figures(small["leader"][1])["err-open"])
    assert int(figures(big["leader"][1])["sup-overdue-1"]) == 1 + 3 * 6
    print({u: n for u, (n, _h) in big.items()})


def test_the_counts_are_of_today(day, world, make_client, clock):
    """Tomorrow at 10:00 the same town is another day: yesterday's figures move on."""
    clock.town("2026-11-26 10:00")
    _resp, html = _board(make_client, "leader")
    got = figures(html)
    assert got["err-filed"] == "0" and got["err-delivered"] == "0" and got["sup-findings-today"] == "0"
    assert got["dis-yesterday"] == "20%"  # the 25th: 2 of its 10 rounds done
    assert got["duty-no-shows"] == "0"
