"""`flask seed-bench tiny|town|county` (bench/seed): the benchmark datasets, checked at the tiny level:
every kind of row is there, the invariants the features rely on hold, a second run adds nothing,
and the personas' pages render on it."""
from datetime import timedelta

from sqlalchemy import func, select

from bench.cli import register_bench_cli
from bench.seed import seed_dataset
from gridapp.auth.models import User
from gridapp.disinfection.models import DisinfectionFlag, DisinfectionRound, DisinfectionSlot
from gridapp.duty.models import ACTIVE_SIGNUP, Shift, Signup
from gridapp.errands.models import STATES, ContactView, Errand, ErrandEvent
from gridapp.extensions import db
from gridapp.grid.models import Household
from gridapp.notifications.models import Notification, OutboxMessage
from gridapp.screening.demo import TOWN_CAMPAIGN
from gridapp.screening.models import ScreeningCampaign, ScreeningVisit
from gridapp.supervision.models import (
    ITEM_STATES,
    Circular,
    Finding,
    Inspection,
    Interview,
    ItemEvent,
    RectificationItem,
)
from gridapp.timeutil import utcnow

KINDS = [User, Shift, Signup, DisinfectionSlot, DisinfectionRound, DisinfectionFlag, Errand, ErrandEvent, ContactView,
         Inspection, Finding, RectificationItem, ItemEvent, Interview, Circular, Notification, OutboxMessage]


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _statuses(column) -> set:
    return set(db.session.scalars(select(column).distinct()))


def _check_invariants():
    # A shift's count is its active sign-ups, never above its capacity.
    active = (select(func.count(Signup.id)).where(Signup.shift_id == Shift.id, Signup.status.in_(ACTIVE_SIGNUP))
              .correlate(Shift).scalar_subquery())
    assert _count(Shift, Shift.filled != active) == 0
    assert _count(Shift, Shift.filled > Shift.capacity) == 0
    assert {"checked_out", "checked_in", "signed_up", "no_show", "withdrawn"} <= _statuses(Signup.status)
    # A person is never on two overlapping shifts.
    a, b = db.aliased(Signup), db.aliased(Signup)
    sa, sb = db.aliased(Shift), db.aliased(Shift)
    overlapping = db.session.scalar(
        select(func.count()).select_from(a).join(sa, sa.id == a.shift_id)
        .join(b, (b.user_id == a.user_id) & (b.id > a.id)).join(sb, sb.id == b.shift_id)
        .where(a.status.in_(ACTIVE_SIGNUP), b.status.in_(ACTIVE_SIGNUP), sa.starts_at < sb.ends_at,
               sb.starts_at < sa.ends_at))
    assert overlapping == 0
    # One slot per point × day × window; closed windows are done or missed, every done slot has its round.
    dupes = db.session.execute(select(DisinfectionSlot.point_id, DisinfectionSlot.day, DisinfectionSlot.window)
                               .group_by(DisinfectionSlot.point_id, DisinfectionSlot.day, DisinfectionSlot.window)
                               .having(func.count() > 1)).all()
    assert dupes == []
    assert _statuses(DisinfectionSlot.status) == {"pending", "done", "missed"}
    assert _count(DisinfectionSlot, DisinfectionSlot.status == "pending",
                  DisinfectionSlot.ends_at < utcnow() - timedelta(hours=1)) == 0
    assert _count(DisinfectionSlot, DisinfectionSlot.late.is_(True)) > 0
    done_without_round = _count(DisinfectionSlot, DisinfectionSlot.status == "done",
                                ~DisinfectionSlot.id.in_(select(DisinfectionRound.slot_id)
                                                         .where(DisinfectionRound.slot_id.isnot(None))))
    assert done_without_round == 0
    # Made a day at a time, as the sweep makes them (a day's rows together on disk, which the pages
    # of today's rounds read): the history's slot ids never go back to an earlier day.
    first = db.session.scalar(select(func.min(DisinfectionSlot.day)))
    floor = db.session.scalar(select(func.min(DisinfectionSlot.id)).where(DisinfectionSlot.day == first))
    spans = db.session.execute(select(func.min(DisinfectionSlot.id), func.max(DisinfectionSlot.id))
                               .where(DisinfectionSlot.id >= floor).group_by(DisinfectionSlot.day)
                               .order_by(DisinfectionSlot.day)).all()
    assert len(spans) > 5 and all(a[1] < b[0] for a, b in zip(spans, spans[1:], strict=False)), spans
    # Errands in every state, some urgent, some overdue; nobody above the claim limit.
    assert _statuses(Errand.status) == set(STATES)
    assert _count(Errand, Errand.urgent.is_(True)) > 0
    assert _count(Errand, Errand.status.in_(("open", "claimed", "purchased")), Errand.needed_by_at <= utcnow()) > 0
    most = db.session.execute(select(func.count()).select_from(Errand)
                              .where(Errand.status.in_(("claimed", "purchased"))).group_by(Errand.claimant_id)
                              .order_by(func.count().desc()).limit(1)).scalar()
    assert most <= 3
    assert _count(Errand, Errand.status == "claimed", Errand.claim_expires_at <= utcnow()) == 0
    # Rectification items in every state and at every escalation level.
    # The town's screening campaign covers every household of the dataset, about half of them visited.
    campaign = db.session.scalars(select(ScreeningCampaign).where(ScreeningCampaign.name == TOWN_CAMPAIGN)).one()
    assert _count(ScreeningVisit, ScreeningVisit.campaign_id == campaign.id) == _count(Household)
    pending = _count(ScreeningVisit, ScreeningVisit.campaign_id == campaign.id, ScreeningVisit.status == "pending")
    assert 0.4 < pending / _count(Household) < 0.6
    assert {"seen", "returnees", "nobody_home", "refused", "pending"} <= _statuses(ScreeningVisit.status)
    assert _statuses(RectificationItem.status) == set(ITEM_STATES)
    assert _statuses(RectificationItem.escalation_level) == {0, 1, 2}
    # Outbox rows mostly sent.
    assert _count(OutboxMessage, OutboxMessage.status == "sent") > 0.9 * _count(OutboxMessage)


def test_tiny_dataset_is_complete_consistent_idempotent_and_browsable(app, client):
    out = seed_dataset("tiny", progress=lambda *_: None)
    assert out["existing"] is False
    for model in KINDS:
        assert _count(model) > 0, model.__tablename__
    counts = out["counts"]
    assert counts["households"] == 400 and counts["duty_checkpoints"] == 107
    _check_invariants()

    # What the benchmark needs: personas, 20 open errands and 10 open shifts of vol1's community.
    assert out["personas"]["volunteer"] == "vol1" and out["personas"]["property_manager"] == "pm1"
    errands = db.session.scalars(select(Errand).where(Errand.id.in_(out["claim_storm_errand_ids"]))).all()
    assert len(errands) == 20
    assert {e.status for e in errands} == {"open"} and {e.community_id for e in errands} == {out["vol1_community_id"]}
    shifts = out["signup_storm_shifts"]
    assert len(shifts) == 10 and all(s["filled"] < s["capacity"] for s in shifts)
    assert "vol2" in out["volunteers"] and "vol1" not in out["volunteers"]
    assert set(out["storm_volunteers"]) <= set(out["volunteers"])

    again = seed_dataset("tiny", progress=lambda *_: None)
    assert again["existing"] is True
    assert again["counts"] == counts
    register_bench_cli(app)  # as wsgi.py does
    by_command = app.test_cli_runner().invoke(args=["seed-bench", "tiny"])
    assert by_command.exit_code == 0, by_command.output
    assert "already in this database: nothing added" in by_command.output
    assert "demo-pass-2020" in by_command.output
    db.session.expire_all()
    assert _count(User) == counts["users"]

    pages = [("vol1", "/errands/"), ("vol1", "/duty/mine"), ("pm1", "/disinfection/"),
             ("secretary1", "/disinfection/board"), ("sup1", "/supervision/items?overdue=1"),
             ("gridder1", "/duty/roster"), ("leader", "/supervision/"), (out["volunteers"][-1], "/duty/")]
    for username, url in pages:
        client.login(username, out["password"])
        resp = client.get(url)
        assert resp.status_code == 200, (username, url, resp.status_code)
        client.logout()
    client.login("sup1", out["password"])
    html = client.get("/supervision/items?overdue=1").get_data(as_text=True)
    overdue = _count(RectificationItem, RectificationItem.status.in_(("issued", "acknowledged", "rejected")),
                     RectificationItem.due_at <= utcnow())
    assert overdue > 0 and "/supervision/items/" in html


def test_seed_bench_refuses_an_unknown_level_and_production(app):
    register_bench_cli(app)
    runner = app.test_cli_runner()
    unknown = runner.invoke(args=["seed-bench", "city"])
    assert unknown.exit_code != 0 and "tiny" in unknown.output and "county" in unknown.output
    app.config["GRIDAPP_ENV"] = "production"
    refused = runner.invoke(args=["seed-bench", "tiny"])
    assert refused.exit_code != 0 and "production" in refused.output
    assert _count(User) == 0
