"""Home observation's rules: starting, extending, ending with a reason; the day's checks; a check
recorded once; a fever alert once, with a follow-up someone closes; the missed-check ladder and the
automatic end (never on a day without a check) with a frozen clock; two sweeps at once."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from gridapp.audit.models import AuditEvent
from gridapp.core.rules import Conflict, RuleError
from gridapp.extensions import db
from gridapp.notifications.models import Notification, OutboxMessage
from gridapp.observation import services
from gridapp.observation.models import FeverFollowUp, Observation, ObservationCheck
from gridapp.timeutil import pin_clock
from jobs.observation import sweep_observation
from tests.concurrency import at_once
from tests.factories import make_user
from tests.observation.factories import T0, make_person, start

H = timedelta(hours=1)
WELL = {"temperature": Decimal("36.5")}


@pytest.fixture(autouse=True)
def _clock():
    yield
    pin_clock(None)


def _checks(obs):
    db.session.expire_all()
    return db.session.scalars(select(ObservationCheck).where(ObservationCheck.observation_id == obs.id)
                              .order_by(ObservationCheck.due_at)).all()


def _notices(user, prefix):
    db.session.expire_all()
    return db.session.scalars(select(Notification.dedupe_key).where(
        Notification.user_id == user.id, Notification.dedupe_key.startswith(prefix)).order_by(Notification.id)).all()


def _actions(obs):
    return db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "Observation",
                                                              AuditEvent.object_id == obs.id)
                              .order_by(AuditEvent.id)).all()


def test_an_observation_runs_fourteen_days_with_its_staff_and_todays_checks(world):
    obs = start(world)
    assert (obs.starts_on, obs.ends_on, obs.status) == (date(2026, 11, 30), date(2026, 12, 13), "active")
    assert (obs.building_head_id, obs.grid_member_id, obs.compound_id) == (world.head1.id, world.gm1.id, world.k1.id)
    assert [(c.day, c.slot, c.status) for c in _checks(obs)] == [
        (date(2026, 11, 30), "08:00", "pending"), (date(2026, 11, 30), "18:00", "pending")]
    assert _actions(obs) == ["observation_started"]


def test_the_length_is_a_setting_and_may_be_set_per_observation(app, world):
    app.config["OBSERVATION_DAYS"] = 7
    assert start(world).ends_on == date(2026, 12, 6)
    other = make_person(world, name="李二", phone="")
    assert start(world, person=other, days=21).ends_on == date(2026, 12, 20)


def test_a_person_is_observed_once_at_a_time_and_staff_must_hold_the_role(world):
    obs = start(world)
    with pytest.raises(Conflict):
        services.start_observation(obs.person, world.gm1, {}, now=T0)
    db.session.rollback()
    other = make_person(world, name="李二")
    with pytest.raises(RuleError) as exc:
        services.start_observation(other, world.gm1, {"grid_member_id": world.gm3.id}, now=T0)
    assert exc.value.field == "grid_member_id"


def test_started_at_noon_the_morning_check_is_not_owed(world):
    obs = start(world, at=T0 + 6 * H)  # 13:00
    assert [c.slot for c in _checks(obs)] == ["18:00"]
    # Nor does the sweep make it afterwards (to be chased as missed), that day or the next.
    sweep_observation((T0 + 12 * H).isoformat())
    sweep_observation((T0 + 26 * H).isoformat())
    assert [(c.day.isoformat(), c.slot) for c in _checks(obs)] == [
        ("2026-11-30", "18:00"), ("2026-12-01", "08:00"), ("2026-12-01", "18:00")]


def test_extend_end_early_and_lost_need_a_reason_and_are_audited(world):
    obs = start(world)
    with pytest.raises(RuleError):
        services.extend_observation(obs, world.gm1, date(2026, 12, 20), "  ", now=T0)
    with pytest.raises(RuleError):
        services.extend_observation(obs, world.gm1, date(2026, 12, 1), "shorter", now=T0)
    services.extend_observation(obs, world.gm1, date(2026, 12, 20), "同住人确诊", now=T0)
    db.session.commit()
    assert obs.ends_on == date(2026, 12, 20)
    services.close_observation(obs, world.sec1, "lose", "电话停机，上门无人", now=T0)
    db.session.commit()
    assert (obs.status, obs.reason, obs.ended_by_id) == ("lost", "电话停机，上门无人", world.sec1.id)
    with pytest.raises(Conflict):
        services.close_observation(obs, world.sec1, "end_early", "again", now=T0)
    db.session.rollback()
    assert _actions(obs) == ["observation_started", "observation_extended", "observation_lost"]
    other = start(world, person=make_person(world, name="李二"))
    services.close_observation(other, world.gm1, "end_early", "转集中隔离", now=T0)
    assert other.status == "ended_early"


def test_a_check_is_recorded_once_and_checked(world):
    obs = start(world)
    at = T0 + 2 * H
    check = services.current_check(obs, at)
    assert check.slot == "08:00"
    with pytest.raises(RuleError) as exc:
        services.record_check(check, world.head1, {"temperature": Decimal("34.0")}, "in_person", now=at)
    assert exc.value.field == "temperature"
    services.record_check(check, world.head1, WELL, "phone", now=at)
    db.session.commit()
    assert (check.status, check.method, check.temperature, check.done_by_id) == (
        "done", "phone", Decimal("36.5"), world.head1.id)
    with pytest.raises(Conflict):
        services.record_check(check, world.gm1, WELL, "in_person", now=at)
    db.session.rollback()
    assert services.current_check(obs, at).slot == "18:00"  # early for the evening: it goes there


def test_a_fever_alerts_the_grid_member_secretary_and_health_contact_once_urgently(app, world):
    obs = start(world)
    at = T0 + 2 * H
    check = services.current_check(obs, at)
    services.record_check(check, world.head1, {"temperature": Decimal("37.3")}, "in_person", now=at)
    db.session.commit()
    for user in (world.gm1, world.sec1, world.leader):
        assert _notices(user, "observation-fever") == [f"observation-fever:{check.id}"]
    assert _notices(world.head1, "observation-fever") == []
    note = db.session.scalars(select(Notification).where(Notification.user_id == world.gm1.id)).one()
    assert note.urgent and "王小明" in note.body
    (followup,) = db.session.scalars(select(FeverFollowUp)).all()
    assert followup.closed_at is None and followup.check_id == check.id
    # The health contact may be named instead of the town leaders.
    make_user("doctor", ("grid_member", world.g3))
    app.config["OBSERVATION_HEALTH_CONTACTS"] = ("doctor",)
    evening = services.current_check(obs, at)
    services.record_check(evening, world.head1, {"temperature": Decimal("36.6"), "cough": True}, "phone", now=at)
    db.session.commit()
    doctor = db.session.scalars(select(type(world.gm1)).where(type(world.gm1).username == "doctor")).one()
    assert _notices(doctor, "observation-fever") == [f"observation-fever:{evening.id}"]
    assert _notices(world.leader, "observation-fever") == [f"observation-fever:{check.id}"]
    # Called: a step on the way, once; the follow-up stays open until referred or resolved.
    services.mark_called(followup, world.sec1, "已电话联系，称无不适", now=at)
    db.session.commit()
    with pytest.raises(Conflict) as exc:
        services.mark_called(followup, world.gm1, now=at + H)
    db.session.rollback()
    assert "Secretary1" in str(exc.value)
    assert (followup.called_by_id, followup.closed_at, followup.outcome) == (world.sec1.id, None, "")
    with pytest.raises(RuleError):
        services.close_followup(followup, world.gm1, "called", now=at)
    db.session.rollback()
    services.close_followup(followup, world.gm1, "referred", "送发热门诊", now=at)
    db.session.commit()
    with pytest.raises(Conflict):
        services.close_followup(followup, world.sec1, "resolved", now=at)
    db.session.rollback()
    with pytest.raises(Conflict):
        services.mark_called(followup, world.sec1, now=at)
    db.session.rollback()
    assert followup.outcome == "referred" and followup.closed_by_id == world.gm1.id
    assert followup.note == "已电话联系，称无不适\n送发热门诊"
    assert db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "FeverFollowUp")
                              .order_by(AuditEvent.id)).all() == ["observation_followup_called",
                                                                  "observation_followup_closed"]


def test_group_robots_hear_a_count_never_the_person(world):
    from gridapp.notifications.services import add_webhook

    add_webhook(world.sec1, world.c1, "wecom", "社区群", "http://127.0.0.1:9/hook")
    obs = start(world)
    check = services.current_check(obs, T0 + 2 * H)
    services.record_check(check, world.head1, {"temperature": Decimal("38.2")}, "in_person", now=T0 + 2 * H)
    db.session.commit()
    (row,) = db.session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "webhook")).all()
    text = row.subject + row.body
    assert "1" in text and "王小明" not in text and "38.2" not in text and "101" not in text


def _ladder(obs):
    return [c.reminder_level for c in _checks(obs)]


def test_the_ladder_reminds_the_building_head_then_the_grid_member_then_the_secretary(world):
    obs = start(world)
    morning = T0 + H  # 08:00
    for at, levels in ((morning + 59 * 60 * timedelta(seconds=1), [0, 0]), (morning + H, [1, 0]),
                       (morning + 2 * H, [2, 0]), (morning + 3 * H, [3, 0]), (morning + 5 * H, [3, 0])):
        sweep_observation(at.isoformat())
        assert _ladder(obs) == levels, at
    check_id = _checks(obs)[0].id
    assert _notices(world.head1, "observation-missed") == [f"observation-missed:{check_id}:1"]
    assert _notices(world.gm1, "observation-missed") == [f"observation-missed:{check_id}:2"]
    assert _notices(world.sec1, "observation-missed") == [f"observation-missed:{check_id}:3"]


def test_a_check_recorded_late_stops_the_ladder(world):
    obs = start(world)
    sweep_observation((T0 + 2 * H).isoformat())
    check = _checks(obs)[0]
    services.record_check(check, world.gm1, WELL, "in_person", now=T0 + 2 * H)
    db.session.commit()
    sweep_observation((T0 + 6 * H).isoformat())
    assert _ladder(obs)[0] == 1 and _notices(world.gm1, "observation-missed") == []


def test_two_sweeps_at_once_remind_once_per_level(app, world):
    obs = start(world)
    db.session.commit()
    for at in (T0 + 2 * H, T0 + 4 * H):
        at_once(app, lambda at=at: sweep_observation(at.isoformat()))
    check_id = _checks(obs)[0].id
    assert _notices(world.head1, "observation-missed") == [f"observation-missed:{check_id}:1"]
    assert _notices(world.gm1, "observation-missed") == [f"observation-missed:{check_id}:2"]
    assert _notices(world.sec1, "observation-missed") == [f"observation-missed:{check_id}:3"]


def _until(obs):
    db.session.expire_all()
    return db.session.get(Observation, obs.id).person.household.observation_until


def test_the_households_observation_until_follows_its_observations(world):
    """households.observation_until is derived: the latest last day of the household's active
    observations, else empty; starting, extending, ending early and a second person move it."""
    obs = start(world)
    assert _until(obs) == date(2026, 12, 13)
    services.extend_observation(obs, world.gm1, date(2026, 12, 20), "同住人阳性", now=T0)
    db.session.commit()
    assert _until(obs) == date(2026, 12, 20)
    sibling = make_person(world, name="李二", phone="")
    other = start(world, person=sibling, days=3)
    assert other.person.household_id == obs.person.household_id and _until(obs) == date(2026, 12, 20)
    services.close_observation(db.session.get(Observation, obs.id), world.gm1, "end_early", "转集中隔离", now=T0)
    db.session.commit()
    assert _until(obs) == date(2026, 12, 2)
    services.close_observation(db.session.get(Observation, other.id), world.gm1, "lose", "联系不上", now=T0)
    db.session.commit()
    assert _until(obs) is None


def test_it_ends_after_its_last_day_and_tells_the_staff(app, world):
    app.config["SMS_GATEWAY_URL"] = "http://127.0.0.1:9/sms"
    obs = start(world, days=2)
    assert _until(obs) == date(2026, 12, 1)
    last = T0 + 24 * H + 2 * H  # the second day, 09:00
    sweep_observation(last.isoformat())
    services.record_check(services.current_check(obs, last), world.head1, WELL, "in_person", now=last)
    db.session.commit()
    sweep_observation((T0 + 48 * H).isoformat())  # the day after, 07:00
    db.session.expire_all()
    obs = db.session.get(Observation, obs.id)
    assert obs.status == "ended" and obs.ends_on == date(2026, 12, 1)
    assert _notices(world.head1, "observation-ended") == [f"observation-ended:{obs.id}"]
    assert _notices(world.gm1, "observation-ended") == [f"observation-ended:{obs.id}"]
    # The person is told too, by a text to their own phone; the household's badge is gone.
    (sms,) = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "observation_over")).all()
    assert sms.address == obs.person.phone and sms.user_id is None and "2026-12-01" in sms.body
    assert _until(obs) is None
    sweep_observation((T0 + 49 * H).isoformat())
    assert "observation_ended" in _actions(obs) and _actions(obs).count("observation_ended") == 1


def test_it_never_ends_on_a_day_without_a_check_it_is_extended_by_a_day_with_the_reason(world):
    obs = start(world, days=2)
    sweep_observation((T0 + 48 * H).isoformat())  # nobody checked on the last day
    db.session.expire_all()
    obs = db.session.get(Observation, obs.id)
    assert obs.status == "active" and obs.ends_on == date(2026, 12, 2)
    reason = db.session.scalars(select(AuditEvent.summary).where(AuditEvent.action == "observation_extended")).one()
    assert "2026-12-01 → 2026-12-02" in reason and "no recorded check" in reason
    assert [c.day for c in _checks(obs)][-2:] == [date(2026, 12, 2)] * 2
    sweep_observation((T0 + 48 * H).isoformat())  # again, the same moment: nothing more
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.action == "observation_extended")) == 1
