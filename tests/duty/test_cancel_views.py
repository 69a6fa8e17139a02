"""Cancelling a shift from its staff page: CSRF, a required reason, permission per checkpoint,
notices and audit; refusals (started, over, already cancelled) come back as a message, never a
500; the cancelled shift shows as cancelled to volunteers, on my shifts and on the roster."""
import re
from datetime import timedelta

from sqlalchemy import func, select

from gridapp.audit.models import AuditEvent
from gridapp.duty import services
from gridapp.duty.models import Shift, Signup
from gridapp.extensions import db
from gridapp.notifications.models import Notification
from gridapp.timeutil import utcnow
from tests.duty.factories import make_checkpoint, make_volunteers


def _checkpoint(world, now=None, **kw):
    return make_checkpoint(world.c1, world.k1, now=now or utcnow(), **kw)


def _future_shift(cp, hours=30) -> Shift:
    db.session.expire_all()
    return db.session.scalars(select(Shift).where(Shift.checkpoint_id == cp.id,
                                                  Shift.starts_at > utcnow() + timedelta(hours=hours))
                              .order_by(Shift.starts_at)).first()


def _fresh(shift_id) -> Shift:
    db.session.expire_all()
    return db.session.get(Shift, shift_id)


def _cancel_events():
    return db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "duty_shift_cancelled"))


def test_grid_member_cancels_with_a_reason_and_the_people_are_told(world, client):
    cp = _checkpoint(world, max_people=3)
    shift = _future_shift(cp)
    vol2, = make_volunteers(world.c1, 1)
    services.sign_up(shift, world.vol1)
    services.sign_up(_fresh(shift.id), vol2)
    db.session.commit()
    client.login("gridder1")
    page = client.get(f"/duty/shifts/{shift.id}").get_data(as_text=True)
    assert 'id="cancel-shift"' in page and f'action="/duty/shifts/{shift.id}/cancel"' in page
    assert 'name="cancel_reason"' in page and re.search(r"css/duty\.[0-9a-f]{12}\.css", page)
    resp = client.post(f"/duty/shifts/{shift.id}/cancel", {"cancel_reason": "暴雨，卡点撤岗"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/duty/shifts/{shift.id}")
    after = _fresh(shift.id)
    assert (after.status, after.filled) == ("cancelled", 0)
    assert {s.status for s in db.session.scalars(select(Signup))} == {"cancelled"}
    notes = db.session.scalars(select(Notification).where(Notification.kind == "duty_removed")).all()
    assert sorted(n.user_id for n in notes) == sorted([world.vol1.id, vol2.id])
    assert {n.dedupe_key for n in notes} == {f"shift-cancelled:{shift.id}"}
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "duty_shift_cancelled")).one()
    assert (event.actor_id, event.object_id, event.summary) == (world.gm1.id, shift.id, "暴雨，卡点撤岗")
    page = client.get(f"/duty/shifts/{shift.id}").get_data(as_text=True)
    assert 'id="cancelled"' in page and "暴雨，卡点撤岗" in page and "Gridder1" in page
    assert 'id="cancel-shift"' not in page and "Put a volunteer on this shift" not in page
    # The same request again (a double click, a second tab): refused with a message, nobody told twice.
    resp = client.post(f"/duty/shifts/{shift.id}/cancel", {"cancel_reason": "再来一次"}, follow_redirects=True)
    assert resp.status_code == 200 and "already been cancelled" in resp.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Notification.id)).where(Notification.kind == "duty_removed")) == 2
    assert _cancel_events() == 1


def test_a_reason_and_the_csrf_token_are_required(world, client):
    cp = _checkpoint(world)
    shift = _future_shift(cp)
    client.login("secretary1")
    for data in ({"cancel_reason": ""}, {"cancel_reason": "   "}, {}, {"cancel_reason": "长" * 501}):
        resp = client.post(f"/duty/shifts/{shift.id}/cancel", data)
        assert resp.status_code == 422, data
        assert 'class="error"' in resp.get_data(as_text=True)
    resp = client.post(f"/duty/shifts/{shift.id}/cancel", {"cancel_reason": "无需值守"}, csrf=False)
    assert resp.status_code == 400
    assert client.get(f"/duty/shifts/{shift.id}/cancel").status_code == 405
    assert client.post("/duty/shifts/99999999/cancel", {"cancel_reason": "x"}).status_code == 404
    assert client.post("/duty/shifts/99999999999999/cancel", {"cancel_reason": "x"}).status_code == 404
    assert _fresh(shift.id).status == "open" and _cancel_events() == 0


def test_a_started_or_ended_shift_is_refused_with_a_message(world, client):
    cp = _checkpoint(world, now=utcnow() - timedelta(days=2))
    db.session.expire_all()
    running = db.session.scalars(select(Shift).where(Shift.checkpoint_id == cp.id, Shift.starts_at <= utcnow(),
                                                     Shift.ends_at > utcnow())).one()
    ended = db.session.scalars(select(Shift).where(Shift.checkpoint_id == cp.id, Shift.ends_at <= utcnow())
                               .order_by(Shift.starts_at.desc())).first()
    client.login("gridder1")
    page = client.get(f"/duty/shifts/{running.id}").get_data(as_text=True)
    assert 'id="cancel-shift"' not in page and "can no longer be cancelled" in page
    for shift, message in ((running, "already started"), (ended, "is over")):
        resp = client.post(f"/duty/shifts/{shift.id}/cancel", {"cancel_reason": "取消"}, follow_redirects=True)
        assert resp.status_code == 200 and message in resp.get_data(as_text=True), message
        assert _fresh(shift.id).status == "open"
    assert _cancel_events() == 0


def test_only_staff_whose_scope_covers_the_checkpoint_cancel(world, make_client):
    cp = _checkpoint(world)
    shift = _future_shift(cp)
    services.sign_up(shift, world.vol1)
    db.session.commit()
    for username in ("gridder3", "secretary2", "vol1", "unit1", "head1"):
        c = make_client()
        c.login(username)
        resp = c.post(f"/duty/shifts/{shift.id}/cancel", {"cancel_reason": "越权取消"})
        assert resp.status_code in (403, 404), (username, resp.status_code)
    anonymous = make_client()
    resp = anonymous.post(f"/duty/shifts/{shift.id}/cancel", {"cancel_reason": "x"})
    assert resp.status_code in (302, 401, 403)
    after = _fresh(shift.id)
    assert (after.status, after.filled) == ("open", 1)
    assert _cancel_events() == 0 and db.session.scalar(select(Notification.id)) is None
    # The community's secretary may.
    sec = make_client()
    sec.login("secretary1")
    assert sec.post(f"/duty/shifts/{shift.id}/cancel", {"cancel_reason": "社区统一安排"}).status_code == 303
    assert _fresh(shift.id).status == "cancelled"


def test_a_cancelled_shift_shows_as_cancelled_and_refuses_sign_ups(world, make_client):
    cp = _checkpoint(world, max_people=3)
    shift = _future_shift(cp)
    signup = services.sign_up(shift, world.vol1)
    services.cancel_shift(world.sec1, _fresh(shift.id), "节日停岗")
    db.session.commit()
    vol = make_client()
    vol.login("vol1")
    day = shift.day.isoformat()
    html = vol.get(f"/duty/?day={day}&checkpoint={cp.id}").get_data(as_text=True)
    row = html[html.index(f'id="shift-{shift.id}"'):]
    row = row[:row.index("</li>")]
    assert 'data-status="cancelled"' in row and "Cancelled" in row
    assert "signup-button" not in row and "withdraw-button" not in row
    assert f'id="shift-{shift.id}"' not in vol.get(f"/duty/?day={day}&checkpoint={cp.id}&needs=1").get_data(
        as_text=True)
    # Sign-up refused, htmx or not; nothing changes.
    resp = vol.htmx_post(f"/duty/shifts/{shift.id}/signup")
    assert resp.status_code == 409 and 'data-status="cancelled"' in resp.get_data(as_text=True)
    assert "cancelled" in resp.headers["HX-Trigger"] and '"level": "error"' in resp.headers["HX-Trigger"]
    vol2, = make_volunteers(world.c1, 1)
    other = make_client()
    other.login("v0")
    resp = other.post(f"/duty/shifts/{shift.id}/signup", follow_redirects=True)
    assert "cancelled" in resp.get_data(as_text=True)
    resp = vol.post(f"/duty/shifts/{shift.id}/withdraw", follow_redirects=True)
    assert resp.status_code == 200
    after = _fresh(shift.id)
    assert (after.status, after.filled) == ("cancelled", 0)
    assert db.session.get(Signup, signup.id).status == "cancelled"
    # My shifts: shown as cancelled with the reason, no buttons.
    mine = vol.get("/duty/mine").get_data(as_text=True)
    row = mine[mine.index(f'id="signup-{signup.id}"'):]
    row = row[:row.index("</li>")]
    assert 'data-status="cancelled"' in row and "节日停岗" in row and "<button" not in row
    # Staff: grey on the week grid and the day view, and the staff assign form is gone.
    sec = make_client()
    sec.login("secretary1")
    grid = sec.get("/duty/roster").get_data(as_text=True)
    assert f'class="cov cov-cancelled" href="/duty/shifts/{shift.id}"' in grid
    dayview = sec.get(f"/duty/roster?day={day}").get_data(as_text=True)
    row = dayview[dayview.index(f'id="roster-shift-{shift.id}"'):]
    assert 'data-coverage="cancelled"' in row[:100] and "Cancelled" in row[:row.index("</tr>")]
    resp = sec.post(f"/duty/shifts/{shift.id}/assign", {"user_id": vol2.id})
    assert resp.status_code == 409 and "cancelled" in resp.get_data(as_text=True)
    assert _fresh(shift.id).filled == 0
