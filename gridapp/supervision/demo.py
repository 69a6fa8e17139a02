"""Demo supervision data for `flask seed-demo`: the field report's weekly tally,
约谈 3 人、印发通报 4 期、督办整改问题 11 条, over the past week."""
from datetime import timedelta

from sqlalchemy import func, select

from gridapp.auth.models import User
from gridapp.extensions import db
from gridapp.grid.models import Community, Compound, WorkUnit
from gridapp.supervision import services
from gridapp.supervision.models import Circular
from gridapp.timeutil import town_today, utcnow

# (days ago, target kind, category, severity, where it got to)
FINDINGS = [
    (5, "compound", "no_temperature_check", "major", "verified"),
    (5, "compound", "registration_incomplete", "minor", "verified"),
    (5, "work_unit", "checkpoint_unstaffed", "critical", "verified"),
    (5, "compound", "disinfection_missed", "major", "verified"),
    (4, "community", "sanitation", "minor", "verified"),
    (4, "compound", "no_temperature_check", "major", "rejected"),
    (3, "compound", "disinfection_missed", "major", "submitted"),
    (3, "compound", "checkpoint_unstaffed", "critical", "issued"),  # overdue, climbs to the town leader
    (2, "community", "registration_incomplete", "minor", "acknowledged"),
    (1, "compound", "sanitation", "major", "issued"),  # overdue: the community secretary
    (0, "compound", "other", "minor", "issued"),
]
INTERVIEWS = [("红嘴鸥物业负责人", "卡口无人测温，整改不及时"), ("东城社区网格员", "住户登记不全"),
              ("县市场监管局联络人", "单位卡口脱岗")]
CIRCULARS = ["关于部分卡口未落实测温登记的通报", "关于小区消毒记录不全的通报", "关于单位包联卡口脱岗的通报",
             "关于本周督办整改情况的通报"]


def seed_supervision(now=None) -> dict:
    """Idempotent: does nothing once a circular exists. Needs the demo accounts sup1, sup2, leader."""
    if db.session.scalar(select(func.count(Circular.id))):
        return {"skipped": True}
    users = {u.username: u for u in db.session.scalars(select(User).where(User.username.in_(("sup1", "sup2"))))}
    sup1, sup2 = users.get("sup1"), users.get("sup2")
    if sup1 is None or sup2 is None:
        return {"skipped": True}
    now = now or utcnow()
    compounds = db.session.scalars(select(Compound).order_by(Compound.id)).all()
    communities = db.session.scalars(select(Community).order_by(Community.id)).all()
    units = db.session.scalars(select(WorkUnit).order_by(WorkUnit.id)).all()
    pools = {"compound": compounds, "community": communities, "work_unit": units[:1]}  # unit1 answers
    items = []
    for n, (days, kind, category, severity, state) in enumerate(FINDINGS):
        target = pools[kind][n % len(pools[kind])]
        at = now - timedelta(days=days, hours=2)
        inspection = services.plan_inspection(sup1, {
            "kind": "unannounced" if n % 3 == 0 else "routine", "planned_at": at, "target_type": kind,
            "target_id": target.id, "participants": "", "summary": "", "team_ids": [sup1.id, sup2.id]})
        item = services.record_finding(inspection, sup1, {"category": category, "severity": severity,
                                                          "description": "督查发现问题，限期整改"}, now=at)
        owner = item.owner
        if state != "issued" and owner is not None:
            services.acknowledge(item, owner, now=at + timedelta(hours=1))
            if state in ("submitted", "verified", "rejected"):
                services.submit_evidence(item, owner, "已整改，附整改说明", now=at + timedelta(hours=2))
            if state == "verified":
                services.verify(item, sup2, now=at + timedelta(hours=3))
            if state == "rejected":
                services.reject(item, sup2, "整改不彻底，请重新整改", now=at + timedelta(hours=3))
        items.append(item)
    services.escalate_overdue(now)
    today = town_today(now)
    for i, (person, reason) in enumerate(INTERVIEWS):
        services.record_interview(sup1, {"person_name": person, "interviewer": "督查组", "reason": reason,
                                         "held_on": today - timedelta(days=5 - 2 * i),
                                         "item_ids": [items[i * 2].id]})
    for i, title in enumerate(CIRCULARS):
        services.issue_circular(sup1, {"number": None, "title": title, "body": "各社区、各单位：\n" + title + "。",
                                       "issued_on": today - timedelta(days=6 - 2 * i),
                                       "item_ids": [it.id for it in items[i * 3:i * 3 + 3]]})
    db.session.commit()
    return {"items": len(items), "interviews": len(INTERVIEWS), "circulars": len(CIRCULARS)}
