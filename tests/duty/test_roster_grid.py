"""The staff roster's week grid (checkpoint rows × day columns, each cell the day's shifts coloured
by coverage and saying so in words) with previous / next weeks; and check-in / check-out on my
shifts swapping just that row for htmx while still working as plain forms."""
import re
from datetime import datetime, timedelta

from sqlalchemy import select

from gridapp.duty import services
from gridapp.duty.models import Shift, Signup
from gridapp.extensions import db
from gridapp.timeutil import to_local, town_today, town_zone, utcnow
from tests.duty.factories import make_checkpoint, make_volunteers

BADGE = re.compile(r'<a class="cov cov-(\w+)(?: cov-past)?" href="([^"]+)" title="([^"]+)">'
                   r'([^<]*)<span class="duty-sr"> ([^<]+)</span></a>')


def _badges(html) -> dict:
    """href → (coverage, title, visible text, hidden text) of each shift badge on the grid."""
    return {m[2]: (m[1], m[3], m[4], m[5]) for m in BADGE.finditer(html)}


def _midnight():
    return datetime.combine(town_today(), datetime.min.time(), tzinfo=town_zone())


def _shifts(cp, day):
    db.session.expire_all()
    return db.session.scalars(select(Shift).where(Shift.checkpoint_id == cp.id, Shift.day == day)
                              .order_by(Shift.starts_at)).all()


def test_the_week_grid_colours_each_shift_by_coverage_and_says_it_in_words(world, make_client):
    cp = make_checkpoint(world.c1, world.k1, now=_midnight(), min_people=1, max_people=2)
    single = make_checkpoint(world.c1, None, name="党员先锋岗01", kind="vanguard", now=_midnight(),
                             pattern="08:00-20:00,20:00-08:00", min_people=1, max_people=1)
    day = town_today() + timedelta(days=3)
    night, morning, evening = _shifts(cp, day)
    v = make_volunteers(world.c1, 4)
    services.sign_up(morning, v[0])                               # 1 of 2, minimum 1: amber
    services.sign_up(evening, v[1])
    services.sign_up(db.session.get(Shift, evening.id), v[2])     # 2 of 2: green
    services.cancel_shift(world.sec1, db.session.get(Shift, night.id), "合并班次")  # grey
    services.sign_up(_shifts(single, day)[0], v[3])               # 1 of 1: full although at its minimum
    db.session.commit()
    sec = make_client()
    sec.login("secretary1")
    resp = sec.get("/duty/roster")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and re.search(r"css/duty\.[0-9a-f]{12}\.css", html) and 'id="roster-grid"' in html
    badges = _badges(html)
    assert badges[f"/duty/shifts/{night.id}"][0] == "cancelled"
    assert badges[f"/duty/shifts/{morning.id}"][0] == "ok"
    assert badges[f"/duty/shifts/{evening.id}"][0] == "full"
    assert badges[f"/duty/shifts/{_shifts(single, day)[0].id}"][0] == "full"
    assert badges[f"/duty/shifts/{_shifts(single, day)[1].id}"][0] == "low"
    # Words, not only colours: the state is in the hidden text and in the title.
    cov, title, text, hidden = badges[f"/duty/shifts/{morning.id}"]
    assert text.strip() == "08–16 1/2" and hidden == "Minimum met, room for more"
    assert title == "08:00-16:00: Minimum met, room for more (1 of 2, at least 1)"
    assert badges[f"/duty/shifts/{night.id}"][3] == "Cancelled" and "/" not in badges[f"/duty/shifts/{night.id}"][2]
    assert "Below minimum (0 of 1, at least 1)" in badges[f"/duty/shifts/{_shifts(single, day)[1].id}"][1]
    assert 'class="cov-legend"' in html
    # Rows are checkpoints, columns the 7 days from today, each heading opening that day's view.
    grid = html[html.index('id="roster-grid"'):]
    today = town_today()
    assert grid.count('<th scope="col"') == 8 and grid.count('<th scope="row"') == 2
    for i in range(7):
        assert f'href="/duty/roster?day={(today + timedelta(days=i)).isoformat()}"' in grid
    assert 'aria-current="date"' in grid
    # The scrolling box is the table's, not the page's.
    assert 'class="table-wrap roster-scroll"' in html


def test_previous_and_next_weeks_stay_within_the_generated_days(world, client):
    make_checkpoint(world.c1, world.k1, now=_midnight())
    today = town_today()
    client.login("secretary1")

    def week(query=""):
        html = client.get(f"/duty/roster{query}").get_data(as_text=True)
        prev = re.search(r'href="/duty/roster\?start=([\d-]+)" id="week-prev"', html)
        nxt = re.search(r'href="/duty/roster\?start=([\d-]+)" id="week-next"', html)
        first = re.search(r'<h2>([\d-]+) to ([\d-]+)</h2>', html)
        return first.group(1), prev and prev.group(1), nxt and nxt.group(1)

    iso = lambda d: d.isoformat()  # noqa: E731
    assert week() == (iso(today), iso(today - timedelta(days=7)), iso(today + timedelta(days=7)))
    assert week(f"?start={iso(today + timedelta(days=7))}") == (iso(today + timedelta(days=7)), iso(today), None)
    assert week(f"?start={iso(today + timedelta(days=40))}")[0] == iso(today + timedelta(days=7))
    assert week(f"?start={iso(today - timedelta(days=40))}") == (iso(today - timedelta(days=7)), None, iso(today))
    for bad in ("?start=yesterday", "?start=2026-02-30", "?start=%00", "?start=" + "9" * 40, "?day=nope"):
        resp = client.get(f"/duty/roster{bad}")
        assert resp.status_code == 200 and 'id="roster-grid"' in resp.get_data(as_text=True), bad
    # The community filter of town-wide staff carries over to the other weeks.
    leader = client.__class__(client.app)
    leader.login("leader")
    html = leader.get(f"/duty/roster?community={world.c1.id}").get_data(as_text=True)
    assert f"start={iso(today + timedelta(days=7))}&amp;community={world.c1.id}" in html


def test_staff_who_only_watch_get_the_day_view_links_and_others_see_nothing(world, make_client):
    cp = make_checkpoint(world.c1, world.k1, now=_midnight())
    shift = _shifts(cp, town_today() + timedelta(days=1))[1]
    leader = make_client()
    leader.login("leader")
    badges = _badges(leader.get("/duty/roster").get_data(as_text=True))
    assert f"/duty/shifts/{shift.id}" not in badges
    assert f"/duty/roster?day={shift.day.isoformat()}" in badges
    other = make_client()
    other.login("gridder3")
    html = other.get("/duty/roster").get_data(as_text=True)
    assert "东门检查点" not in html and not _badges(html)
    vol = make_client()
    vol.login("vol1")
    assert vol.get("/duty/roster").status_code == 403



def test_the_grid_pages_by_checkpoint_and_keeps_inactive_ones_only_while_they_have_shifts(
        world, make_client, count_queries):
    """ROSTER_PAGE_SIZE checkpoints a page; an inactive checkpoint is listed in the weeks it still has
    shifts in and not in the others, and is counted on the page it falls on, in the same statements."""
    client = make_client()
    client.app.config["ROSTER_PAGE_SIZE"] = 2
    made = [make_checkpoint(world.c1, world.k1, name=f"甲{i}检查点", now=_midnight()) for i in range(3)]
    client.login("secretary1")
    client.get("/duty/roster")
    with count_queries() as all_active:
        client.get("/duty/roster")
    gone = made[1]
    gone.active = False
    db.session.execute(Shift.__table__.delete().where(Shift.checkpoint_id == gone.id,
                                                      Shift.day > town_today()))
    db.session.commit()
    with count_queries() as one_inactive:
        html = client.get("/duty/roster").get_data(as_text=True)
    assert one_inactive["n"] == all_active["n"]
    rows = re.findall(r'id="grid-cp-(\d+)"', html)
    assert "Checkpoints 1–2 of 3" in html and len(rows) == 2
    html2 = client.get("/duty/roster?page=2").get_data(as_text=True)
    rows += re.findall(r'id="grid-cp-(\d+)"', html2)
    assert sorted(map(int, rows)) == sorted(c.id for c in made) and "(inactive)" in html + html2
    # The week after: the inactive checkpoint has no shift left there, so it is not listed.
    html = client.get(f"/duty/roster?start={(town_today() + timedelta(days=7)).isoformat()}"
                      ).get_data(as_text=True)
    assert "Checkpoints 1–2 of 2" in html and f'id="grid-cp-{gone.id}"' not in html
    # A page past the end shows the last one; nonsense shows the first.
    assert client.get("/duty/roster?page=9").get_data(as_text=True).count('id="grid-cp-') == 1
    assert client.get("/duty/roster?page=x").status_code == 200


# --- check-in / check-out on my shifts ------------------------------------------------------------

def _soon(world):
    """A checkpoint whose one shift starts in about ten minutes (check-in opens 30 minutes before),
    with vol1 on it."""
    start = to_local(utcnow() + timedelta(minutes=10)).replace(second=0, microsecond=0)
    end = start + timedelta(hours=2)
    cp = make_checkpoint(world.c1, world.k1, now=utcnow(), pattern=f"{start:%H:%M}-{end:%H:%M}")
    db.session.expire_all()
    shift = db.session.scalars(select(Shift).where(Shift.checkpoint_id == cp.id, Shift.starts_at > utcnow())
                               .order_by(Shift.starts_at)).first()
    signup_id = services.sign_up(shift, world.vol1).id
    db.session.commit()  # and touch nothing after it: a live server's requests must not wait for us
    return signup_id


def _status(signup_id):
    db.session.expire_all()
    return db.session.get(Signup, signup_id).status


def test_htmx_check_in_and_out_swap_just_that_row(world, client):
    signup_id = _soon(world)
    client.login("vol1")
    page = client.get("/duty/mine").get_data(as_text=True)
    assert f'hx-post="/duty/signups/{signup_id}/check-in"' in page and f'hx-target="#signup-{signup_id}"' in page
    resp = client.htmx_post(f"/duty/signups/{signup_id}/check-in")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and html.lstrip().startswith(f'<li id="signup-{signup_id}"') and "<html" not in html
    assert 'data-status="checked_in"' in html and "check-out-button" in html and "check-in-button" not in html
    assert "Checked in" in resp.headers["HX-Trigger"] and '"level": "success"' in resp.headers["HX-Trigger"]
    assert _status(signup_id) == "checked_in"
    # Again (a second tap): the row as it is, with the reason as an error toast.
    resp = client.htmx_post(f"/duty/signups/{signup_id}/check-in")
    assert resp.status_code == 409 and 'data-status="checked_in"' in resp.get_data(as_text=True)
    assert '"level": "error"' in resp.headers["HX-Trigger"]
    resp = client.htmx_post(f"/duty/signups/{signup_id}/check-out")
    html = resp.get_data(as_text=True)
    assert 'data-status="checked_out"' in html and "<button" not in html.split("Withdraw")[0]
    assert _status(signup_id) == "checked_out"


def test_check_in_and_out_work_as_plain_forms(world, client):
    signup_id = _soon(world)
    client.login("vol1")
    resp = client.post(f"/duty/signups/{signup_id}/check-in")
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/duty/mine")
    assert _status(signup_id) == "checked_in"
    resp = client.post(f"/duty/signups/{signup_id}/check-out", follow_redirects=True)
    assert resp.status_code == 200 and "Checked out." in resp.get_data(as_text=True)
    assert _status(signup_id) == "checked_out"
    resp = client.post(f"/duty/signups/{signup_id}/check-out", follow_redirects=True)
    assert resp.status_code == 200 and "already" in resp.get_data(as_text=True)


def test_check_in_refusals_and_someone_elses_row(world, make_client):
    cp = make_checkpoint(world.c1, world.k1, now=utcnow())
    db.session.expire_all()
    later = db.session.scalars(select(Shift).where(Shift.checkpoint_id == cp.id,
                                                   Shift.starts_at > utcnow() + timedelta(hours=30))
                               .order_by(Shift.starts_at)).first()
    signup = services.sign_up(later, world.vol1)
    db.session.commit()
    vol = make_client()
    vol.login("vol1")
    resp = vol.htmx_post(f"/duty/signups/{signup.id}/check-in")
    assert resp.status_code == 409 and 'data-status="signed_up"' in resp.get_data(as_text=True)
    assert "30 minutes" in resp.headers["HX-Trigger"] and '"level": "error"' in resp.headers["HX-Trigger"]
    assert _status(signup.id) == "signed_up"
    make_volunteers(world.c1, 1)
    other = make_client()
    other.login("v0")
    assert other.htmx_post(f"/duty/signups/{signup.id}/check-in").status_code == 403
    assert other.htmx_post(f"/duty/signups/{signup.id}/check-out").status_code == 403
    assert other.post("/duty/signups/99999999/check-in").status_code == 404
    assert _status(signup.id) == "signed_up"




def test_a_grid_members_roster_costs_the_same_statements_for_one_compound_as_for_several(world, make_client,
                                                                                       count_queries):
    """The gaps come with their checkpoints' compounds (whether a grid member manages a checkpoint
    depends on its compound's grid), also those of checkpoints on other pages of the grid: no
    statement per compound."""
    from gridapp.grid.models import Community, Compound

    community_id, grid_id = world.c1.id, world.g1.id
    gm = make_client()
    gm.app.config["ROSTER_PAGE_SIZE"] = 1

    def checkpoint_with_gaps(i):
        k = Compound(grid_id=grid_id, name=f"新建小区{i}", address=f"城关镇新路{i}号", entrance="南门")
        db.session.add(k)
        db.session.flush()
        make_checkpoint(db.session.get(Community, community_id), k, name=f"新建{i}号门岗", now=_midnight())

    def counted_roster():
        db.session.expunge_all()  # the page loads everything itself, as in a fresh request
        with count_queries() as q:
            html = gm.get("/duty/roster").get_data(as_text=True)
        return q, html

    for i in range(2):
        checkpoint_with_gaps(i)
    gm.login("gridder1")
    gm.get("/duty/roster")
    two, html = counted_roster()
    assert all(f"新建{i}号门岗 · " in html for i in range(2))
    for i in range(2, 5):
        checkpoint_with_gaps(i)
    five, html = counted_roster()
    assert all(f"新建{i}号门岗 · " in html for i in range(5)) and "Checkpoints 1–1 of 5" in html
    assert five["n"] == two["n"], five["sql"]
