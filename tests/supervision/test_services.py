"""The item state machine, owners and due times, without HTTP."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from gridapp.audit.models import AuditEvent
from gridapp.core.rules import RuleError
from gridapp.extensions import db
from gridapp.grid.models import Compound
from gridapp.notifications.models import Notification
from gridapp.supervision import services
from gridapp.supervision.models import ItemEvent, RectificationItem
from tests.factories import make_user
from tests.supervision.factories import T0, add_sup2, make_inspection, make_item

H = timedelta(hours=1)


def inbox(user, prefix=""):
    return db.session.scalars(select(Notification.dedupe_key).where(
        Notification.user_id == user.id, Notification.dedupe_key.startswith(prefix)).order_by(Notification.id)).all()


def test_owner_is_resolved_from_the_target(world):
    assert services.resolve_target("compound", world.k1.id).owner.id == world.pm1.id  # property manager
    assert services.resolve_target("compound", world.k2.id).owner.id == world.pm2.id
    # No property company: the building head, else the grid member.
    world.k1.property_company_id = None
    db.session.commit()
    assert services.resolve_target("compound", world.k1.id).owner.id == world.head1.id
    assert services.resolve_target("compound", world.k3.id).owner.id == world.gm3.id
    assert services.resolve_target("work_unit", world.unit.id).owner.id == world.unit1.id
    community = services.resolve_target("community", world.c1.id)
    assert community.owner.id == world.sec1.id and community.community_id == world.c1.id
    # A work unit's level-1 community is that of the compound it runs.
    assert services.resolve_target("work_unit", world.unit.id).community_id == world.c2.id
    assert services.resolve_target("compound", 999999) is None
    assert services.resolve_target("nowhere", world.k1.id) is None


def test_compound_without_anyone_has_no_owner_until_one_is_chosen(world):
    bare = Compound(grid=world.g2, name="空楼院")
    db.session.add(bare)
    db.session.commit()
    item = make_item(world, target=bare)
    assert item.owner_id is None
    services.reassign(item, world.sup, world.head1.id, now=T0)
    db.session.commit()
    assert item.owner_id == world.head1.id
    assert inbox(world.head1) == [f"supervision-issued:{item.id}:u{world.head1.id}"]


@pytest.mark.parametrize("severity,hours,warn_before", [("critical", 4, 1), ("major", 24, 6), ("minor", 72, 18)])
def test_due_time_and_warning_by_severity(world, severity, hours, warn_before):
    item = make_item(world, severity=severity)
    assert item.due_at == T0 + hours * H
    assert item.warn_at == item.due_at - warn_before * H
    assert item.level2_due_at == item.due_at + (4 if severity == "critical" else 24) * H
    assert item.community_id == world.c1.id and item.owner_id == world.pm1.id


def test_a_short_deadline_still_warns_an_hour_before(world):
    assert services.clock("critical", T0, T0 + 2 * H)["warn_at"] == T0 + H


def _finding(world, due_at, severity="minor", now=T0):
    return services.record_finding(make_inspection(world), world.sup, {
        "category": "sanitation", "severity": severity, "description": "垃圾未清运", "due_at": due_at}, now=now)


def test_a_due_time_set_by_hand_replaces_the_severitys(world):
    item = _finding(world, T0 + 10 * H)  # minor: 72 h by severity
    db.session.commit()
    assert item.due_at == T0 + 10 * H and item.clock_started_at == T0
    assert item.warn_at == T0 + 10 * H - 2.5 * H  # a quarter of the time left
    assert item.level2_due_at == T0 + 34 * H  # the severity's further wait, after the time set
    issued = db.session.scalars(select(AuditEvent.summary).where(AuditEvent.action == "item_issued")).one()
    assert f"due_at: {(T0 + 10 * H).isoformat()} (set by hand)" in issued
    # The owner's notice names the time set, in the town's zone (T0 is 09:00 there).
    body = db.session.scalars(select(Notification.body).where(Notification.user_id == world.pm1.id)).one()
    assert "2026-03-02 19:00" in body
    # Left empty, the severity decides as before; the audit line says nothing of a time set by hand.
    plain = _finding(world, None)
    assert plain.due_at == T0 + 72 * H


@pytest.mark.parametrize("due_at,message", [
    (T0, "必须晚于现在"), (T0 - H, "必须晚于现在"),
    (T0 + timedelta(days=30, minutes=1), "最晚只能设在 30 天之后"),
    (T0 + timedelta(days=365), "最晚只能设在 30 天之后"),
])
def test_a_due_time_in_the_past_or_too_far_ahead_is_refused(world, due_at, message):
    inspection = make_inspection(world)
    with pytest.raises(RuleError, match=message) as refused:
        services.record_finding(inspection, world.sup, {
            "category": "sanitation", "severity": "minor", "description": "x", "due_at": due_at}, now=T0)
    assert refused.value.field == "due_at"
    db.session.rollback()
    assert db.session.scalars(select(RectificationItem)).all() == []
    assert inbox(world.pm1) == []


def test_the_bounds_of_a_due_time_are_those_of_the_clock(world, clock):
    """The bound is read from the app's clock, not from the caller's idea of now."""
    clock.set(T0)
    assert services.due_at_bounds() == (T0, T0 + timedelta(days=services.MAX_DUE_DAYS))
    item = _finding(world, T0 + timedelta(days=30), now=None)  # exactly the furthest allowed
    assert item.due_at == T0 + timedelta(days=30) and item.issued_at == T0
    clock.advance(timedelta(days=2))
    with pytest.raises(RuleError, match="必须晚于现在"):
        _finding(world, T0 + H, now=None)


def test_issue_notifies_the_owner_once(world):
    item = make_item(world)
    assert inbox(world.pm1) == [f"supervision-issued:{item.id}"]
    assert [e.action for e in db.session.scalars(select(ItemEvent))] == ["issued"]


def test_the_whole_way_to_verified(world):
    add_sup2(world)
    item = make_item(world)
    services.acknowledge(item, world.pm1, now=T0 + H)
    services.submit_evidence(item, world.pm1, "已安排专人测温", now=T0 + 2 * H)
    services.verify(item, world.sup2, now=T0 + 3 * H)
    db.session.commit()
    db.session.expire_all()
    item = db.session.get(RectificationItem, item.id)
    assert item.status == "verified" and item.verified_by_id == world.sup2.id
    assert item.submitted_by_id == world.pm1.id and item.evidence == "已安排专人测温"
    history = [(e.action, e.actor_id) for e in services.history(item)]
    assert history == [("issued", world.sup.id), ("acknowledged", world.pm1.id), ("submitted", world.pm1.id),
                       ("verified", world.sup2.id)]


# Every action from every state: legal ones move on, the others are refused and change nothing.
LEGAL = {
    ("acknowledge", "issued"): "acknowledged",
    ("submit", "acknowledged"): "submitted",
    ("submit", "rejected"): "submitted",  # straight back to work: no second acknowledgement
    ("verify", "submitted"): "verified",
    ("reject", "submitted"): "rejected",
    ("extend", "issued"): "issued",
    ("extend", "acknowledged"): "acknowledged",
    ("extend", "rejected"): "rejected",
}


def _bring_to(world, state):
    item = make_item(world)
    steps = {"issued": [], "acknowledged": ["ack"], "submitted": ["ack", "submit"],
             "verified": ["ack", "submit", "verify"], "rejected": ["ack", "submit", "reject"]}[state]
    for step in steps:
        if step == "ack":
            services.acknowledge(item, world.pm1, now=T0)
        elif step == "submit":
            services.submit_evidence(item, world.pm1, "done", now=T0)
        elif step == "verify":
            services.verify(item, world.sup, now=T0)
        else:
            services.reject(item, world.sup, "照片不清楚", now=T0)
    db.session.commit()
    return item


def _do(world, action, item):
    if action == "acknowledge":
        services.acknowledge(item, world.pm1, now=T0)
    elif action == "submit":
        services.submit_evidence(item, world.pm1, "再次整改", now=T0)
    elif action == "verify":
        services.verify(item, world.sup, now=T0)
    elif action == "reject":
        services.reject(item, world.sup, "不合格", now=T0)
    else:
        services.extend_due(item, world.leader, item.due_at + 48 * H, "节假日", now=T0)


@pytest.mark.parametrize("action", ["acknowledge", "submit", "verify", "reject", "extend"])
@pytest.mark.parametrize("state", ["issued", "acknowledged", "submitted", "verified", "rejected"])
def test_every_transition(world, action, state):
    item = _bring_to(world, state)
    events_before = db.session.query(ItemEvent).count()
    if (action, state) in LEGAL:
        _do(world, action, item)
        db.session.commit()
        assert item.status == LEGAL[(action, state)]
        assert db.session.query(ItemEvent).count() == events_before + 1
    else:
        with pytest.raises(RuleError) as exc:
            _do(world, action, item)
        db.session.rollback()
        assert str(exc.value)  # a message the user can read
        db.session.expire_all()
        assert db.session.get(RectificationItem, item.id).status == state
        assert db.session.query(ItemEvent).count() == events_before


def test_refusal_says_who_won(world):
    add_sup2(world)
    item = _bring_to(world, "submitted")
    services.verify(item, world.sup2, now=T0)
    db.session.commit()
    with pytest.raises(RuleError, match="已由 Sup2 核验"):
        services.verify(item, world.sup, now=T0)


def test_the_submitter_cannot_verify_or_reject_their_own_evidence(world):
    item = _bring_to(world, "acknowledged")
    item.owner_id = world.sup.id  # a supervisor who is also the owner
    db.session.commit()
    services.submit_evidence(item, world.sup, "自己整改", now=T0)
    db.session.commit()
    for act in (lambda: services.verify(item, world.sup, now=T0),
                lambda: services.reject(item, world.sup, "no", now=T0)):
        with pytest.raises(RuleError, match="整改材料是您自己提交的"):
            act()
        db.session.rollback()
    assert db.session.get(RectificationItem, item.id).status == "submitted"


def test_rejection_restarts_the_clock_and_the_owner_submits_again_without_acknowledging(world):
    item = _bring_to(world, "submitted")
    later = T0 + 30 * H
    services.reject(item, world.sup, "消毒记录不全", now=later)
    db.session.commit()
    assert item.status == "rejected" and item.reject_reason == "消毒记录不全"
    assert item.clock_started_at == later and item.due_at == later + 24 * H
    assert item.warned_at is None and item.due_notified_at is None
    assert f"supervision-rejected:{item.id}:{item.due_at.isoformat()}" in inbox(world.pm1)
    with pytest.raises(RuleError):  # acknowledged once is enough
        services.acknowledge(item, world.pm1, now=later + H)
    db.session.rollback()
    # A chosen new due time must lie ahead.
    services.submit_evidence(item, world.pm1, "补齐", now=later + 2 * H)
    db.session.commit()
    assert item.status == "submitted"
    with pytest.raises(RuleError, match="晚于现在"):
        services.reject(item, world.sup, "仍不合格", new_due_at=later, now=later + 3 * H)


def test_evidence_and_reasons_are_required(world):
    item = _bring_to(world, "acknowledged")
    with pytest.raises(RuleError) as exc:
        services.submit_evidence(item, world.pm1, "   ", now=T0)
    assert exc.value.field == "evidence"
    with pytest.raises(RuleError):
        services.extend_due(item, world.leader, item.due_at + H, "", now=T0)


def test_extension_is_audited_and_must_be_later(world):
    item = make_item(world)
    old_due = item.due_at
    with pytest.raises(RuleError, match="晚于原期限"):
        services.extend_due(item, world.leader, old_due - H, "提前", now=T0)
    services.extend_due(item, world.leader, old_due + 24 * H, "需采购设备", now=T0 + H)
    db.session.commit()
    assert item.due_at == old_due + 24 * H and item.level2_due_at == old_due + 48 * H
    (event,) = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "item_due_extended"))
    assert event.actor_id == world.leader.id and "需采购设备" in event.summary
    assert old_due.isoformat() in event.summary


def test_a_stale_extension_is_refused(world):
    """The leader extends from the due time they saw; if it moved meanwhile, they are told."""
    item = make_item(world)
    seen = item.due_at
    services.extend_due(item, world.leader, seen + 10 * H, "第一次", now=T0)
    db.session.commit()
    with pytest.raises(RuleError, match="刚被他人修改"):
        services.extend_due(item, world.leader, seen + 20 * H, "第二次", seen_due_at=seen, now=T0)


def test_interviews_circulars_and_the_tally(world):
    from datetime import date

    items = [make_item(world, now=T0 + i * H) for i in range(3)]
    services.record_interview(world.sup, {"person_name": "物业负责人", "interviewer": "督查组", "reason": "整改不力",
                                          "held_on": date(2026, 3, 2), "item_ids": [items[0].id]})
    first = services.issue_circular(world.sup, {"number": None, "title": "第一期", "body": "正文",
                                                "issued_on": date(2026, 3, 2), "item_ids": [i.id for i in items]})
    second = services.issue_circular(world.sup, {"number": None, "title": "第二期", "body": "正文",
                                                 "issued_on": date(2026, 3, 9), "item_ids": []})
    db.session.commit()
    assert (first.number, second.number) == (1, 2) and len(first.items) == 3
    with pytest.raises(RuleError, match="下一个可用期号是 3"):
        services.issue_circular(world.sup, {"number": 2, "title": "重复", "body": "x",
                                            "issued_on": date(2026, 3, 9), "item_ids": []})
    db.session.rollback()
    assert services.tally(date(2026, 3, 1), date(2026, 3, 7)) == {"interviews": 1, "circulars": 1, "items": 3}
    assert services.tally(date(2026, 3, 3), date(2026, 3, 9)) == {"interviews": 0, "circulars": 1, "items": 0}


def test_median_time_to_rectify(world):
    add_sup2(world)
    for hours in (2, 4, 9):
        item = make_item(world)
        services.acknowledge(item, world.pm1, now=T0)
        services.submit_evidence(item, world.pm1, "ok", now=T0)
        services.verify(item, world.sup2, now=T0 + hours * H)
    make_item(world)  # still open
    db.session.commit()
    from datetime import date

    d = services.dashboard(date(2026, 3, 1), date(2026, 3, 7), now=T0 + 100 * H)
    assert d["median"] == 4 * H and d["verified"] == 3
    assert d["by_level"] == [(0, 1), (1, 0), (2, 0)]
    assert [i.id for i in d["overdue"]] == [db.session.scalars(select(RectificationItem.id)
                                                               .where(RectificationItem.status == "issued")).one()]


def test_a_user_without_roles_gets_nothing(world):
    make_item(world)
    stranger = make_user("stranger2")
    assert db.session.scalars(services.items_query(stranger)).all() == []


def test_demo_data_gives_the_field_reports_tally(app):
    from gridapp.demo import seed
    from gridapp.supervision.demo import seed_supervision

    seed()  # the demo town, supervision included
    assert seed_supervision() == {"skipped": True}  # idempotent
    from gridapp.timeutil import to_local, utcnow

    today = to_local(utcnow()).date()
    assert services.tally(today - timedelta(days=6), today) == {"interviews": 3, "circulars": 4, "items": 11}
    statuses = db.session.scalars(select(RectificationItem.status)).all()
    assert statuses.count("verified") == 5 and statuses.count("rejected") == 1
    assert db.session.scalar(select(RectificationItem.escalation_level).order_by(
        RectificationItem.escalation_level.desc()).limit(1)) == 2
