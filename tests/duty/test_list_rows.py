"""The volunteers' list draws each shift's row once per process for the values it shows
(gridapp/core/fragments.py, duty.views.shift_rows), and the roster's week grid each checkpoint's row
(duty.views._roster_row_writer). A write is visible on the very next request of every viewer; the
rows kept are those drawn fresh; the clock moves them on; the CSRF token in a kept row is this
response's and this viewer's."""
import re
from datetime import timedelta

from gridapp.core.csrf import unmask
from gridapp.core.fragments import TOKEN, store
from gridapp.duty import services
from gridapp.extensions import db
from tests.duty.factories import DAY, T0, at, make_checkpoint, make_volunteers, shift_of
from tests.fragments import assert_kept_rows_are_fresh, viewers

TOKENS = re.compile(r'name="csrf_token" value="([^"]+)"')


def _row(html: str, shift_id: int) -> str:
    start = html.index(f'<li id="shift-{shift_id}"')
    return html[start:html.index("</li>", start) + 5]


def _viewers(world, make_client, n=3):
    """vol1 and n-1 other volunteers of the community, and a client for each, logged in."""
    users = [world.vol1, *make_volunteers(world.c1, n - 1)]
    db.session.commit()
    return users, viewers(make_client, *(u.username for u in users))


def test_a_sign_up_and_a_cancellation_show_on_every_viewers_next_request(world, make_client, clock):
    clock.set(T0)
    cp = make_checkpoint(world.c1, world.k1, max_people=3)
    shift = shift_of(cp, DAY + timedelta(days=1))
    _users, clients = _viewers(world, make_client)
    page = f"/duty/?day={shift.day.isoformat()}"
    for v in clients:  # every row drawn and kept
        assert 'data-filled="0"' in _row(v.get(page).get_data(as_text=True), shift.id)
    kept = len(store())
    assert kept > 0

    # The second viewer signs up with the form of their list (no htmx), as a phone without JavaScript.
    html = clients[1].get(page).get_data(as_text=True)
    token = TOKENS.search(_row(html, shift.id)).group(1)
    resp = clients[1].post(f"/duty/shifts/{shift.id}/signup", {"csrf_token": token, "next": page})
    assert resp.status_code in (302, 303)
    for i, v in enumerate(clients):
        row = _row(v.get(page).get_data(as_text=True), shift.id)
        assert 'data-filled="1"' in row
        assert ("withdraw-button" in row) == (i == 1) and ("signup-button" in row) == (i != 1)

    services.cancel_shift(world.gm1, shift_of(cp, DAY + timedelta(days=1)), "暴雨")
    db.session.commit()
    for v in clients:
        row = _row(v.get(page).get_data(as_text=True), shift.id)
        assert 'data-status="cancelled"' in row and "signup-button" not in row and "withdraw-button" not in row


def test_the_rows_kept_are_the_rows_drawn_fresh(app, world, make_client, clock):
    clock.set(T0)
    cp = make_checkpoint(world.c1, world.k1, max_people=2)
    make_checkpoint(world.c1, world.k2, name="北门检查点", max_people=1)
    users, clients = _viewers(world, make_client, n=4)
    # A full shift with the viewer on it and one without, a shift of today's within the withdrawal
    # cutoff with a viewer on it, a cancelled shift, and open ones.
    services.sign_up(shift_of(cp, DAY + timedelta(days=1)), users[0])
    services.sign_up(shift_of(cp, DAY + timedelta(days=1)), users[1])
    services.sign_up(shift_of(cp, DAY), users[2])
    services.cancel_shift(world.gm1, shift_of(cp, DAY + timedelta(days=2), "16:00-24:00"), "停岗")
    db.session.commit()
    pages = [f"/duty/?day={(DAY + timedelta(days=d)).isoformat()}" for d in range(3)] + [f"/duty/?checkpoint={cp.id}"]
    assert_kept_rows_are_fresh(app, clients, pages)


def test_the_clock_moves_a_kept_row_on(world, client, clock):
    clock.set(T0)  # 06:00: the 08:00 shift starts within the withdrawal cutoff, tomorrow's does not
    cp = make_checkpoint(world.c1, world.k1)
    today, tomorrow = shift_of(cp, DAY), shift_of(cp, DAY + timedelta(days=1), "16:00-24:00")
    client.login("vol1")
    html = client.get(f"/duty/?day={DAY.isoformat()}").get_data(as_text=True)
    row = _row(html, today.id)
    assert "signup-late" in row and "signup-button" in row and "shift-running" not in row
    later = client.get(f"/duty/?day={tomorrow.day.isoformat()}").get_data(as_text=True)
    assert "signup-late" not in _row(later, tomorrow.id)

    clock.set(at(DAY, "08:30"))  # under way: no sign-up any more
    row = _row(client.get(f"/duty/?day={DAY.isoformat()}").get_data(as_text=True), today.id)
    assert "shift-running" in row and "signup-button" not in row
    clock.set(at(DAY + timedelta(days=1), "05:00"))  # tomorrow's 16:00 now starts within 12 h
    row = _row(client.get(f"/duty/?day={tomorrow.day.isoformat()}").get_data(as_text=True), tomorrow.id)
    assert "signup-late" in row and "signup-button" in row


def test_a_kept_row_carries_this_responses_token_for_this_viewer(world, make_client, clock):
    clock.set(T0)
    cp = make_checkpoint(world.c1, world.k1, max_people=3)
    shift = shift_of(cp, DAY + timedelta(days=1))
    _users, (first, second) = _viewers(world, make_client, n=2)
    page = f"/duty/?day={shift.day.isoformat()}"
    one = first.get(page).get_data(as_text=True)
    two, again = (second.get(page).get_data(as_text=True) for _ in range(2))
    assert TOKEN not in one + two and "\x00" not in one + two
    tokens = {name: set(TOKENS.findall(html)) for name, html in (("one", one), ("two", two), ("again", again))}
    assert all(tokens.values())
    # Masked afresh in every response; the same secret under the masks of one viewer, not of another.
    assert tokens["two"].isdisjoint(tokens["again"]) and tokens["one"].isdisjoint(tokens["two"])
    assert {unmask(t) for t in tokens["two"] | tokens["again"]} == {unmask(next(iter(tokens["two"])))}
    assert unmask(next(iter(tokens["one"]))) != unmask(next(iter(tokens["two"])))
    # The first viewer's token does not sign the second up; the second's own does.
    row = _row(two, shift.id)
    assert second.post(f"/duty/shifts/{shift.id}/signup", {"csrf_token": next(iter(tokens["one"])), "next": page},
                       ).status_code == 400
    assert second.post(f"/duty/shifts/{shift.id}/signup", {"csrf_token": TOKENS.search(row).group(1),
                                                           "next": page}).status_code in (302, 303)
    assert 'data-filled="1"' in _row(first.get(page).get_data(as_text=True), shift.id)


# --- the roster's week grid: a checkpoint's row kept drawn (duty.views._roster_row_writer) ---------

STAFF = ("gridder1", "secretary1", "leader")


def _grid_row(html: str, checkpoint_id: int) -> str:
    start = html.index(f'<tr id="grid-cp-{checkpoint_id}">')
    return html[start:html.index("</tr>", start)]


def test_a_roster_row_follows_sign_ups_the_clock_and_a_rename_for_every_viewer(world, make_client, clock):
    clock.set(T0)
    cp = make_checkpoint(world.c1, world.k1, max_people=2)  # DAY's 08:00-16:00 is two hours ahead
    staff = viewers(make_client, *STAFF)
    page = f"/duty/roster?start={DAY.isoformat()}"
    for c in staff:
        row = _grid_row(c.get(page).get_data(as_text=True), cp.id)
        assert " 0/2" in row and "cov-past" not in row
    assert len(store()) > 0

    services.sign_up(shift_of(cp, DAY), world.vol1)
    db.session.commit()
    for c in staff:
        assert " 1/2" in _grid_row(c.get(page).get_data(as_text=True), cp.id)

    clock.set(at(DAY, "16:30"))  # the 08:00 shift is over: only the clock moved
    for c in staff:
        assert "cov-past" in _grid_row(c.get(page).get_data(as_text=True), cp.id)

    cp.name = "东门检查点（临时）"
    db.session.commit()
    for c in staff:
        assert "东门检查点（临时）" in _grid_row(c.get(page).get_data(as_text=True), cp.id)


def test_the_roster_rows_kept_are_the_rows_drawn_fresh(app, world, make_client, clock):
    clock.set(at(DAY, "12:00"))
    cp = make_checkpoint(world.c1, world.k1, max_people=2, now=T0)
    make_checkpoint(world.c1, None, name="党员先锋岗01", kind="vanguard", pattern="08:00-20:00,20:00-08:00",
                    max_people=1, now=T0)
    other = make_checkpoint(world.c2, world.k3, name="家属楼南门", now=T0)
    users = make_volunteers(world.c1, 3)
    services.sign_up(shift_of(cp, DAY + timedelta(days=1)), users[0])
    services.sign_up(shift_of(cp, DAY + timedelta(days=1)), users[1])
    services.sign_up(shift_of(cp, DAY + timedelta(days=2), "16:00-24:00"), users[2])
    services.cancel_shift(world.gm1, shift_of(cp, DAY + timedelta(days=3)), "停岗")
    db.session.commit()
    assert other.id
    staff = viewers(make_client, *STAFF)
    pages = [f"/duty/roster?start={DAY.isoformat()}", f"/duty/roster?start={(DAY + timedelta(days=7)).isoformat()}",
             f"/duty/roster?start={DAY.isoformat()}&community={world.c1.id}"]
    assert all('id="roster-grid"' in c.get(p).get_data(as_text=True) for c in staff for p in pages)
    assert_kept_rows_are_fresh(app, staff, pages)


# --- my shifts: each sign-up's row and each past shift's kept drawn (duty.views.mine_rows, past_rows) ---

def test_my_rows_follow_check_in_the_clock_and_a_cancellation(world, client, clock):
    clock.set(T0)  # 06:00: the 08:00 shift's check-in opens at 07:30
    cp = make_checkpoint(world.c1, world.k1, max_people=3)
    today = services.sign_up(shift_of(cp, DAY), world.vol1)
    services.sign_up(shift_of(cp, DAY + timedelta(days=1)), world.vol1)
    db.session.commit()
    client.login("vol1")
    html = client.get("/duty/mine").get_data(as_text=True)
    row = html[html.index(f'id="signup-{today.id}"'):]
    assert "check-in-button" not in row[:row.index("</li>")]
    assert len(store()) > 0

    clock.set(at(DAY, "07:45"))  # only the clock moved: check-in is open
    html = client.get("/duty/mine").get_data(as_text=True)
    row = html[html.index(f'id="signup-{today.id}"'):]
    row = row[:row.index("</li>")]
    assert "check-in-button" in row
    token = TOKENS.search(row).group(1)
    assert client.post(f"/duty/signups/{today.id}/check-in", {"csrf_token": token}).status_code in (302, 303)
    html = client.get("/duty/mine").get_data(as_text=True)
    row = html[html.index(f'id="signup-{today.id}"'):]
    assert 'data-status="checked_in"' in row[:200] and "check-out-button" in row[:row.index("</li>")]

    services.cancel_shift(world.gm1, shift_of(cp, DAY + timedelta(days=1)), "暴雨停岗")
    db.session.commit()
    assert "暴雨停岗" in client.get("/duty/mine").get_data(as_text=True)

    clock.set(at(DAY, "17:00"))  # the shift is over: it moves to the past list
    html = client.get("/duty/mine").get_data(as_text=True)
    past = html[html.index('id="past"'):]
    assert f"{DAY.isoformat()} 08:00-16:00" in past and f'id="signup-{today.id}"' not in html


def test_my_rows_kept_are_the_rows_drawn_fresh(app, world, make_client, clock):
    clock.set(at(DAY, "07:45"))
    cp = make_checkpoint(world.c1, world.k1, max_people=3, now=T0)
    users, clients = _viewers(world, make_client, n=3)
    for user in users:
        services.sign_up(shift_of(cp, DAY), user)
        services.sign_up(shift_of(cp, DAY + timedelta(days=1), "16:00-24:00"), user)
    services.check_in(services.my_shifts(users[1]).upcoming[0], users[1])
    services.cancel_shift(world.gm1, shift_of(cp, DAY + timedelta(days=1), "16:00-24:00"), "停岗")
    db.session.commit()
    clock.set(at(DAY + timedelta(days=2), "07:45"))  # yesterday's and the day before's are past now
    services.sign_up(shift_of(cp, DAY + timedelta(days=2)), users[0])
    db.session.commit()
    clock.set(at(DAY + timedelta(days=2), "07:50"))
    assert all('id="past"' in c.get("/duty/mine").get_data(as_text=True) for c in clients)
    assert_kept_rows_are_fresh(app, clients, ["/duty/mine"])
