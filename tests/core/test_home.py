"""The home page: above the tiles, each person's next actions for the roles they hold — a volunteer's
next shift and errands in hand, a property manager's rounds due, an owner's open rectification items,
grid staff's errands waiting for a volunteer and shifts short of people — only their own, in the
town's language, in as many statements whatever the town's size."""
import re
from datetime import timedelta
from types import SimpleNamespace

import pytest

from gridapp.duty import services as duty
from gridapp.errands import services as errands
from gridapp.extensions import db
from tests.disinfection.factories import make_points
from tests.duty.factories import DAY, at, make_checkpoint, shift_of
from tests.errands.factories import add_volunteers, claimed, delivered, make_errand
from tests.factories import make_user
from tests.supervision.factories import make_item

NEXT_DAY = DAY + timedelta(days=1)
WINDOWS = "06:00-08:00,08:00-12:00,14:00-16:00"  # at 09:00: one window missed, one due, one later


def _build(world):
    """The town at 06:00 on DAY (the clock then stops at 09:00)."""
    t = SimpleNamespace()
    t.cp = make_checkpoint(world.c1, world.k1)  # 08-16, 16-24, 00-08; at least 1, at most 2
    t.cp2 = make_checkpoint(world.c1, world.k1, name="南门检查点")  # nobody on it: its running shift is a gap
    t.running = shift_of(t.cp)
    t.signup = duty.sign_up(t.running, world.vol1, now=at(DAY, "06:00"))
    t.later = duty.sign_up(shift_of(t.cp, NEXT_DAY), world.vol1, now=at(DAY, "06:00"))
    db.session.commit()
    t.claimed = claimed(world)
    t.bought = claimed(world)
    errands.purchase(t.bought, world.vol1, "20")
    db.session.commit()
    t.delivered = delivered(world)
    t.open = [make_errand(world), make_errand(world, urgent=True)]
    t.points = make_points(world.k1, count=2, windows=WINDOWS)
    t.late_item = make_item(world, target=world.k1, severity="critical", now=at(DAY, "02:00"))  # due 06:00
    t.item = make_item(world, target=world.k1, now=at(DAY, "06:00"))  # due tomorrow 06:00
    return t


def _more(world, n: int):
    """n times more of everything the panels read: checkpoints and sign-ups, errands of every state,
    points, items."""
    for i in range(n):
        cp = make_checkpoint(world.c1, world.k1, name=f"检查点{i}")
        duty.sign_up(shift_of(cp, DAY + timedelta(days=2 + i)), world.vol1, now=at(DAY, "06:00"))
        db.session.commit()
        claimed(world, world.vol2) if i < 3 else make_errand(world)
        make_errand(world, household=world.h2)
        make_item(world, target=world.k1, now=at(DAY, "06:00"))
    make_points(world.k1, count=n * 3, windows=WINDOWS)
    delivered(world, world.vol3)


@pytest.fixture
def town(world, clock):
    add_volunteers(world)
    clock.set(at(DAY, "06:00"))
    t = _build(world)
    clock.set(at(DAY, "09:00"))
    return t


def _home(make_client, username) -> str:
    c = make_client()
    c.login(username)
    resp = c.get("/")
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def _panel(html: str, panel: str) -> str:
    """The card of one panel (its <section id="next-…">), or "" when the page has none."""
    match = re.search(rf'<section class="card" id="{panel}">(.*?)</section>', html, re.S)
    return match.group(1) if match else ""


def _panels(html: str) -> list[str]:
    return re.findall(r'<section class="card" id="(next-[a-z-]+)">', html)


def test_a_volunteer_sees_the_shift_on_now_and_the_errands_in_hand(make_client, world, town, clock):
    html = _home(make_client, "vol1")
    assert _panels(html) == ["next-shift", "next-errands"]
    shift = _panel(html, "next-shift")
    assert f'href="/duty/mine#signup-{town.signup.id}"' in shift
    assert "东门检查点 · 2026-03-02 08:00-16:00" in shift and "进行中" in shift
    errand_panel = _panel(html, "next-errands")
    assert re.findall(r'href="/errands/(\d+)"', errand_panel) == [str(town.claimed.id), str(town.bought.id)]
    assert "已认领" in errand_panel and "已购买" in errand_panel and "代买药品 · 阳光小区" in errand_panel
    # The tiles are still there, below.
    assert html.index('id="next-errands"') < html.index('class="tiles"')

    # Once that shift is over, the next one is tomorrow's, not running.
    clock.set(at(DAY, "16:30"))
    shift = _panel(_home(make_client, "vol1"), "next-shift")
    assert f'href="/duty/mine#signup-{town.later.id}"' in shift
    assert "2026-03-03 08:00-16:00" in shift and "进行中" not in shift


def test_a_volunteer_with_nothing_ahead_reads_so_and_sees_nobody_elses(make_client, world, town):
    html = _home(make_client, "vol2")  # serves the same community as vol1
    assert _panels(html) == ["next-shift", "next-errands"]
    shift, errand_panel = _panel(html, "next-shift"), _panel(html, "next-errands")
    assert "暂无即将开始的班次。" in shift and 'href="/duty/"' in shift and "报名值班" in shift
    assert "暂无待送达的代办。" in errand_panel and "/errands/" not in errand_panel
    assert "东门检查点" not in html


def test_a_property_manager_sees_the_rounds_due_and_missed_and_her_items(make_client, world, town):
    html = _home(make_client, "pm1")
    assert _panels(html) == ["next-rounds", "next-items"]
    rounds = _panel(html, "next-rounds")
    # Two points: each has its 08:00-12:00 window open now and missed 06:00-08:00.
    assert "现在应做：2" in rounds and "漏做：2" in rounds
    assert 'href="/disinfection/"' in rounds
    assert f'href="/disinfection/points/{town.points[0].id}"' in rounds and "08:00-12:00" in rounds
    items = _panel(html, "next-items")
    assert "未办结：2" in items and "已逾期：1" in items
    # The nearest due first, the overdue one marked.
    links = re.findall(r'href="/supervision/items/(\d+)"', items)
    assert links == [str(town.late_item.id), str(town.item.id)]
    first, second = items.split("</li>")[:2]
    assert "已逾期" in first and "已逾期" not in second and "已下发" in second
    assert 'href="/supervision/items?mine=1"' in items


def test_another_companys_manager_sees_none_of_it(make_client, world, town):
    html = _home(make_client, "pm2")
    assert _panels(html) == ["next-rounds"]
    assert "暂无现在应做的消毒。" in _panel(html, "next-rounds") and "/disinfection/points/" not in html


@pytest.mark.parametrize("username", ["gridder1", "secretary1"])
def test_grid_staff_see_errands_waiting_and_shifts_short_of_people(make_client, world, town, username):
    html = _home(make_client, username)
    assert _panels(html) == ["next-area"]
    area = _panel(html, "next-area")
    errands_row = area.split('id="next-gaps"')[0]
    assert 'href="/errands/staff?list=open"' in errands_row and "待认领的代办" in errands_row
    assert re.search(r'class="badge warn">2<', errands_row)  # the two open ones; not the claimed or delivered
    gaps_row = area.split('id="next-gaps"')[1]
    assert 'href="/duty/roster"' in gaps_row
    # 南门 has nobody on its four shifts running or starting within 24 h; 东门 on two of them (vol1
    # is on today's and tomorrow's 08:00).
    assert re.search(r'class="badge warn">6<', gaps_row)
    assert "最近：南门检查点 · 2026-03-02 08:00-16:00" in gaps_row and "进行中" in gaps_row


@pytest.mark.parametrize("username", ["gridder3", "secretary2"])
def test_grid_staff_elsewhere_read_that_nothing_waits(make_client, world, town, username):
    area = _panel(_home(make_client, username), "next-area")
    assert "暂无待认领的代办。" in area and "未来 24 小时暂无缺人的班次。" in area
    assert "/errands/staff" not in area and "南门" not in area


def test_an_item_owner_of_any_role_sees_her_items(make_client, world, town):
    """The items panel goes with owning open items, not with a role: a grid member answers for a
    checkpoint of his grid."""
    item = make_item(world, target=town.cp, now=at(DAY, "06:00"))
    assert item.owner_id == world.gm1.id
    html = _home(make_client, "gridder1")
    assert _panels(html) == ["next-items", "next-area"]
    assert re.findall(r'href="/supervision/items/(\d+)"', _panel(html, "next-items")) == [str(item.id)]


@pytest.mark.parametrize("username", ["admin", "leader", "sup1", "head1", "unit1", "nobody"])
def test_roles_with_nothing_to_do_next_get_the_tiles_alone(make_client, world, town, username):
    html = _home(make_client, username)
    assert _panels(html) == [] and 'class="tiles"' in html


def test_the_panels_work_without_javascript(make_client, world, town):
    """Plain links only: no htmx attribute, no script."""
    for username, panel in (("vol1", "next-shift"), ("pm1", "next-rounds"), ("gridder1", "next-area")):
        card = _panel(_home(make_client, username), panel)
        assert "<a href=" in card and "hx-" not in card and "<script" not in card


def test_as_many_statements_with_ten_times_the_data(make_client, world, clock, count_queries):
    add_volunteers(world)
    make_user("both", ("volunteer", world.c1), ("property_manager", world.hzo), ("grid_member", world.g1))
    users = ["vol1", "pm1", "gridder1", "secretary1", "both"]
    clients = {}
    for u in users:
        clients[u] = make_client()
        clients[u].login(u)

    def counts():
        out = {}
        for u in users:
            with count_queries() as q:
                assert clients[u].get("/").status_code == 200
            out[u] = q["n"]
        return out

    clock.set(at(DAY, "06:00"))
    _build(world)
    clock.set(at(DAY, "09:00"))
    small = counts()
    clock.set(at(DAY, "06:00"))
    _more(world, 10)
    clock.set(at(DAY, "09:00"))
    large = counts()
    assert large == small
    # The staff's home holds the today board too (about 15 statements of its own).
    assert max(small.values()) <= 30, small


def test_staff_open_on_the_today_board_of_their_place(make_client, world):
    sec = make_client()
    sec.login("secretary1")
    home = sec.get("/").get_data(as_text=True)
    assert 'id="today-board"' in home and world.c1.name in home
    assert f'hx-get="/today/?scope=community-{world.c1.id}"' in home  # it refreshes itself like the board page
    vol = make_client()
    vol.login("vol1")
    assert 'id="today-board"' not in vol.get("/").get_data(as_text=True)
