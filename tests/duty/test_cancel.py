"""Cancelling a shift: staff call off a shift that has not started, with a reason; its people's
sign-ups end as cancelled, each of them is told once, the act is audited; every refusal changes
nothing; a cancelled shift takes nobody, frees its people for other shifts and drops out of the
jobs; and a cancel racing sign-ups and withdrawals leaves the counter equal to the people on it."""
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from gridapp.audit.models import AuditEvent
from gridapp.auth.models import User
from gridapp.core.rules import RuleError
from gridapp.duty import services
from gridapp.duty.models import ACTIVE_SIGNUP, Shift, Signup
from gridapp.extensions import db
from gridapp.notifications.models import Notification
from tests.duty.factories import DAY, T0, at, make_checkpoint, make_volunteers, shift_of

TOMORROW = DAY + timedelta(days=1)


def _notices(kind="duty_removed"):
    db.session.expire_all()
    return db.session.scalars(select(Notification).where(Notification.kind == kind)
                              .order_by(Notification.user_id)).all()


def test_cancelling_ends_the_sign_ups_tells_each_person_once_and_is_audited(world):
    cp = make_checkpoint(world.c1, world.k1, max_people=3)
    vol2, = make_volunteers(world.c1, 1)
    shift = shift_of(cp, TOMORROW)
    services.sign_up(shift, world.vol1, now=T0)
    services.sign_up(shift_of(cp, TOMORROW), vol2, now=T0)
    db.session.commit()

    assert services.cancel_shift(world.gm1, shift_of(cp, TOMORROW), "  道路封闭，本班取消  ", now=T0) == 2
    db.session.commit()
    cancelled = shift_of(cp, TOMORROW)
    assert cancelled.status == "cancelled" and cancelled.filled == 0
    signups = db.session.scalars(select(Signup).where(Signup.shift_id == shift.id)).all()
    assert {s.status for s in signups} == {"cancelled"}
    assert {s.reason for s in signups} == {"道路封闭，本班取消"}
    assert {s.ended_by_id for s in signups} == {world.gm1.id}
    notes = _notices()
    assert sorted(n.user_id for n in notes) == sorted([world.vol1.id, vol2.id])
    assert {n.dedupe_key for n in notes} == {f"shift-cancelled:{shift.id}"}
    assert all("道路封闭" in n.body and "cancelled" in n.title for n in notes)
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "duty_shift_cancelled")).one()
    assert (event.object_id, event.actor_id, event.summary) == (shift.id, world.gm1.id, "道路封闭，本班取消")
    info = services.cancellation(cancelled)
    assert info["by"] == world.gm1.display_name and info["reason"] == "道路封闭，本班取消"
    # Nobody else is told (the grid member cancelled it, the secretary is not a recipient).
    assert db.session.scalar(select(func.count(Notification.id))) == 2


def test_each_refusal_says_why_and_changes_nothing(world):
    cp = make_checkpoint(world.c1, world.k1)
    shift = shift_of(cp, DAY, "08:00-16:00")
    services.sign_up(shift, world.vol1, now=T0)
    db.session.commit()
    cases = [
        ("", T0, "reason"),
        ("   ", T0, "reason"),
        ("下雨", at(DAY, "08:00"), "already started"),  # the very minute it starts
        ("下雨", at(DAY, "12:00"), "already started"),
        ("下雨", at(DAY, "16:00"), "is over"),
        ("下雨", at(DAY, "20:00"), "is over"),
    ]
    for reason, now, message in cases:
        with pytest.raises(RuleError, match=message):
            services.cancel_shift(world.gm1, shift_of(cp, DAY, "08:00-16:00"), reason, now=now)
        db.session.rollback()
        after = shift_of(cp, DAY, "08:00-16:00")
        assert (after.status, after.filled) == ("open", 1), (reason, now)
    assert db.session.scalars(select(Signup)).one().status == "signed_up"
    assert _notices() == [] and db.session.scalar(select(AuditEvent.id).where(
        AuditEvent.action == "duty_shift_cancelled")) is None
    # Cancelled once; a second cancel is refused and tells nobody again.
    evening = shift_of(cp, DAY, "16:00-24:00")
    services.sign_up(evening, world.vol1, now=T0)
    services.cancel_shift(world.sec1, shift_of(cp, DAY, "16:00-24:00"), "取消", now=T0)
    db.session.commit()
    with pytest.raises(RuleError, match="already been cancelled"):
        services.cancel_shift(world.gm1, shift_of(cp, DAY, "16:00-24:00"), "再取消", now=T0)
    db.session.rollback()
    assert len(_notices()) == 1
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "duty_shift_cancelled")) == 1


def test_a_cancelled_shift_takes_nobody_frees_its_people_and_leaves_the_jobs(world):
    east = make_checkpoint(world.c1, world.k1, name="东门检查点", min_people=2)
    west = make_checkpoint(world.c1, world.k1, name="西门检查点")
    signup = services.sign_up(shift_of(east), world.vol1, now=T0)  # today 08:00-16:00
    db.session.commit()
    services.cancel_shift(world.gm1, shift_of(east), "活动取消", now=T0)
    db.session.commit()
    # Refused for anyone, with the reason.
    vol2, = make_volunteers(world.c1, 1)
    with pytest.raises(RuleError, match="cancelled"):
        services.sign_up(shift_of(east), vol2, now=T0)
    db.session.rollback()
    with pytest.raises(RuleError, match="cancelled"):
        services.sign_up(shift_of(east), world.vol1, actor=world.gm1, now=T0)
    db.session.rollback()
    # The person's own sign-up cannot be withdrawn or checked in any more.
    with pytest.raises(RuleError, match="cancelled"):
        services.withdraw(db.session.get(Signup, signup.id), world.vol1, now=T0 - timedelta(days=1))
    db.session.rollback()
    with pytest.raises(RuleError):
        services.check_in(db.session.get(Signup, signup.id), world.vol1, now=at(DAY, "08:00"))
    db.session.rollback()
    # No longer a clash: the same hours at another checkpoint are free.
    services.sign_up(shift_of(west), world.vol1, now=T0)
    db.session.commit()
    # No reminder, no gap alert and no no-show for it.
    from jobs.duty import sweep_duty

    sweep_duty(at=at(DAY, "06:30").isoformat())
    sweep_duty(at=at(DAY, "16:30").isoformat())
    gap_lines = [line for n in _notices("duty_gap") for line in n.body.splitlines()]
    assert any("东门" in line for line in gap_lines)  # the other shifts of 东门 are short
    assert [line for line in gap_lines if "东门" in line and "08:00-16:00" in line and "2026-03-02" in line] == []
    assert [n for n in _notices("duty_no_show") if f"{DAY.isoformat()} 08:00-16:00" in n.title
            and "东门" in n.title] == []
    reminders = _notices("duty_reminder")
    assert [n.title for n in reminders if "东门" in n.title] == [] and any("西门" in n.title for n in reminders)
    # My shifts shows it as cancelled (with the reason) until it would have ended; hours stay 0.
    mine = services.my_shifts(world.vol1, now=T0)
    assert {(s.shift.checkpoint.name, s.status) for s in mine.upcoming} == {
        ("东门检查点", "cancelled"), ("西门检查点", "signed_up")}
    assert services.hours_served(world.vol1.id, at(DAY, "17:00")) == 0
    # The volunteers' list shows it as cancelled; "needs people" leaves it out.
    listed = services.volunteer_shifts(world.vol1, day=DAY, checkpoint_id=east.id, needs_people=False, now=T0)
    assert "cancelled" in {s.status for s in listed}
    needing = services.volunteer_shifts(world.vol1, day=DAY, checkpoint_id=east.id, needs_people=True, now=T0)
    assert "cancelled" not in {s.status for s in needing}
    assert services.gaps(world.sec1, now=T0) and all(g.status == "open" for g in services.gaps(world.sec1, now=T0))


def test_a_cancel_racing_sign_ups_and_withdrawals_leaves_the_count_right(app, world):
    """Eight sign-ups, four withdrawals and one cancel at once (on PostgreSQL: real row locks, and
    no deadlock, since every writer locks the shift before its sign-ups)."""
    cp = make_checkpoint(world.c1, world.k1, max_people=12)
    shift_id = shift_of(cp, TOMORROW).id
    early = make_volunteers(world.c1, 4, prefix="early")
    for u in early:
        services.sign_up(shift_of(cp, TOMORROW), u, now=T0)
    db.session.commit()
    joiners = [u.id for u in make_volunteers(world.c1, 8, prefix="late")]
    leavers = [u.id for u in early]
    staff_id = world.gm1.id
    db.session.commit()
    barrier = threading.Barrier(len(joiners) + len(leavers) + 1)
    errors, outcomes = [], []

    def run(kind, user_id=None):
        with app.app_context():
            try:
                shift = services.load_shift(shift_id)
                user = db.session.get(User, user_id or staff_id)
                _roles = list(user.roles)
                mine = db.session.scalars(select(Signup).where(Signup.shift_id == shift_id,
                                                               Signup.user_id == user.id)).first()
                if mine is not None:
                    _loaded = mine.shift
                db.session.commit()
                barrier.wait(30)
                try:
                    if kind == "join":
                        services.sign_up(shift, user, now=T0)
                    elif kind == "leave":
                        services.withdraw(mine, user, now=T0)
                    else:
                        services.cancel_shift(user, shift, "临时取消", now=T0)
                    db.session.commit()
                    outcomes.append((kind, "ok"))
                except RuleError as exc:
                    db.session.rollback()
                    outcomes.append((kind, str(exc)))
            except Exception as exc:  # noqa: BLE001  (reported by the assertion below)
                errors.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=("join", u)) for u in joiners]
    threads += [threading.Thread(target=run, args=("leave", u)) for u in leavers]
    threads.append(threading.Thread(target=run, args=("cancel",)))
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors[:3]
    assert ("cancel", "ok") in outcomes
    assert all(msg == "ok" or "cancelled" in msg for _kind, msg in outcomes), outcomes
    db.session.expire_all()
    shift = db.session.get(Shift, shift_id)
    active = db.session.scalar(select(func.count(Signup.id)).where(Signup.shift_id == shift_id,
                                                                   Signup.status.in_(ACTIVE_SIGNUP)))
    assert shift.status == "cancelled" and shift.filled == 0 and active == 0
    # Everyone whose sign-up the cancel ended was told, once.
    ended = db.session.scalars(select(Signup.user_id).where(Signup.shift_id == shift_id,
                                                            Signup.status == "cancelled")).all()
    assert sorted(n.user_id for n in _notices()) == sorted(ended)
