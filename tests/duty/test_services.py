"""The duty rules: patterns across midnight, idempotent generation, sign-ups that never over-book
(40 threads at once), every refusal, withdrawal cut-off, removal, check-in/out, pattern changes."""
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from gridapp.auth.models import User
from gridapp.core.rules import RuleError
from gridapp.duty import services
from gridapp.duty.models import Shift, Signup
from gridapp.extensions import db
from gridapp.notifications.models import Notification
from tests.duty.factories import DAY, T0, at, make_checkpoint, make_volunteers, shift_of


def _signups(shift_id, status=("signed_up",)):
    db.session.expire_all()
    return db.session.scalars(select(Signup).where(Signup.shift_id == shift_id, Signup.status.in_(status))).all()


def test_the_midnight_shift_belongs_to_the_day_it_starts(app):
    (a_label, a, a_end), (b_label, b, b_end), (c_label, c, c_end) = services.parse_pattern(
        "16:00-24:00, 08:00-16:00，00:00-08:00")
    assert [a_label, b_label, c_label] == ["00:00-08:00", "08:00-16:00", "16:00-24:00"]
    starts, ends = services.shift_bounds(DAY, a, a_end)
    assert starts == datetime(2026, 3, 1, 16, 0, tzinfo=UTC)  # 00:00 Shanghai on DAY
    assert ends == datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
    starts, ends = services.shift_bounds(DAY, c, c_end)
    assert ends == datetime(2026, 3, 2, 16, 0, tzinfo=UTC)  # 24:00 is the next day's midnight
    night = services.parse_pattern("22:00-06:00,06:00-14:00,14:00-22:00")
    starts, ends = services.shift_bounds(DAY, night[2][1], night[2][2])
    assert ends - starts == timedelta(hours=8) and starts == at(DAY, "22:00")


def test_no_shift_lasts_as_long_as_the_bound_of_the_shifts_going_on():
    """going_on() looks for the shifts of now among those that started less than LONGEST_SHIFT ago:
    every shift a pattern can make, on any day, in a zone whose clocks go back, is shorter."""
    from datetime import date, time
    from zoneinfo import ZoneInfo

    longest = timedelta(0)
    for zone in ("Asia/Shanghai", "America/New_York", "Europe/London"):
        for day in (date(2026, 11, 1), date(2026, 10, 25), date(2026, 3, 8), date(2026, 3, 29), DAY):
            for start_minute in range(0, 24 * 60, 30):
                start = time(start_minute // 60, start_minute % 60)
                end = time((start_minute - 1) // 60 % 24, (start_minute - 1) % 60)  # a minute short of a day
                (_label, s, e), = services.parse_pattern(f"{start:%H:%M}-{end:%H:%M}")
                starts, ends = services.shift_bounds(day, s, e, ZoneInfo(zone))
                longest = max(longest, ends - starts)
    assert timedelta(hours=24) < longest < services.LONGEST_SHIFT  # a clock going back makes one longer


def test_the_shifts_going_on_include_one_in_its_last_minute(world):
    cp = make_checkpoint(world.c1, world.k1, pattern="08:00-07:59")
    shift = db.session.scalars(select(Shift).where(Shift.checkpoint_id == cp.id).order_by(Shift.starts_at)).first()
    going = lambda now: db.session.scalars(  # noqa: E731
        select(Shift.id).where(Shift.checkpoint_id == cp.id, services.going_on(now))).all()
    assert going(shift.starts_at) == [shift.id]
    assert going(shift.ends_at - timedelta(seconds=1)) == [shift.id]
    assert shift.id not in going(shift.ends_at)
    assert going(shift.starts_at - timedelta(seconds=1)) != [shift.id]


def test_a_shift_short_of_people_in_its_last_minute_is_still_a_gap(world):
    """gaps() and gap_alerts() bound their search by LONGEST_SHIFT too (ending_after): the longest
    shift a pattern makes, in its last minute, is still found, and not once it has ended."""
    cp = make_checkpoint(world.c1, world.k1, pattern="08:00-07:59", min_people=1)
    shift = db.session.scalars(select(Shift).where(Shift.checkpoint_id == cp.id).order_by(Shift.starts_at)).first()
    last_minute = shift.ends_at - timedelta(seconds=1)
    assert shift.id in [g.id for g in services.gaps(world.gm1, now=last_minute)]
    assert shift.id not in [g.id for g in services.gaps(world.gm1, now=shift.ends_at)]
    assert services.gap_alerts(now=last_minute) >= 1
    db.session.expire_all()
    assert db.session.get(Shift, shift.id).gap_alerted is True


@pytest.mark.parametrize("bad", ["8-16", "08:00-08:00", "08:00-16:00,08:00-16:00", "08:00-17:00,16:00-24:00", ""])
def test_bad_patterns_are_refused_with_a_message(app, bad):
    with pytest.raises(RuleError) as exc:
        services.parse_pattern(bad)
    assert str(exc.value)


def test_fourteen_days_of_shifts_generated_once(world):
    cp = make_checkpoint(world.c1, world.k1)
    count = lambda: db.session.scalar(select(func.count(Shift.id)).where(Shift.checkpoint_id == cp.id))  # noqa: E731
    assert count() == 14 * 3
    assert services.generate_shifts(T0) == 0
    assert services.generate_shifts(T0 + timedelta(days=1)) == 3  # one more day comes into view
    assert count() == 15 * 3
    first = shift_of(cp, DAY, "00:00-08:00")
    assert first.starts_at == at(DAY, "00:00") and first.day == DAY


def test_sign_up_counts_and_a_double_sign_up_is_refused(world):
    cp = make_checkpoint(world.c1, world.k1, max_people=2)
    shift = shift_of(cp)
    services.sign_up(shift, world.vol1, now=T0)
    db.session.commit()
    assert shift_of(cp).filled == 1
    with pytest.raises(RuleError, match="Already signed up"):
        services.sign_up(shift_of(cp), world.vol1, now=T0)
    db.session.rollback()
    assert shift_of(cp).filled == 1 and len(_signups(shift.id)) == 1


def test_full_past_cancelled_and_out_of_community_shifts_are_refused(world):
    cp = make_checkpoint(world.c1, world.k1, max_people=1)
    other = make_checkpoint(world.c2, world.k3, name="家属楼南门")
    vol2, = make_volunteers(world.c1, 1)
    services.sign_up(shift_of(cp), vol2, now=T0)
    db.session.commit()
    cases = [
        (shift_of(cp), T0, "full"),
        (shift_of(cp, label="00:00-08:00"), T0, "already started"),
        (shift_of(other), T0, "东城社区"),
    ]
    for shift, now, message in cases:
        with pytest.raises(RuleError, match=message):
            services.sign_up(shift, world.vol1, now=now)
        db.session.rollback()
    cancelled = shift_of(cp, label="16:00-24:00")
    assert services.cancel_shift(None, cancelled, "雨天", now=T0) == 0
    db.session.commit()
    with pytest.raises(RuleError, match="cancelled"):
        services.sign_up(shift_of(cp, label="16:00-24:00"), world.vol1, now=T0)
    db.session.rollback()
    assert db.session.scalar(select(func.count(Signup.id)).where(Signup.user_id == world.vol1.id)) == 0
    assert shift_of(cp).filled == 1 and shift_of(cp, label="16:00-24:00").filled == 0


def test_overlapping_shifts_are_refused_naming_the_clash(world):
    east = make_checkpoint(world.c1, world.k1, name="东门检查点")
    post = make_checkpoint(world.c1, None, name="党员先锋岗", pattern="12:00-20:00,20:00-12:00", kind="vanguard")
    services.sign_up(shift_of(east), world.vol1, now=T0)  # 08:00-16:00
    db.session.commit()
    with pytest.raises(RuleError) as exc:
        services.sign_up(shift_of(post, label="12:00-20:00"), world.vol1, now=T0)
    assert "东门检查点 2026-03-02 08:00-16:00" in str(exc.value)
    db.session.rollback()
    # Back to back is not an overlap.
    services.sign_up(shift_of(east, label="16:00-24:00"), world.vol1, now=T0)
    db.session.commit()
    assert shift_of(post, label="12:00-20:00").filled == 0


def test_forty_threads_on_a_shift_of_five_leave_exactly_five(app, world):
    cp = make_checkpoint(world.c1, world.k1, max_people=5)
    shift_id = shift_of(cp).id
    volunteers = [u.id for u in make_volunteers(world.c1, 40)]
    db.session.commit()
    barrier = threading.Barrier(40)
    won, refused, errors = [], [], []

    def attempt(user_id):
        with app.app_context():
            try:
                shift = services.load_shift(shift_id)
                user = db.session.get(User, user_id)
                _roles = list(user.roles)
                # End the read transaction: on SQLite it holds the write lock (BEGIN IMMEDIATE).
                db.session.commit()
                barrier.wait(30)
                try:
                    services.sign_up(shift, user, now=T0)
                    db.session.commit()
                    won.append(user_id)
                except RuleError as exc:
                    db.session.rollback()
                    refused.append(str(exc))
            except Exception as exc:  # noqa: BLE001  (reported by the assertion below)
                errors.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt, args=(uid,)) for uid in volunteers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors[:3]
    assert len(won) == 5 and len(refused) == 35
    assert all("full" in m for m in refused)
    assert shift_of(cp).filled == 5
    assert sorted(s.user_id for s in _signups(shift_id)) == sorted(won)


def test_withdraw_until_the_cut_off_then_only_staff_remove_with_a_reason(world):
    cp = make_checkpoint(world.c1, world.k1)
    tomorrow = DAY + timedelta(days=1)
    services.sign_up(shift_of(cp, tomorrow), world.vol1, now=T0)
    services.sign_up(shift_of(cp), world.vol1, now=T0)
    db.session.commit()
    early = _signups(shift_of(cp, tomorrow).id)[0]
    services.withdraw(early, world.vol1, now=T0)  # 26 h before: fine
    db.session.commit()
    assert shift_of(cp, tomorrow).filled == 0 and _signups(early.shift_id, ("withdrawn",))
    # Signing up again after a withdrawal reuses the row.
    again = services.sign_up(shift_of(cp, tomorrow), world.vol1, now=T0)
    db.session.commit()
    assert again.id == early.id and shift_of(cp, tomorrow).filled == 1

    late = _signups(shift_of(cp).id)[0]  # today 08:00, 2 h away: past the 12 h cut-off
    with pytest.raises(RuleError, match="12 h"):
        services.withdraw(late, world.vol1, now=T0)
    db.session.rollback()
    assert shift_of(cp).filled == 1
    with pytest.raises(RuleError, match="reason"):
        services.remove(late, world.gm1, "", now=T0)
    db.session.rollback()
    services.remove(late, world.gm1, "生病", now=T0)
    db.session.commit()
    assert shift_of(cp).filled == 0
    kinds = {(n.user_id, n.kind) for n in db.session.scalars(select(Notification))}
    assert (world.vol1.id, "duty_removed") in kinds
    assert (world.gm1.id, "duty_late_withdrawal") in kinds  # the grid member hears of the late change
    # A second removal loses and says who won.
    with pytest.raises(RuleError, match="Gridder1"):
        services.remove(db.session.get(Signup, late.id), world.sec1, "重复", now=T0)


def test_check_in_window_check_out_and_no_show(world):
    cp = make_checkpoint(world.c1, world.k1)
    vol2, = make_volunteers(world.c1, 1)
    a = services.sign_up(shift_of(cp), world.vol1, now=T0)
    b = services.sign_up(shift_of(cp), vol2, now=T0)
    db.session.commit()
    with pytest.raises(RuleError, match="30 minutes"):
        services.check_in(a, world.vol1, now=at(DAY, "07:00"))
    db.session.rollback()
    with pytest.raises(RuleError, match="Check in first"):
        services.check_out(a, world.vol1, now=at(DAY, "07:00"))
    db.session.rollback()
    services.check_in(a, world.vol1, now=at(DAY, "07:45"))
    services.check_out(a, world.vol1, now=at(DAY, "16:02"))
    db.session.commit()
    with pytest.raises(RuleError, match="not over yet"):
        services.mark_no_show(b, world.gm1, now=at(DAY, "15:00"))
    db.session.rollback()
    services.mark_no_show(b, world.gm1, now=at(DAY, "16:05"))
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Signup, a.id).status == "checked_out"
    assert db.session.get(Signup, b.id).status == "no_show"
    assert services.hours_served(world.vol1.id, at(DAY, "17:00")) == 8.0
    assert services.hours_served(vol2.id, at(DAY, "17:00")) == 0


def test_a_pattern_change_remakes_empty_future_shifts_and_keeps_booked_ones_flagged(world):
    cp = make_checkpoint(world.c1, world.k1)
    tomorrow = DAY + timedelta(days=1)
    services.sign_up(shift_of(cp, tomorrow, "16:00-24:00"), world.vol1, now=T0)
    db.session.commit()
    result = services.update_checkpoint(world.sec1, cp, {"pattern": "06:00-18:00,18:00-06:00", "max_people": 4},
                                        now=T0)
    db.session.commit()
    assert result["dropped"] > 0
    db.session.expire_all()
    shifts = db.session.scalars(select(Shift).where(Shift.checkpoint_id == cp.id, Shift.day == tomorrow)
                                .order_by(Shift.starts_at)).all()
    labels = {(s.label, s.off_pattern, s.filled) for s in shifts}
    assert labels == {("06:00-18:00", False, 0), ("16:00-24:00", True, 1), ("18:00-06:00", False, 0)}
    assert all(s.capacity == 4 for s in shifts)
    # Shifts already started are history and stay as they were.
    assert shift_of(cp, DAY, "00:00-08:00").off_pattern is False
