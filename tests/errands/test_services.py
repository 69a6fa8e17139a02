"""The errand state machine, filing scope, refusals and the privacy rules, without HTTP."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from gridapp.core.rules import RuleError
from gridapp.errands import services
from gridapp.errands.models import Errand, ErrandEvent
from gridapp.extensions import db
from gridapp.notifications.models import Notification
from gridapp.policy import can
from gridapp.timeutil import utcnow
from tests.errands.factories import H, add_volunteers, claimed, delivered, make_errand


@pytest.fixture
def w(world):
    return add_volunteers(world)


def inbox(user, prefix=""):
    db.session.expire_all()
    return db.session.scalars(select(Notification.dedupe_key).where(
        Notification.user_id == user.id, Notification.dedupe_key.startswith(prefix)).order_by(Notification.id)).all()


def fresh(errand):
    db.session.expire_all()
    return db.session.get(Errand, errand.id)


def count_errands():
    return db.session.scalar(select(func.count(Errand.id)))


def snapshot(errand):
    e = fresh(errand)
    return (e.status, e.claimant_id, e.claimed_at, e.purchased_at, e.delivered_at, e.actual_cost_cents,
            e.cancelled_at, e.confirmed_at)


# --- filing -------------------------------------------------------------------------------------

@pytest.mark.parametrize("who,household,ok", [
    ("head1", "h1", True), ("head1", "h3", False),          # building head: own compound only
    ("gm1", "h1", True), ("gm1", "h3", False),              # grid member: own grid only
    ("sec1", "h3", True), ("sec1", "h4", False),            # secretary: own community
    ("sec2", "h4", True), ("vol1", "h1", False), ("leader", "h1", False),
])
def test_filing_scope(w, who, household, ok):
    if ok:
        errand = make_errand(w, by=getattr(w, who), household=getattr(w, household))
        assert (errand.status, errand.community_id) == ("open", getattr(w, household).compound.grid.community_id)
    else:
        with pytest.raises(RuleError) as exc:
            make_errand(w, by=getattr(w, who), household=getattr(w, household))
        assert exc.value.field == "household_id"
        db.session.rollback()
        assert count_errands() == 0


@pytest.mark.parametrize("override,field,message", [
    ({"needed_in": -H}, "needed_by_at", "in the future"),
    ({"estimated_cost": "-1"}, "estimated_cost", "negative"),
    ({"items": "  \n "}, "items", "one item per line"),
])
def test_filing_refuses_bad_input_and_keeps_nothing(w, override, field, message):
    with pytest.raises(RuleError) as exc:
        make_errand(w, **override)
    assert exc.value.field == field and message in str(exc.value)
    db.session.rollback()
    assert count_errands() == 0


def test_filing_copies_the_place_and_records_the_timeline(w):
    errand = make_errand(w, estimated_cost="35.50")
    assert (errand.household_id, errand.compound_id, errand.grid_id, errand.community_id) == (
        w.h1.id, w.k1.id, w.g1.id, w.c1.id)
    assert errand.estimated_cost_cents == 3550 and errand.opened_at == errand.filed_at
    assert [e.action for e in services.timeline(errand)] == ["filed"]


# --- the happy path -----------------------------------------------------------------------------

def test_claim_buy_deliver_confirm(w):
    t0 = utcnow()
    errand = make_errand(w, now=t0)
    services.claim(errand, w.vol2, now=t0 + H / 4)
    db.session.commit()
    assert (errand.status, errand.claimant_id, errand.claim_expires_at) == ("claimed", w.vol2.id, t0 + H / 4 + 2 * H)
    assert inbox(w.head1, "errand-claimed") != []
    services.purchase(errand, w.vol2, "28.80", now=t0 + H)
    services.deliver(errand, w.vol2, "交给家属", now=t0 + 2 * H)
    db.session.commit()
    assert (errand.status, errand.actual_cost_cents, errand.claim_expires_at) == ("delivered", 2880, None)
    assert inbox(w.head1, "errand-delivered") == [f"errand-delivered:{errand.id}"]
    services.confirm(errand, w.head1, money_settled=True, now=t0 + 3 * H)
    db.session.commit()
    e = fresh(errand)
    assert (e.status, e.confirmed_by_id, e.money_settled) == ("confirmed", w.head1.id, True)
    assert [ev.action for ev in services.timeline(e)] == ["filed", "claimed", "purchased", "delivered", "confirmed"]
    assert inbox(w.vol2, "errand-confirmed") == [f"errand-confirmed:{errand.id}"]


def test_urgent_claims_expire_sooner(w):
    t0 = utcnow()
    errand = make_errand(w, urgent=True, now=t0)
    services.claim(errand, w.vol1, now=t0)
    assert errand.claim_expires_at == t0 + timedelta(minutes=30)


# --- refusals: each with a clear message and no change -------------------------------------------

def test_claiming_a_claimed_errand_names_who_has_it(w):
    errand = claimed(w, w.vol2)
    before = snapshot(errand)
    with pytest.raises(RuleError, match="Already taken by 志愿者二"):
        services.claim(fresh(errand), w.vol3)
    db.session.rollback()
    assert snapshot(errand) == before


def test_claiming_a_cancelled_errand(w):
    errand = make_errand(w)
    services.cancel(errand, w.head1, "家属已买到")
    db.session.commit()
    before = snapshot(errand)
    with pytest.raises(RuleError, match="cancelled by Head1: 家属已买到"):
        services.claim(fresh(errand), w.vol1)
    db.session.rollback()
    assert snapshot(errand) == before


def test_claiming_a_delivered_errand(w):
    errand = delivered(w, w.vol2)
    before = snapshot(errand)
    with pytest.raises(RuleError, match="already delivered by 志愿者二"):
        services.claim(fresh(errand), w.vol1)
    db.session.rollback()
    assert snapshot(errand) == before


def test_claiming_outside_my_community(w):
    errand = make_errand(w, by=w.sec2, household=w.h4)  # c2
    with pytest.raises(RuleError, match="not in your community"):
        services.claim(errand, w.vol1)
    db.session.rollback()
    assert snapshot(errand)[:2] == ("open", None)


def test_a_fourth_active_claim_is_refused(w):
    errands = [make_errand(w) for _ in range(4)]
    for e in errands[:3]:
        services.claim(e, w.vol1)
    db.session.commit()
    with pytest.raises(RuleError, match="already hold 3 active errands"):
        services.claim(fresh(errands[3]), w.vol1)
    db.session.rollback()
    assert snapshot(errands[3])[:2] == ("open", None)
    # A delivered errand no longer counts against the limit.
    services.purchase(errands[0], w.vol1, "1")
    services.deliver(errands[0], w.vol1)
    services.claim(fresh(errands[3]), w.vol1)
    db.session.commit()
    assert fresh(errands[3]).claimant_id == w.vol1.id


def test_the_limit_is_configurable(w, app):
    app.config["ERRANDS_MAX_ACTIVE_CLAIMS"] = 1
    a, b = make_errand(w), make_errand(w)
    services.claim(a, w.vol1)
    with pytest.raises(RuleError, match="already hold 1 active"):
        services.claim(b, w.vol1)


def test_negative_actual_cost_is_refused(w):
    errand = claimed(w, w.vol1)
    with pytest.raises(RuleError, match="negative") as exc:
        services.purchase(errand, w.vol1, "-3")
    assert exc.value.field == "actual_cost"
    db.session.rollback()
    assert snapshot(errand)[0] == "claimed"


def test_only_the_claimant_buys_delivers_or_releases(w):
    errand = claimed(w, w.vol1)
    for step in (lambda: services.purchase(errand, w.vol2, "3"), lambda: services.release(errand, w.vol2, "x")):
        with pytest.raises(RuleError, match="no longer yours"):
            step()
        db.session.rollback()
    with pytest.raises(RuleError, match="Only a bought errand"):
        services.deliver(fresh(errand), w.vol1)
    db.session.rollback()
    assert snapshot(errand)[:2] == ("claimed", w.vol1.id)


def test_release_needs_a_reason_reopens_and_tells_the_filer(w):
    errand = claimed(w, w.vol1)
    with pytest.raises(RuleError) as exc:
        services.release(errand, w.vol1, " ")
    assert exc.value.field == "reason"
    services.release(errand, w.vol1, "临时有事")
    db.session.commit()
    e = fresh(errand)
    assert (e.status, e.claimant_id, e.last_claimant_id) == ("open", None, w.vol1.id)
    assert any(k.startswith("errand-released:") for k in inbox(w.head1))
    assert services.timeline(e)[-1].note == "临时有事"


def test_release_after_buying_is_refused(w):
    errand = claimed(w, w.vol1)
    services.purchase(errand, w.vol1, "5")
    db.session.commit()
    with pytest.raises(RuleError, match="not yet bought"):
        services.release(errand, w.vol1, "不想去了")


def test_cancel_open_or_claimed_only_and_the_claimant_is_told(w):
    errand = claimed(w, w.vol1)
    with pytest.raises(RuleError):
        services.cancel(errand, w.head1, "")
    services.cancel(errand, w.head1, "居民已自行解决")
    db.session.commit()
    assert fresh(errand).status == "cancelled"
    assert inbox(w.vol1, "errand-cancelled") == [f"errand-cancelled:{errand.id}"]
    bought = claimed(w, w.vol2)
    services.purchase(bought, w.vol2, "1")
    db.session.commit()
    with pytest.raises(RuleError, match="Only an open or claimed errand can be cancelled"):
        services.cancel(bought, w.head1, "太晚了")


def test_confirm_requires_the_money_settled_when_money_was_spent(w):
    errand = delivered(w, w.vol1, cost="12")
    with pytest.raises(RuleError) as exc:
        services.confirm(errand, w.head1, money_settled=False)
    assert exc.value.field == "money_settled"
    db.session.rollback()
    assert fresh(errand).status == "delivered"
    free = delivered(w, w.vol2, cost="0")
    services.confirm(free, w.head1, money_settled=False)
    assert free.status == "confirmed"
    with pytest.raises(RuleError, match="Only a delivered errand can be confirmed"):
        services.confirm(free, w.gm1, money_settled=True)


# --- privacy rules ------------------------------------------------------------------------------

def test_who_sees_the_errand_and_the_contact_details(w):
    errand = make_errand(w)
    assert can(w.vol1, "view", errand) and not can(w.vol1, "view_contact", errand)
    assert not can(w.volc2, "view", errand)  # another community
    for staff in (w.head1, w.gm1, w.sec1, w.admin, w.leader):
        assert can(staff, "view_contact", errand), staff.username
    for outsider in (w.sec2, w.gm3, w.pm1, w.sup, w.nobody):
        assert not can(outsider, "view", errand), outsider.username
    services.claim(errand, w.vol2)
    db.session.commit()
    assert can(w.vol2, "view_contact", errand) and can(w.vol2, "view_photos", errand)
    assert not can(w.vol1, "view", errand) and not can(w.vol1, "view_photos", errand)


def test_the_volunteer_stops_seeing_the_details_seven_days_after_confirmation(w):
    errand = delivered(w, w.vol1)
    services.confirm(errand, w.head1, money_settled=True)
    db.session.commit()
    rule_now = errand.confirmed_at
    from gridapp.errands.policy import _errand_rule
    from gridapp.policy import scope_of

    s = scope_of(w.vol1)
    assert _errand_rule(w.vol1, s, "view_contact", errand, now=rule_now + timedelta(days=6, hours=23))
    assert not _errand_rule(w.vol1, s, "view_contact", errand, now=rule_now + timedelta(days=7))
    assert _errand_rule(w.head1, scope_of(w.head1), "view_contact", errand, now=rule_now + timedelta(days=30))


def test_events_are_one_per_transition(w):
    errand = delivered(w, w.vol1)
    assert db.session.scalar(select(func.count(ErrandEvent.id)).where(ErrandEvent.errand_id == errand.id)) == 4


# --- statistics ------------------------------------------------------------------------------------

def test_statistics_today_this_week_and_medians(w):
    from datetime import UTC, datetime

    wed_noon = datetime(2026, 3, 4, 4, 0, tzinfo=UTC)  # Wednesday 12:00 in the town
    monday = wed_noon - timedelta(days=2)
    last_week = wed_noon - timedelta(days=7)
    a = make_errand(w, now=monday)  # filed Monday, claimed after 20 min, delivered after 2 h
    services.claim(a, w.vol1, now=monday + timedelta(minutes=20))
    services.purchase(a, w.vol1, "1", now=monday + H)
    services.deliver(a, w.vol1, now=monday + 2 * H)
    b = make_errand(w, now=wed_noon - H)  # today, claimed after 40 min
    services.claim(b, w.vol2, now=wed_noon - timedelta(minutes=20))
    make_errand(w, now=last_week)  # not this week
    make_errand(w, by=w.sec2, household=w.h4, now=wed_noon - H)
    db.session.commit()
    rows = {r["community"].id: r for r in services.statistics_by_community(w.leader, now=wed_noon)}
    c1 = rows[w.c1.id]
    assert (c1["filed"], c1["claimed"], c1["delivered"]) == ([1, 2], [1, 2], [0, 1])
    assert c1["to_claim"] == timedelta(minutes=30) and c1["to_deliver"] == 2 * H
    assert rows[w.c2.id]["filed"] == [1, 1] and rows[w.c2.id]["to_claim"] is None
    assert [r["community"].id for r in services.statistics_by_community(w.sec1, now=wed_noon)] == [w.c1.id]
