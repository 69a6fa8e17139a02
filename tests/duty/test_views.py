"""The duty pages: sign-up / withdraw with and without htmx, refusals shown, permissions per object,
my shifts with check-in and the calendar feed, the roster with gaps first, checkpoints, hours export."""
import re
from datetime import timedelta
from io import BytesIO

from sqlalchemy import select

from gridapp.duty import services
from gridapp.duty.models import Checkpoint, Shift, Signup
from gridapp.extensions import db
from gridapp.timeutil import town_today, utcnow
from tests.duty.factories import make_checkpoint, make_volunteers
from tests.exports import personal


def _now_checkpoint(world, community=None, compound="k1", **kw):
    """A checkpoint set up now (the views use the real clock)."""
    return make_checkpoint(community or world.c1, getattr(world, compound) if compound else None, now=utcnow(), **kw)


def _future_shift(cp, hours=30) -> Shift:
    """An open shift starting later than `hours` from now (past the withdrawal cut-off)."""
    db.session.expire_all()
    return db.session.scalars(select(Shift).where(Shift.checkpoint_id == cp.id,
                                                  Shift.starts_at > utcnow() + timedelta(hours=hours))
                              .order_by(Shift.starts_at)).first()


def _shift(shift_id) -> Shift:
    db.session.expire_all()
    return db.session.get(Shift, shift_id)


def test_volunteer_page_lists_my_communitys_shifts_by_day(world, client):
    cp = _now_checkpoint(world)
    _now_checkpoint(world, world.c2, "k3", name="家属楼南门")
    client.login("vol1")
    shift = _future_shift(cp)
    html = client.get(f"/duty/?day={shift.day.isoformat()}").get_data(as_text=True)
    assert "东门检查点" in html and "家属楼南门" not in html
    assert f'id="shift-{shift.id}"' in html and "signup-button" in html
    # Filters: one checkpoint over 14 days, only shifts that need people.
    html = client.get(f"/duty/?checkpoint={cp.id}&needs=1").get_data(as_text=True)
    assert html.count('class="shift"') >= 13 * 3


def test_htmx_sign_up_returns_just_that_shift_with_the_new_count(world, client):
    cp = _now_checkpoint(world, max_people=3)
    shift = _future_shift(cp)
    client.login("vol1")
    resp = client.htmx_post(f"/duty/shifts/{shift.id}/signup")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert html.lstrip().startswith(f'<li id="shift-{shift.id}"') and "<html" not in html
    assert 'data-filled="1"' in html and "withdraw-button" in html
    assert "gridapp:toast" in resp.headers["HX-Trigger"]
    resp = client.htmx_post(f"/duty/shifts/{shift.id}/withdraw")
    assert 'data-filled="0"' in resp.get_data(as_text=True)
    assert _shift(shift.id).filled == 0


def test_sign_up_without_javascript_redirects_back_with_a_message(world, client):
    cp = _now_checkpoint(world, max_people=1)
    shift = _future_shift(cp)
    client.login("vol1")
    resp = client.post(f"/duty/shifts/{shift.id}/signup", {"next": f"/duty/?day={shift.day.isoformat()}"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/duty/?day={shift.day.isoformat()}")
    assert _shift(shift.id).filled == 1
    # Full now: another volunteer is refused with the reason, nothing changes.
    make_volunteers(world.c1, 1)
    other = client.__class__(client.app)
    other.login("v0")
    resp = other.post(f"/duty/shifts/{shift.id}/signup", follow_redirects=True)
    assert "full" in resp.get_data(as_text=True) or "已满" in resp.get_data(as_text=True)
    assert _shift(shift.id).filled == 1


def test_refusals_come_back_as_the_fragment_with_an_error_toast(world, client):
    cp = _now_checkpoint(world, world.c2, "k3")
    shift = _future_shift(cp)
    client.login("vol1")
    resp = client.htmx_post(f"/duty/shifts/{shift.id}/signup")
    assert resp.status_code == 409 and f'id="shift-{shift.id}"' in resp.get_data(as_text=True)
    assert "东城社区" in resp.headers["HX-Trigger"].encode().decode("unicode_escape")
    assert '"level": "error"' in resp.headers["HX-Trigger"]
    resp = client.post(f"/duty/shifts/{shift.id}/signup", follow_redirects=True)
    assert "东城社区" in resp.get_data(as_text=True)
    assert db.session.scalar(select(Signup.id)) is None and _shift(shift.id).filled == 0


def test_only_volunteers_sign_up_and_nobody_signs_up_someone_else(world, make_client):
    cp = _now_checkpoint(world)
    shift = _future_shift(cp)
    gm = make_client()
    gm.login("gridder1")
    assert gm.post(f"/duty/shifts/{shift.id}/signup").status_code == 403
    vol = make_client()
    vol.login("vol1")
    assert vol.post(f"/duty/shifts/{shift.id}/assign", {"user_id": world.vol1.id}).status_code == 403
    assert vol.get("/duty/roster").status_code == 403
    assert vol.get(f"/duty/shifts/{shift.id}").status_code == 403
    assert _shift(shift.id).filled == 0


def test_staff_who_sign_up_for_nothing_find_the_roster_for_their_shifts(world, make_client):
    gm = make_client()
    gm.login("gridder1")
    for path in ("/duty/", "/duty/mine"):
        resp = gm.get(path)
        assert resp.status_code == 302 and resp.headers["Location"].endswith("/duty/roster")
    vol = make_client()
    vol.login("vol1")
    assert vol.get("/duty/mine").status_code == 200


def test_a_grid_member_of_another_community_cannot_edit_this_roster(world, make_client):
    cp = _now_checkpoint(world)
    shift = _future_shift(cp)
    signup = services.sign_up(shift, world.vol1)
    db.session.commit()
    c = make_client()
    c.login("gridder3")
    assert c.get(f"/duty/shifts/{shift.id}").status_code == 403
    assert c.post(f"/duty/shifts/{shift.id}/assign", {"user_id": world.vol1.id}).status_code == 403
    assert c.post(f"/duty/signups/{signup.id}/remove", {"reason": "x"}).status_code == 403
    assert c.post(f"/duty/checkpoints/{cp.id}", {"name": "x", "pattern": "08:00-20:00,20:00-08:00",
                                                  "min_people": 1, "max_people": 1}).status_code == 403
    html = c.get("/duty/roster").get_data(as_text=True)
    assert "东门检查点" not in html
    db.session.expire_all()
    assert db.session.get(Signup, signup.id).status == "signed_up"
    assert db.session.get(Checkpoint, cp.id).pattern == "00:00-08:00,08:00-16:00,16:00-24:00"


def test_grid_member_assigns_and_removes_with_a_reason(world, client):
    cp = _now_checkpoint(world)
    shift = _future_shift(cp)
    client.login("gridder1")
    page = client.get(f"/duty/shifts/{shift.id}").get_data(as_text=True)
    assert "Vol1" in page
    resp = client.post(f"/duty/shifts/{shift.id}/assign", {"user_id": world.vol1.id})
    assert resp.status_code == 303 and _shift(shift.id).filled == 1
    signup = db.session.scalars(select(Signup)).one()
    assert signup.assigned_by_id == world.gm1.id
    resp = client.post(f"/duty/signups/{signup.id}/remove", {"reason": ""})
    assert resp.status_code == 422 and _shift(shift.id).filled == 1
    resp = client.post(f"/duty/signups/{signup.id}/remove", {"reason": "换班"})
    assert resp.status_code == 303 and _shift(shift.id).filled == 0


def test_work_unit_contact_manages_the_units_checkpoint_only(world, client):
    unit_cp = _now_checkpoint(world, world.c2, "k3", name="监管局门岗")
    other = _now_checkpoint(world)
    client.login("unit1")
    assert client.get(f"/duty/checkpoints/{other.id}").status_code == 403
    resp = client.post(f"/duty/checkpoints/{unit_cp.id}", {"pattern": "07:00-19:00,19:00-07:00",
                                                           "min_people": 2, "max_people": 3, "active": "y",
                                                           "name": "改名", "kind": "gate", "compound_id": 0,
                                                           "work_unit_id": 0})
    assert resp.status_code == 302
    db.session.expire_all()
    cp = db.session.get(Checkpoint, unit_cp.id)
    assert cp.pattern == "07:00-19:00,19:00-07:00" and cp.min_people == 2
    assert cp.name == "监管局门岗"  # the place's details stay the community's to change
    assert "监管局门岗" in client.get("/duty/roster").get_data(as_text=True)


def test_a_bad_pattern_shows_the_form_again_with_the_message(world, client):
    cp = _now_checkpoint(world)
    client.login("secretary1")
    resp = client.post(f"/duty/checkpoints/{cp.id}", {"name": "东门", "kind": "gate", "pattern": "8点到16点",
                                                      "min_people": 1, "max_people": 2, "active": "y",
                                                      "compound_id": 0, "work_unit_id": 0})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "8点到16点" in html and 'class="error"' in html
    resp = client.post(f"/duty/checkpoints/new?community={world.c1.id}",
                       {"name": "西门", "kind": "gate", "pattern": "08:00-20:00,20:00-08:00", "min_people": 1,
                        "max_people": 2, "active": "y", "compound_id": world.k1.id, "work_unit_id": 0})
    assert resp.status_code == 302
    made = db.session.scalars(select(Checkpoint).where(Checkpoint.name == "西门")).one()
    assert made.compound_id == world.k1.id
    assert db.session.scalar(select(Shift.id).where(Shift.checkpoint_id == made.id)) is not None


def test_roster_lists_the_gaps_of_the_next_24_hours_first(world, client):
    cp = _now_checkpoint(world, min_people=1)
    client.login("secretary1")
    html = client.get("/duty/roster").get_data(as_text=True)
    assert html.index('id="gaps-24"') < html.index('id="roster-grid"')
    assert f"/duty/checkpoints/new?community={world.c1.id}" in html
    assert f"community={world.c2.id}" not in html
    gaps24 = html[html.index('id="gaps-24"'):html.index('id="gaps-48"')]
    assert gaps24.count('class="gap"') >= 2 and "东门检查点" in gaps24
    assert services.gaps(world.sec1, hours=48)[0].checkpoint_id == cp.id
    html = client.get(f"/duty/roster?day={town_today().isoformat()}").get_data(as_text=True)
    assert html.index('id="gaps-24"') < html.index('id="roster"')


def _local_midnight():
    """The start of today in the town: checkpoints made then have all 14 × 3 shifts."""
    from datetime import datetime

    from gridapp.timeutil import town_zone

    return datetime.combine(town_today(), datetime.min.time(), tzinfo=town_zone())


def test_roster_queries_do_not_grow_with_107_checkpoints(world, make_client, count_queries):
    """Both views of the roster, the week grid (107 × 7 days × 3 shifts, the default) and a day with
    its people, in a bounded number of statements, the same for 1 checkpoint as for 107."""
    made = _local_midnight()
    make_checkpoint(world.c1, world.k1, now=made)
    today = town_today().isoformat()
    c = make_client()
    c.login("secretary1")
    c.get("/duty/roster")
    with count_queries() as few:
        assert c.get("/duty/roster").status_code == 200
    with count_queries() as few_day:
        assert c.get(f"/duty/roster?day={today}").status_code == 200
    for i in range(106):
        services.create_checkpoint(None, community=world.c1, compound=world.k1 if i % 2 else None, now=made,
                                   values={"name": f"检查点{i:03d}", "kind": "gate", "min_people": 1, "max_people": 2})
    db.session.commit()
    assert db.session.scalar(select(db.func.count(Shift.id))) == 107 * 3 * 14
    now = utcnow()
    volunteers = make_volunteers(world.c1, 3)
    for shift in db.session.scalars(select(Shift).where(Shift.starts_at > now).limit(60)):
        services.sign_up(shift, volunteers[shift.id % 3], now=now) if not services._clash(
            volunteers[shift.id % 3].id, shift) else None
    later = db.session.scalars(select(Shift).where(Shift.starts_at > now + timedelta(hours=30)).limit(5)).all()
    for shift in later:
        services.cancel_shift(world.sec1, shift, "测试", now=now)
    db.session.commit()
    with count_queries() as many:
        resp = c.get("/duty/roster")
    html = resp.get_data(as_text=True)
    # 20 checkpoints a page (ROSTER_PAGE_SIZE), each with 7 days × 3 shifts; all 107 over six pages.
    assert resp.status_code == 200 and html.count('<a class="cov cov-') == 20 * 3 * 7
    assert "Checkpoints 1–20 of 107" in html
    assert many["n"] == few["n"], [q[:150] for q in many["sql"]] + ["----"] + [q[:150] for q in few["sql"]]
    rows, cancelled = re.findall(r'id="grid-cp-(\d+)"', html), html.count("cov-cancelled")
    for page in range(2, 7):
        with count_queries() as paged:
            html = c.get(f"/duty/roster?page={page}").get_data(as_text=True)
        assert paged["n"] == few["n"] and f"Checkpoints {page * 20 - 19}–{min(page * 20, 107)} of 107" in html
        # Moving a week keeps the page of checkpoints.
        assert re.search(rf'href="/duty/roster\?start=[\d-]+&amp;page={page}" id="week-next"', html)
        rows += re.findall(r'id="grid-cp-(\d+)"', html)
        cancelled += html.count("cov-cancelled")
    assert len(rows) == len(set(rows)) == 107 and cancelled >= 5
    assert "page=7" not in html and c.get("/duty/roster?page=7").get_data(as_text=True).count('id="grid-cp-') == 7
    assert many["n"] <= 14
    with count_queries() as many_day:
        resp = c.get(f"/duty/roster?day={today}")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and html.count('id="roster-shift-') == 107 * 3
    assert many_day["n"] == few_day["n"] <= 14
    # The next week: 7 more days, the same statements.
    with count_queries() as next_week:
        html = c.get(f"/duty/roster?start={(town_today() + timedelta(days=7)).isoformat()}").get_data(
            as_text=True)
    assert html.count('<a class="cov cov-') == 20 * 3 * 7 and next_week["n"] == few["n"]
    gm = make_client()
    gm.login("gridder1")
    gm.get("/duty/roster")
    with count_queries() as as_gridder:
        gm.get("/duty/roster")
    assert as_gridder["n"] <= 15


def test_my_shifts_check_in_and_the_calendar_feed(world, client):
    cp = _now_checkpoint(world)
    db.session.expire_all()
    current = db.session.scalars(select(Shift).where(Shift.checkpoint_id == cp.id, Shift.starts_at > utcnow())
                                 .order_by(Shift.starts_at)).first()
    later = _future_shift(cp)
    services.sign_up(later, world.vol1)
    db.session.commit()
    client.login("vol1")
    resp = client.get("/duty/mine")
    html = resp.get_data(as_text=True)
    assert resp.headers["Cache-Control"] == "no-store"
    assert f"{later.day.isoformat()} {later.label}" in html
    feed_url = html.split('id="feed-url"')[0].rsplit('value="', 1)[1].split('"')[0]
    path = feed_url.split("localhost", 1)[-1]
    # The same address to subscribe to (webcal:) and to download once.
    assert f'id="feed-subscribe" href="webcal://localhost{path}"' in html
    assert f'id="feed-download" href="{feed_url}"' in html
    ics = client.raw.get(path)
    assert ics.status_code == 200 and ics.headers["Content-Type"].startswith("text/calendar")
    assert "BEGIN:VEVENT" in ics.get_data(as_text=True) and "东门检查点" in ics.get_data(as_text=True)
    client.post("/duty/mine/feed")
    assert client.raw.get(path).status_code == 404  # the old address is dead
    # Check in is refused before the window, with a message; nothing changes.
    signup = db.session.scalars(select(Signup)).one()
    resp = client.post(f"/duty/signups/{signup.id}/check-in", follow_redirects=True)
    assert "30" in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Signup, signup.id).status == "signed_up"
    assert current is not None


def test_someone_elses_sign_up_cannot_be_checked_in_or_withdrawn(world, make_client):
    cp = _now_checkpoint(world)
    shift = _future_shift(cp)
    signup = services.sign_up(shift, world.vol1)
    db.session.commit()
    make_volunteers(world.c1, 1)
    c = make_client()
    c.login("v0")
    assert c.post(f"/duty/signups/{signup.id}/check-in").status_code == 403
    resp = c.post(f"/duty/shifts/{shift.id}/withdraw", follow_redirects=True)
    assert "not signed up" in resp.get_data(as_text=True) or resp.status_code == 200
    assert _shift(shift.id).filled == 1


def test_hours_page_and_excel_export(world, client):
    from openpyxl import load_workbook

    cp = _now_checkpoint(world)
    shift = db.session.scalars(select(Shift).where(Shift.checkpoint_id == cp.id, Shift.starts_at > utcnow())
                               .order_by(Shift.starts_at)).first()
    signup = services.sign_up(shift, world.vol1)
    db.session.commit()
    services.check_in(signup, world.vol1, now=shift.starts_at)
    db.session.commit()
    client.login("secretary1")
    start, end = (shift.day - timedelta(days=1)).isoformat(), (shift.day + timedelta(days=1)).isoformat()
    html = client.get(f"/duty/hours?start={start}&end={end}").get_data(as_text=True)
    assert "Vol1" in html
    client.confirm_password()  # an export asks for it
    resp = client.get(personal(f"/duty/hours.xlsx?start={start}&end={end}"))
    assert resp.status_code == 200
    ws = load_workbook(BytesIO(resp.data)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[2][:6] == ("Vol1", "vol1", 1, 1, 0, 8.0)
    assert client.get(personal(f"/duty/hours.xlsx?start={end}&end={start}")).status_code == 400
    other = client.__class__(client.app)
    other.login("secretary2")
    other.confirm_password()
    ws = load_workbook(BytesIO(other.get(personal(f"/duty/hours.xlsx?start={start}&end={end}")).data)).active
    assert len(list(ws.iter_rows(values_only=True))) == 2  # none of c1's volunteers


def test_volunteer_page_queries_do_not_grow_with_checkpoints(world, make_client, count_queries):
    cp = _now_checkpoint(world)
    c = make_client()
    c.login("vol1")
    day = _future_shift(cp).day.isoformat()
    c.get(f"/duty/?day={day}")
    with count_queries() as few:
        c.get(f"/duty/?day={day}")
    now = utcnow()
    for i in range(40):
        services.create_checkpoint(None, community=world.c1, now=now,
                                   values={"name": f"先锋岗{i:02d}", "kind": "vanguard"})
    db.session.commit()
    for shift in db.session.scalars(select(Shift).where(Shift.day == _future_shift(cp).day).limit(5)):
        if not services._clash(world.vol1.id, shift):
            services.sign_up(shift, world.vol1, now=now)
    db.session.commit()
    with count_queries() as many:
        html = c.get(f"/duty/?day={day}").get_data(as_text=True)
    assert html.count('class="shift"') == 41 * 3 and html.count("withdraw-button") >= 1
    assert many["n"] == few["n"] <= 10


def _shift_starting_within(cp, low, high) -> Shift:
    db.session.expire_all()
    now = utcnow()
    return db.session.scalars(select(Shift).where(Shift.checkpoint_id == cp.id,
                                                  Shift.starts_at > now + timedelta(hours=low),
                                                  Shift.starts_at <= now + timedelta(hours=high))
                              .order_by(Shift.starts_at)).first()


def test_no_trap_a_late_sign_up_is_warned_before_and_after(world, client):
    import json

    cp = _now_checkpoint(world)
    client.login("vol1")
    soon = _shift_starting_within(cp, 0, 11)  # inside the 12 h withdrawal cut-off
    html = client.get(f"/duty/?day={soon.day.isoformat()}").get_data(as_text=True)
    block = html.split(f'id="shift-{soon.id}"', 1)[1].split("</li>", 1)[0]
    assert "signup-late" in block and "cannot withdraw yourself" in block
    resp = client.htmx_post(f"/duty/shifts/{soon.id}/signup")
    toast = json.loads(resp.headers["HX-Trigger"])["gridapp:toast"]
    assert toast["level"] == "warning" and "Withdrawals have closed" in toast["message"]
    assert "withdraw-button" not in resp.get_data(as_text=True)  # no button that would be refused

    later = _future_shift(cp, hours=30)
    resp = client.htmx_post(f"/duty/shifts/{later.id}/signup")
    toast = json.loads(resp.headers["HX-Trigger"])["gridapp:toast"]
    assert toast["level"] == "success" and "You can withdraw until" in toast["message"]
    assert "You can withdraw until" in resp.get_data(as_text=True) and "withdraw-button" in resp.get_data(as_text=True)
    until = later.starts_at - timedelta(hours=12)
    from gridapp.timeutil import to_local

    assert to_local(until).strftime("%m-%d %H:%M") in resp.get_data(as_text=True)
    assert "You can withdraw until" in client.get("/duty/mine").get_data(as_text=True)


def _running_shift(cp) -> Shift:
    """The checkpoint's shift running now (made from today on, the one running may have begun yesterday:
    then one is made around now)."""
    now = utcnow()
    running = db.session.scalars(select(Shift).where(Shift.checkpoint_id == cp.id, Shift.starts_at <= now,
                                                     Shift.ends_at > now)).first()
    if running is None:
        running = Shift(checkpoint_id=cp.id, day=town_today(), label="00:00-00:00", starts_at=now - timedelta(hours=1),
                        ends_at=now + timedelta(hours=1), min_people=1, capacity=2)
        db.session.add(running)
        db.session.commit()
    return running


def test_the_shift_running_now_is_marked_in_progress(world, client):
    cp = _now_checkpoint(world)
    running = _running_shift(cp)
    client.login("vol1")
    html = client.get(f"/duty/?day={running.day.isoformat()}&checkpoint={cp.id}").get_data(as_text=True)
    block = html.split(f'id="shift-{running.id}"', 1)[1].split("</li>", 1)[0]
    assert "shift-running" in block and "In progress" in block
    assert html.count("shift-running") == 1


def test_a_running_shift_short_of_people_tops_the_grid_members_gaps(world, client):
    cp = _now_checkpoint(world)
    running = _running_shift(cp)
    client.login("gridder1")
    html = client.get("/duty/roster").get_data(as_text=True)
    gaps = html.split('id="gaps-24"', 1)[1].split("</ul>", 1)[0]
    first = gaps.split('<li class="gap">')[1]
    assert f"/duty/shifts/{running.id}" in first and "In progress" in first


def test_my_shifts_lists_the_past_ones_newest_first_with_their_outcome(world, client, clock):
    clock.town("2026-03-02 06:00")
    cp = _now_checkpoint(world)
    first, second, third = db.session.scalars(select(Shift).where(Shift.checkpoint_id == cp.id)
                                              .order_by(Shift.starts_at).limit(3)).all()
    for shift, status in ((first, "checked_out"), (second, "no_show"), (third, "signed_up")):
        db.session.add(Signup(shift_id=shift.id, user_id=world.vol1.id, status=status, signed_up_at=utcnow()))
    db.session.commit()
    clock.set(second.ends_at + timedelta(minutes=1))  # the first two have ended, the third not
    client.login("vol1")
    html = client.get("/duty/mine").get_data(as_text=True)
    past = html.split('id="past"', 1)[1].split("</ul>", 1)[0]
    upcoming = html.split('id="upcoming"', 1)[1].split("</ul>", 1)[0]
    rows = re.findall(r"<span>([^<]+)</span>\s*<span class=\"badge( warn)?\">([^<]+)</span>", past)
    assert [(text.strip(), bool(warn)) for text, warn, _label in rows] == [
        (f"东门检查点 · {second.day.isoformat()} {second.label}", True),
        (f"东门检查点 · {first.day.isoformat()} {first.label}", False)]
    assert f"{third.day.isoformat()} {third.label}" in upcoming and f"{third.day.isoformat()} {third.label}" not in past
