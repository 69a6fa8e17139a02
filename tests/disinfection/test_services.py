"""Windows, slot generation across midnight and time zones, and the one-tap tick's rules."""
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from gridapp.core.rules import RuleError
from gridapp.disinfection import services
from gridapp.disinfection.models import DisinfectionPoint, DisinfectionRound, DisinfectionSlot
from gridapp.extensions import db
from gridapp.timeutil import town_today
from tests.disinfection.factories import at, make_point, make_points

DAY = date(2026, 3, 2)
T0 = at(DAY, "00:00")  # when the points were set up


def _slots(point_id, day=DAY):
    return db.session.scalars(select(DisinfectionSlot).where(DisinfectionSlot.point_id == point_id,
                                                             DisinfectionSlot.day == day)
                              .order_by(DisinfectionSlot.starts_at)).all()


def _rounds(point_id):
    return db.session.scalar(select(func.count()).select_from(DisinfectionRound)
                             .where(DisinfectionRound.point_id == point_id))


# --- windows and slots -------------------------------------------------------------------------

def test_parse_windows_sorts_and_refuses_nonsense(app):
    assert [w[0] for w in services.parse_windows("17:00-21:00, 06:00-10:00")] == ["06:00-10:00", "17:00-21:00"]
    assert services.parse_windows("22:00-02:00")[0][0] == "22:00-02:00"
    for bad in ("6-10", "06:00-06:00", "25:00-26:00", "06:00-10:00,06:00-10:00", "24:00-02:00"):
        with pytest.raises(RuleError):
            services.parse_windows(bad)


def test_default_windows_are_stored_in_utc_for_the_shanghai_day(world):
    p = make_point(world.k1, now=T0)
    services.ensure_slots([DAY], [p.id])
    slots = _slots(p.id)
    assert [s.window for s in slots] == ["06:00-10:00", "11:00-15:00", "17:00-21:00"]
    # 06:00 in Shanghai is 22:00 UTC of the day before.
    assert slots[0].starts_at == datetime(2026, 3, 1, 22, 0, tzinfo=UTC)
    assert slots[0].ends_at == datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    assert slots[2].ends_at == datetime(2026, 3, 2, 13, 0, tzinfo=UTC)


def test_a_window_across_midnight_belongs_to_the_day_it_starts(world):
    p = make_point(world.k1, windows="22:00-02:00,00:00-24:00", now=T0)
    services.ensure_slots([DAY], [p.id])
    night = next(s for s in _slots(p.id) if s.window == "22:00-02:00")
    assert night.day == DAY
    assert night.starts_at == at(DAY, "22:00")
    assert night.ends_at == at(DAY + timedelta(days=1), "02:00")
    whole = next(s for s in _slots(p.id) if s.window == "00:00-24:00")
    assert whole.ends_at - whole.starts_at == timedelta(hours=24)


def test_slots_follow_the_configured_zone_across_a_dst_change(app, world):
    app.config["TIMEZONE"] = "Europe/Berlin"
    p = make_point(world.k1, windows="01:00-04:00", now=at(date(2026, 3, 28), "00:00"))
    dst_day = date(2026, 3, 29)  # clocks go from 02:00 to 03:00
    services.ensure_slots([dst_day], [p.id])
    slot = _slots(p.id, dst_day)[0]
    assert slot.starts_at == datetime(2026, 3, 29, 0, 0, tzinfo=UTC)  # 01:00 CET
    assert slot.ends_at == datetime(2026, 3, 29, 2, 0, tzinfo=UTC)  # 04:00 CEST: two real hours


def test_generation_is_idempotent(world):
    points = make_points(world.k1, count=4, now=T0)
    ids = [p.id for p in points]
    later = [DAY + timedelta(days=2), DAY + timedelta(days=3)]
    first = services.ensure_slots(later, ids)
    again = services.ensure_slots(later, ids)
    db.session.commit()
    assert first == 4 * 3 * 2
    assert again == 0
    assert db.session.scalar(select(func.count()).select_from(DisinfectionSlot)
                             .where(DisinfectionSlot.day.in_(later))) == 24


def test_no_slot_is_required_before_the_point_existed(world):
    p = make_point(world.k1, now=at(DAY, "12:00"))
    services.ensure_slots([DAY - timedelta(days=1), DAY], [p.id])
    assert [s.window for s in _slots(p.id)] == ["11:00-15:00", "17:00-21:00"]
    assert _slots(p.id, DAY - timedelta(days=1)) == []


def test_inactive_points_get_no_slots(world):
    p = make_point(world.k1, active=False, now=T0)
    assert services.ensure_slots([DAY], [p.id]) == 0


def test_high_risk_raises_the_rounds_of_every_point_and_low_lowers_them(world):
    elevator, garbage = make_point(world.k1, now=T0), make_point(world.k1, kind="garbage_point", task="garbage",
                                                                   now=T0)
    services.set_risk(world.admin, world.k1, "high", now=T0)
    db.session.commit()
    services.ensure_slots([DAY])
    assert len(_slots(elevator.id)) == 5
    assert len(_slots(garbage.id)) == 4
    services.set_risk(world.admin, world.k1, "low", now=T0)
    services.ensure_slots([DAY + timedelta(days=1)])
    assert len(_slots(elevator.id, DAY + timedelta(days=1))) == 2


def test_bulk_creation_numbers_the_points(world):
    points = make_points(world.k1, count=6, name="电梯", now=T0)
    assert [p.name for p in points] == [f"电梯 {i}" for i in range(1, 7)]
    assert {p.community_id for p in points} == {world.c1.id}
    with pytest.raises(RuleError):
        make_points(world.k1, count=51)


def test_changing_windows_remakes_the_slots_not_yet_begun(world):
    now = at(DAY, "12:00")
    p = make_point(world.k1, now=now - timedelta(days=1))
    services.ensure_slots([DAY], [p.id])
    services.update_point(world.admin, p, {"name": p.name, "windows": "06:00-10:00,18:00-19:00", "active": True},
                          now=now)
    db.session.commit()
    # Past and running windows stay as they were; the future follows the new windows.
    assert [s.window for s in _slots(p.id)] == ["06:00-10:00", "11:00-15:00", "18:00-19:00"]


# --- ticking -------------------------------------------------------------------------------------

def test_a_tick_in_the_window_marks_its_slot_done_at_server_time(world):
    p = make_point(world.k1, now=T0)
    now = at(DAY, "07:13")
    result = services.tick(p, world.pm1, disinfectant="84消毒液", token="t1", now=now)
    db.session.commit()
    assert result.outcome == "on_time"
    slot = _slots(p.id)[0]
    assert (slot.status, slot.done_at, slot.done_by_id, slot.late) == ("done", now, world.pm1.id, False)
    assert db.session.get(DisinfectionPoint, p.id).last_disinfectant == "84消毒液"


def test_a_tick_within_the_grace_counts_late_and_after_it_is_an_extra_round(world):
    p = make_point(world.k1, now=T0)
    late = services.tick(p, world.pm1, token="a", now=at(DAY, "10:20"))
    assert late.outcome == "late" and late.slot.window == "06:00-10:00" and late.slot.late
    extra = services.tick(p, world.pm1, token="b", now=at(DAY, "10:40"))
    db.session.commit()
    assert extra.outcome == "extra" and extra.slot is None
    assert [s.status for s in _slots(p.id)] == ["done", "pending", "pending"]
    assert _rounds(p.id) == 2


def test_the_open_window_comes_first_then_the_one_in_its_grace(world):
    p = make_point(world.k1, windows="06:00-10:00,10:10-12:00", now=T0)
    first = services.tick(p, world.pm1, token="x", now=at(DAY, "10:15"))
    # Both the closed window (in its grace) and the open one are pending: one tap ticks the current one.
    assert first.slot.window == "10:10-12:00" and first.outcome == "on_time"
    second = services.tick(p, world.pm1, token="y", now=at(DAY, "10:16"))
    assert second.slot.window == "06:00-10:00" and second.outcome == "late"


def test_the_same_tap_twice_is_one_round_and_another_tick_says_who_did_it(world):
    p = make_point(world.k1, now=T0)
    now = at(DAY, "08:00")
    assert services.tick(p, world.pm1, token="same", now=now).outcome == "on_time"
    assert services.tick(p, world.pm1, token="same", now=now + timedelta(seconds=2)).outcome == "duplicate"
    other = services.tick(p, world.pm1, token="other", now=now + timedelta(minutes=5))
    db.session.commit()
    assert other.outcome == "taken" and other.slot.done_at == now
    assert _rounds(p.id) == 1


def test_an_inactive_point_is_refused_and_nothing_changes(world):
    p = make_point(world.k1, now=T0)
    services.ensure_slots([DAY], [p.id])
    p.active = False
    db.session.commit()
    with pytest.raises(RuleError):
        services.tick(p, world.pm1, token="z", now=at(DAY, "07:00"))
    db.session.rollback()
    assert _rounds(p.id) == 0
    assert {s.status for s in _slots(p.id)} == {"pending"}


@pytest.mark.parametrize("same_token", [False, True])
def test_concurrent_ticks_for_one_slot_record_one_round(app, world, same_token):
    """Eight phones tap at once (a bad connection resending, or two staff): one round."""
    p = make_point(world.k1, windows="00:00-24:00")
    point_id, user_id = p.id, world.pm1.id
    db.session.commit()
    barrier = threading.Barrier(8)
    outcomes, errors = [], []

    def tap(i):
        with app.app_context():
            try:
                from gridapp.auth.models import User

                point = db.session.get(DisinfectionPoint, point_id)
                user = db.session.get(User, user_id)
                db.session.commit()
                barrier.wait()
                result = services.tick(point, user, token="one" if same_token else f"t{i}")
                db.session.commit()
                outcomes.append(result.outcome)
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=tap, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert outcomes.count("on_time") == 1
    assert set(outcomes) - {"on_time"} <= {"duplicate", "taken"}
    assert len(outcomes) == 8
    db.session.expire_all()
    assert _rounds(point_id) == 1
    today = town_today()
    assert [s.status for s in _slots(point_id, today)] == ["done"]
