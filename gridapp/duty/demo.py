"""Demo duty data for `flask seed-demo`: the field report's 107 checkpoints (53 party-member vanguard
posts, 54 gate checkpoints run by work units), 14 days of shifts, and a few volunteers signed up."""
from datetime import timedelta

from sqlalchemy import func, select

from gridapp.auth.models import RoleAssignment, User
from gridapp.duty import services
from gridapp.duty.models import Checkpoint, Shift
from gridapp.extensions import db
from gridapp.grid.models import Community, Compound, Grid, WorkUnit
from gridapp.timeutil import utcnow

VANGUARD_POSTS = 53
UNIT_CHECKPOINTS = 54
ROADS = ["建设路", "育才路", "东街", "西街", "南街", "北街", "滨河路", "新华路", "人民路", "中山路"]


def seed_duty(now=None) -> dict:
    """Idempotent: does nothing once a checkpoint exists. Gate checkpoints go to the compounds'
    entrances first, then to road junctions; vanguard posts are spread over the communities."""
    if db.session.scalar(select(func.count(Checkpoint.id))):
        return {"skipped": True}
    now = now or utcnow()
    communities = db.session.scalars(select(Community).order_by(Community.id)).all()
    units = db.session.scalars(select(WorkUnit).order_by(WorkUnit.id)).all()
    if not communities:
        return {"checkpoints": 0}
    compounds = db.session.execute(select(Compound, Grid.community_id).join(Grid, Grid.id == Compound.grid_id)
                                   .order_by(Compound.id)).all()
    by_id = {c.id: c for c in communities}
    for i in range(UNIT_CHECKPOINTS):
        unit = units[i % len(units)] if units else None
        if i < len(compounds):
            compound, community_id = compounds[i]
            values = {"name": f"{compound.name}{compound.entrance or '大门'}检查点", "location": compound.address}
        else:
            compound, community_id = None, communities[i % len(communities)].id
            road = ROADS[i % len(ROADS)]
            values = {"name": f"{road}{i + 1}号卡点", "location": f"{road}路口"}
        services.create_checkpoint(None, community=by_id[community_id], compound=compound, now=now,
                                   values={**values, "kind": "gate", "min_people": 2, "max_people": 3,
                                           "work_unit_id": unit.id if unit else None})
    for i in range(VANGUARD_POSTS):
        community = communities[i % len(communities)]
        services.create_checkpoint(None, community=community, now=now,
                                   values={"name": f"党员先锋岗{i + 1:02d}", "kind": "vanguard",
                                           "location": f"{community.name}{ROADS[i % len(ROADS)]}",
                                           "min_people": 1, "max_people": 2})
    signed = _sign_up_volunteers(now)
    return {"checkpoints": VANGUARD_POSTS + UNIT_CHECKPOINTS,
            "shifts": db.session.scalar(select(func.count(Shift.id))), "signups": signed}


def _sign_up_volunteers(now) -> int:
    """Each volunteer takes the day shift of one checkpoint of their community on a few of the next
    days, so the pages have people on them and gaps elsewhere."""
    volunteers = db.session.execute(select(User, RoleAssignment.scope_id)
                                    .join(RoleAssignment, RoleAssignment.user_id == User.id)
                                    .where(RoleAssignment.role == "volunteer").order_by(User.id)).all()
    today = services.local_today(now)
    signed = 0
    for n, (user, community_id) in enumerate(volunteers):
        shifts = db.session.scalars(
            select(Shift).join(Checkpoint, Checkpoint.id == Shift.checkpoint_id)
            .where(Checkpoint.community_id == community_id, Shift.label == "08:00-16:00", Shift.starts_at > now,
                   Shift.day.in_([today + timedelta(days=d) for d in (1 + n % 3, 4 + n % 3, 8 + n % 3)]))
            .order_by(Shift.day, Checkpoint.id).offset(n % 5)).all()
        seen_days = set()
        for shift in shifts:
            if shift.day in seen_days or shift.filled >= shift.capacity:
                continue
            try:
                services.sign_up(shift, user, now=now)
            except services.DutyError:
                continue
            seen_days.add(shift.day)
            signed += 1
    return signed
