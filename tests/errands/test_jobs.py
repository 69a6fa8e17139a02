"""The errand sweep with frozen time: claim expiry, urgent unclaimed, late, unconfirmed; run twice
or at once it changes and tells nothing more; group robots never get the address; a real worker."""
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from gridapp.errands import services
from gridapp.errands.models import Errand, ErrandEvent, UrgentOptIn
from gridapp.extensions import db
from gridapp.notifications.models import GroupWebhook, Notification, OutboxMessage
from jobs.errands import sweep_errands
from jobs.periodic import by_name
from tests.errands.factories import H, add_volunteers, claimed, delivered, make_errand
from tests.workers import run_burst_worker

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in the town
M = timedelta(minutes=1)


@pytest.fixture
def w(world):
    return add_volunteers(world)


def keys(user, prefix):
    db.session.expire_all()
    return db.session.scalars(select(Notification.dedupe_key).where(
        Notification.user_id == user.id, Notification.dedupe_key.startswith(prefix)).order_by(Notification.id)).all()


def urgent_lines(user, errand) -> list[str]:
    """The lines about this errand in the person's digests of urgent unclaimed errands."""
    db.session.expire_all()
    return [line for body in db.session.scalars(select(Notification.body).where(
        Notification.user_id == user.id, Notification.kind == "errand_urgent",
        Notification.dedupe_key.startswith("digest:")))
        for line in body.splitlines() if line.startswith(f"#{errand.id} ")]


def fresh(errand):
    db.session.expire_all()
    return db.session.get(Errand, errand.id)


def run(at):
    return sweep_errands(at.isoformat())


def test_registered_every_minute():
    assert by_name("sweep-errands").interval == 60


def test_a_stalled_claim_expires_after_two_hours_and_both_sides_hear(w):
    errand = claimed(w, w.vol1, now=T0)
    assert run(T0 + 2 * H - M)["expired"] == 0
    assert run(T0 + 2 * H)["expired"] == 1
    e = fresh(errand)
    assert (e.status, e.claimant_id, e.last_claimant_id, e.opened_at) == ("open", None, w.vol1.id, T0 + 2 * H)
    key = f"errand-expired:{errand.id}:{(T0 + 2 * H).isoformat()}"
    assert keys(w.vol1, "errand-expired") == [key] and keys(w.head1, "errand-expired") == [key]
    assert run(T0 + 3 * H)["expired"] == 0
    assert keys(w.vol1, "errand-expired") == [key]
    events = db.session.scalars(select(ErrandEvent.action).where(ErrandEvent.errand_id == errand.id)).all()
    assert events == ["filed", "claimed", "expired"]


def test_an_urgent_claim_expires_after_thirty_minutes_and_progress_stops_the_clock(w):
    urgent = claimed(w, w.vol1, now=T0, urgent=True)
    bought = claimed(w, w.vol2, now=T0, urgent=True)
    services.purchase(bought, w.vol2, "5", now=T0 + 10 * M)
    db.session.commit()
    assert run(T0 + 29 * M)["expired"] == 0
    assert run(T0 + 30 * M)["expired"] == 1
    assert fresh(urgent).status == "open" and fresh(bought).status == "purchased"


def test_urgent_unclaimed_for_15_minutes_tells_on_duty_or_opted_in_volunteers_and_the_grid_member(w):
    db.session.add(UrgentOptIn(user_id=w.vol2.id))
    db.session.commit()
    errand = make_errand(w, urgent=True, now=T0)
    assert keys(w.vol2, "errand-new-urgent") == [f"errand-new-urgent:{errand.id}"]  # told when filed
    assert keys(w.vol1, "errand-new-urgent") == []  # did not opt in
    normal = make_errand(w, now=T0)
    assert run(T0 + 14 * M)["urgent_alerts"] == 0
    assert run(T0 + 15 * M)["urgent_alerts"] == 1
    assert len(urgent_lines(w.gm1, errand)) == 1 and len(urgent_lines(w.vol2, errand)) == 1
    assert urgent_lines(w.vol1, errand) == [] and urgent_lines(w.gm3, errand) == []
    assert "阳光小区" in urgent_lines(w.gm1, errand)[0]
    assert run(T0 + 40 * M)["urgent_alerts"] == 0
    assert fresh(normal).urgent_alerted_at is None


def test_on_duty_volunteers_hear_of_urgent_unclaimed_errands(w):
    pytest.importorskip("gridapp.duty.models")
    from gridapp.duty.models import Checkpoint, Shift, Signup

    cp = Checkpoint(community_id=w.c1.id, name="北门卡口")
    db.session.add(cp)
    db.session.flush()
    shift = Shift(checkpoint_id=cp.id, day=T0.date(), label="08:00-16:00", starts_at=T0 - 2 * H,
                  ends_at=T0 + 6 * H, capacity=2, filled=1)
    db.session.add(shift)
    db.session.flush()
    db.session.add(Signup(shift_id=shift.id, user_id=w.vol3.id, status="checked_in", signed_up_at=T0 - 3 * H))
    db.session.commit()
    errand = make_errand(w, urgent=True, now=T0)
    run(T0 + 15 * M)
    assert len(urgent_lines(w.vol3, errand)) == 1
    assert urgent_lines(w.vol1, errand) == [] and urgent_lines(w.vol2, errand) == []


def test_group_robots_never_get_the_address_or_phone(w):
    db.session.add(GroupWebhook(community_id=w.c1.id, provider="wecom", name="城关群",
                                url="http://127.0.0.1:9/hook", active=True))
    db.session.commit()
    errand = make_errand(w, urgent=True, now=T0)
    run(T0 + 15 * M)
    rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "webhook")).all()
    assert len(rows) == 1
    text = rows[0].subject + "\n" + rows[0].body
    assert f"#{errand.id}" in text and "阳光小区" in text and text.endswith("/errands/")
    for private in ("建设路", "13900000101", "张三", "101", "布洛芬", "放门口"):
        assert private not in text


def test_released_urgent_errands_are_chased_again(w):
    errand = make_errand(w, urgent=True, now=T0)
    run(T0 + 15 * M)
    for n in db.session.scalars(select(Notification).where(Notification.user_id == w.gm1.id,
                                                           Notification.kind == "errand_urgent")):
        n.read_at = T0 + 16 * M  # read: the next digest is a notice of its own
    services.claim(errand, w.vol1, now=T0 + 20 * M)
    services.release(errand, w.vol1, "来不了", now=T0 + 25 * M)
    db.session.commit()
    assert run(T0 + 39 * M)["urgent_alerts"] == 0
    assert run(T0 + 40 * M)["urgent_alerts"] == 1
    assert len(urgent_lines(w.gm1, errand)) == 2


def test_past_needed_by_tells_the_filer_and_the_grid_member_once(w):
    errand = make_errand(w, now=T0, needed_in=2 * H)
    done = delivered(w, w.vol2, now=T0, needed_in=H)
    assert run(T0 + 2 * H - M)["overdue"] == 0
    assert run(T0 + 2 * H)["overdue"] == 1
    assert keys(w.head1, "errand-overdue") == [f"errand-overdue:{errand.id}"]
    assert keys(w.gm1, "errand-overdue") == [f"errand-overdue:{errand.id}"]
    assert run(T0 + 5 * H)["overdue"] == 0
    assert fresh(done).overdue_notified_at is None


def test_delivered_but_unconfirmed_for_a_day_reminds_the_filer_once(w):
    errand = delivered(w, w.vol1, now=T0)
    confirmed = delivered(w, w.vol2, now=T0)
    services.confirm(confirmed, w.head1, money_settled=True, now=T0 + H)
    db.session.commit()
    assert run(T0 + 24 * H - M)["unconfirmed"] == 0
    assert run(T0 + 24 * H)["unconfirmed"] == 1
    assert run(T0 + 48 * H)["unconfirmed"] == 0
    assert keys(w.head1, "errand-unconfirmed") == [f"errand-unconfirmed:{errand.id}"]


def test_two_sweeps_at_once_act_once(app, w):
    errands = [claimed(w, v, now=T0, urgent=True) for v in (w.vol1, w.vol2, w.vol3)]
    db.session.commit()
    results = []

    def sweep():
        with app.app_context():
            try:
                results.append(sweep_errands((T0 + 31 * M).isoformat()))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(r["expired"] for r in results) == [0, 3]
    for e, v in zip(errands, (w.vol1, w.vol2, w.vol3), strict=True):
        assert fresh(e).status == "open"
        assert len(keys(v, "errand-expired")) == 1


def test_the_sweep_runs_on_a_real_worker(app, w):
    from gridapp.jobs_runtime import enqueue

    errand = claimed(w, w.vol1, now=T0)
    db.session.commit()
    enqueue(sweep_errands, (T0 + 3 * H).isoformat(), job_id="sweep-errands-test", job_timeout=50)
    proc = run_burst_worker(app)
    assert proc.returncode == 0, proc.stderr
    assert fresh(errand).status == "open"
    assert len(keys(w.head1, "errand-expired")) == 1
