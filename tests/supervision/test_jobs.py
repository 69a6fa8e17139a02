"""Reminders and the escalation ladder with frozen time; two sweeps at once; a real RQ worker."""
from datetime import timedelta

from sqlalchemy import func, select

from gridapp.extensions import db
from gridapp.notifications.models import Notification
from gridapp.supervision import services
from gridapp.supervision.models import ItemEvent, RectificationItem
from jobs.periodic import by_name
from jobs.supervision import escalate_rectification, remind_rectification
from tests.concurrency import at_once
from tests.supervision.factories import T0, make_item
from tests.workers import run_burst_worker

H = timedelta(hours=1)


def keys(user, prefix):
    db.session.expire_all()
    return db.session.scalars(select(Notification.dedupe_key).where(
        Notification.user_id == user.id, Notification.dedupe_key.startswith(prefix)).order_by(Notification.id)).all()


def sweep(at):
    """Both periodic jobs, as `flask jobs run NAME --at ISO` runs them."""
    reminded = remind_rectification(at.isoformat())
    escalated = escalate_rectification(at.isoformat())
    return reminded, escalated


def fresh(item):
    db.session.expire_all()
    return db.session.get(RectificationItem, item.id)


def test_periodic_jobs_are_registered_every_five_minutes():
    for name in ("remind-rectification", "escalate-rectification"):
        assert by_name(name).interval == 300


def test_owner_reminded_at_a_quarter_left_and_at_the_due_time_once_each(world):
    item = make_item(world, severity="major")  # due T0+24h, warning 6 h before
    due = item.due_at.isoformat()
    assert sweep(T0 + 17 * H)[0] == {"warned": 0, "due": 0}
    assert sweep(T0 + 18 * H)[0] == {"warned": 1, "due": 0}
    assert sweep(T0 + 19 * H)[0] == {"warned": 0, "due": 0}
    assert keys(world.pm1, "supervision-warn") == [f"supervision-warn:{item.id}:{due}"]
    assert sweep(T0 + 24 * H)[0] == {"warned": 0, "due": 1}
    sweep(T0 + 24 * H + 5 * 60 * timedelta(seconds=1))
    assert keys(world.pm1, "supervision-due") == [f"supervision-due:{item.id}:{due}"]


def test_escalation_ladder_major(world):
    item = make_item(world, severity="major")
    assert sweep(T0 + 23 * H)[1] == {"level1": 0, "level2": 0}
    assert sweep(T0 + 24 * H)[1] == {"level1": 1, "level2": 0}
    it = fresh(item)
    assert it.escalation_level == 1 and it.level1_at == T0 + 24 * H
    assert keys(world.sec1, "supervision-escalation") == [f"supervision-escalation:{item.id}:1"]
    assert keys(world.sec2, "supervision-escalation") == []
    assert sweep(T0 + 47 * H)[1] == {"level1": 0, "level2": 0}
    assert sweep(T0 + 48 * H)[1] == {"level1": 0, "level2": 1}
    assert keys(world.leader, "supervision-escalation") == [f"supervision-escalation:{item.id}:2"]
    assert sweep(T0 + 200 * H)[1] == {"level1": 0, "level2": 0}  # never repeated
    it = fresh(item)
    assert it.escalation_level == 2 and it.level2_at == T0 + 48 * H
    assert [e.note for e in db.session.scalars(select(ItemEvent).where(ItemEvent.action == "escalated"))] == ["1", "2"]


def test_critical_reaches_the_town_leader_four_hours_after_due(world):
    item = make_item(world, severity="critical")  # due T0+4h
    sweep(T0 + 4 * H)
    assert sweep(T0 + 7 * H)[1]["level2"] == 0
    assert sweep(T0 + 8 * H)[1]["level2"] == 1
    assert fresh(item).escalation_level == 2


def test_a_late_sweep_climbs_both_levels_at_once(world):
    item = make_item(world, severity="minor")
    assert sweep(T0 + 500 * H)[1] == {"level1": 1, "level2": 1}
    assert fresh(item).escalation_level == 2
    assert len(keys(world.sec1, "supervision-escalation")) == 1
    assert len(keys(world.leader, "supervision-escalation")) == 1


def test_a_due_time_set_by_hand_drives_the_reminders_and_the_ladder(world):
    item = make_item(world, severity="minor", due_at=T0 + 8 * H)  # by severity it would be T0+72h
    due = item.due_at.isoformat()
    assert sweep(T0 + 5 * H + 59 * 60 * timedelta(seconds=1)) == ({"warned": 0, "due": 0}, {"level1": 0, "level2": 0})
    assert sweep(T0 + 6 * H)[0] == {"warned": 1, "due": 0}  # a quarter of 8 h left
    assert keys(world.pm1, "supervision-warn") == [f"supervision-warn:{item.id}:{due}"]
    assert sweep(T0 + 8 * H) == ({"warned": 0, "due": 1}, {"level1": 1, "level2": 0})
    assert keys(world.sec1, "supervision-escalation") == [f"supervision-escalation:{item.id}:1"]
    assert sweep(T0 + 31 * H)[1]["level2"] == 0
    assert sweep(T0 + 32 * H)[1]["level2"] == 1  # the minor item's 24 h further wait, after the time set
    assert fresh(item).escalation_level == 2


def test_work_unit_item_climbs_to_the_secretary_of_its_community(world):
    item = make_item(world, target=world.unit)
    sweep(T0 + 24 * H)
    assert keys(world.sec2, "supervision-escalation") == [f"supervision-escalation:{item.id}:1"]
    assert keys(world.unit1, "supervision-due") == [f"supervision-due:{item.id}:{item.due_at.isoformat()}"]


def test_submitting_stops_the_clock_and_verifying_ends_it(world):
    item = make_item(world)
    services.acknowledge(item, world.pm1, now=T0 + H)
    services.submit_evidence(item, world.pm1, "已整改", now=T0 + 2 * H)
    db.session.commit()
    assert sweep(T0 + 100 * H) == ({"warned": 0, "due": 0}, {"level1": 0, "level2": 0})
    services.verify(fresh(item), world.sup, now=T0 + 101 * H)
    db.session.commit()
    assert sweep(T0 + 500 * H) == ({"warned": 0, "due": 0}, {"level1": 0, "level2": 0})
    assert fresh(item).escalation_level == 0


def test_rejection_restarts_the_clock_with_the_new_due_time(world):
    item = make_item(world)  # due T0+24h
    services.acknowledge(item, world.pm1, now=T0)
    services.submit_evidence(item, world.pm1, "已整改", now=T0 + H)
    db.session.commit()
    sweep(T0 + 30 * H)  # submitted: nothing happens past the old due time
    services.reject(fresh(item), world.sup, "照片看不出", now=T0 + 30 * H)  # new due T0+54h
    db.session.commit()
    assert sweep(T0 + 53 * H)[1]["level1"] == 0
    assert sweep(T0 + 54 * H)[1]["level1"] == 1
    it = fresh(item)
    assert it.level1_at == T0 + 54 * H
    assert keys(world.pm1, "supervision-due") == [f"supervision-due:{item.id}:{it.due_at.isoformat()}"]


def test_a_later_due_time_fires_again_but_the_level_never_goes_down(world):
    item = make_item(world)  # due T0+24h
    sweep(T0 + 24 * H)
    assert fresh(item).escalation_level == 1
    new_due = T0 + 72 * H
    services.extend_due(fresh(item), world.leader, new_due, "等待物资", now=T0 + 25 * H)
    db.session.commit()
    it = fresh(item)
    assert it.escalation_level == 1 and it.level2_due_at == new_due + 24 * H
    assert sweep(T0 + 48 * H)[1]["level2"] == 0  # the old level-2 time no longer applies
    assert sweep(new_due - 12 * H)[0]["warned"] == 1  # the new deadline warns again
    assert sweep(new_due)[0]["due"] == 1
    assert keys(world.pm1, "supervision-due") == [f"supervision-due:{item.id}:{(T0 + 24 * H).isoformat()}",
                                                  f"supervision-due:{item.id}:{new_due.isoformat()}"]
    assert sweep(new_due + 24 * H)[1]["level2"] == 1
    assert keys(world.sec1, "supervision-escalation") == [f"supervision-escalation:{item.id}:1"]


def test_two_sweeps_at_once_escalate_and_notify_once_per_level(app, world):
    items = [make_item(world, severity="minor", commit=False) for _ in range(5)]
    db.session.commit()
    ids = [i.id for i in items]
    db.session.commit()  # reading the ids began a transaction: SQLite's write lock must be free
    moments = [T0 + 72 * H, T0 + 96 * H]  # level 1, then level 2
    for at in moments:
        at_once(app, lambda at=at: (escalate_rectification(at.isoformat()), remind_rectification(at.isoformat())))
    db.session.expire_all()
    for item_id in ids:
        events = db.session.scalars(select(ItemEvent.note).where(ItemEvent.item_id == item_id,
                                                                  ItemEvent.action == "escalated")).all()
        assert sorted(events) == ["1", "2"]
        assert db.session.get(RectificationItem, item_id).escalation_level == 2
    for user, level in ((world.sec1, 1), (world.leader, 2)):
        n = db.session.scalar(select(func.count(Notification.id)).where(
            Notification.user_id == user.id, Notification.dedupe_key.like(f"supervision-escalation:%:{level}")))
        assert n == len(ids)
    due_notices = db.session.scalar(select(func.count(Notification.id)).where(
        Notification.user_id == world.pm1.id, Notification.dedupe_key.like("supervision-due:%")))
    assert due_notices == len(ids)


def test_a_real_worker_runs_the_sweep(app, world):
    from gridapp.jobs_runtime import enqueue

    item = make_item(world, severity="critical")
    enqueue(escalate_rectification, (T0 + 4 * H).isoformat(), job_id="escalate-test", job_timeout=60)
    result = run_burst_worker(app)
    assert result.returncode == 0, result.stdout + result.stderr
    assert fresh(item).escalation_level == 1
    db.session.commit()
