"""Demo duty data for `flask seed-demo`: the field report's 107 checkpoints (53 party-member vanguard
posts, 54 gate checkpoints run by work units), a week of past shifts with check-ins, check-outs and a
few no-shows, 14 days ahead, every volunteer on a shift open for check-in now and on a few to come."""
from datetime import timedelta

from sqlalchemy import func, select, update

from gridapp.auth.models import RoleAssignment, User
from gridapp.core.rules import RuleError
from gridapp.duty import services
from gridapp.duty.models import Checkpoint, Shift, Signup
from gridapp.extensions import db
from gridapp.grid.models import Community, Compound, Grid, WorkUnit
from gridapp.timeutil import town_today, utcnow

VANGUARD_POSTS = 53
UNIT_CHECKPOINTS = 54
ROADS = ["建设路", "育才路", "东街", "西街", "南街", "北街", "滨河路", "新华路", "人民路", "中山路"]
HISTORY_DAYS = 7


def seed_duty(now=None) -> dict:
    """Idempotent: does nothing once a checkpoint exists. Gate checkpoints go to the compounds'
    entrances first, then to road junctions; vanguard posts are spread over the communities."""
    if db.session.scalar(select(func.count(Checkpoint.id))):
        return {"skipped": True}
    now = now or utcnow()
    opened = now - timedelta(days=HISTORY_DAYS)  # the checkpoints have been running for a week
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
        services.create_checkpoint(None, community=by_id[community_id], compound=compound, now=opened,
                                   values={**values, "kind": "gate", "min_people": 2, "max_people": 3,
                                           "work_unit_id": unit.id if unit else None})
    for i in range(VANGUARD_POSTS):
        community = communities[i % len(communities)]
        services.create_checkpoint(None, community=community, now=opened,
                                   values={"name": f"党员先锋岗{i + 1:02d}", "kind": "vanguard",
                                           "location": f"{community.name}{ROADS[i % len(ROADS)]}",
                                           "min_people": 1, "max_people": 2})
    services.generate_shifts(now)
    past = _past_week(now)
    on_duty = keep_demo_on_duty(now)
    signed = _sign_up_volunteers(now)
    return {"checkpoints": VANGUARD_POSTS + UNIT_CHECKPOINTS,
            "shifts": db.session.scalar(select(func.count(Shift.id))), "signups": signed, "past": past,
            "on_duty_now": on_duty}


def _volunteers():
    return db.session.execute(select(User, RoleAssignment.scope_id)
                              .join(RoleAssignment, RoleAssignment.user_id == User.id)
                              .where(RoleAssignment.role == "volunteer", User.active.is_(True))
                              .order_by(User.id)).all()


def _checkpoints_by_community() -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for cp_id, community_id in db.session.execute(select(Checkpoint.id, Checkpoint.community_id)
                                                  .where(Checkpoint.active.is_(True)).order_by(Checkpoint.id)):
        out.setdefault(community_id, []).append(cp_id)
    return out


def _put_on(shift: Shift, user: User, **fields) -> None:
    """A sign-up written as it stands after the fact (the services refuse to sign anyone up for a
    shift that has begun, rightly): the shift's counter moves with it."""
    db.session.add(Signup(shift_id=shift.id, user_id=user.id, reason="", **fields))
    db.session.execute(update(Shift).where(Shift.id == shift.id).values(filled=Shift.filled + 1)
                       .execution_options(synchronize_session=False))


def _past_week(now) -> int:
    """Each volunteer served the day or evening shift on four of the last seven days: checked in a few
    minutes early, checked out at the end; one sign-up in eleven was a no-show, confirmed by the
    community's secretary, except yesterday's, still waiting on the roster to be confirmed."""
    secretaries = dict(db.session.execute(select(RoleAssignment.scope_id, RoleAssignment.user_id)
                                          .where(RoleAssignment.role == "secretary")).all())
    checkpoints = _checkpoints_by_community()
    today = town_today(now)
    made = 0
    for n, (user, community_id) in enumerate(_volunteers()):
        cps = checkpoints.get(community_id)
        if not cps:
            continue
        for d in range(1, HISTORY_DAYS + 1):
            if (n + d) % 7 in (1, 4, 6):
                continue  # three days off a week
            label = "08:00-16:00" if (n + d) % 2 else "16:00-24:00"
            shift = db.session.scalars(select(Shift).where(Shift.checkpoint_id == cps[(n * 3 + d) % len(cps)],
                                                           Shift.day == today - timedelta(days=d),
                                                           Shift.label == label)).first()
            if shift is None or shift.ends_at > now or shift.filled >= shift.capacity:
                continue
            signed_at = shift.starts_at - timedelta(days=2, hours=n % 5)
            if (n * 7 + d) % 11 == 0:
                confirmer = secretaries.get(community_id)
                if d == 1 or confirmer is None:  # not confirmed yet: on the roster's list to confirm
                    _put_on(shift, user, status="signed_up", signed_up_at=signed_at,
                            reminded_at=shift.starts_at - timedelta(hours=2))
                else:
                    _put_on(shift, user, status="no_show", signed_up_at=signed_at, ended_by_id=confirmer,
                            ended_at=shift.ends_at + timedelta(hours=1),
                            reminded_at=shift.starts_at - timedelta(hours=2))
            else:
                _put_on(shift, user, status="checked_out", signed_up_at=signed_at,
                        checked_in_at=shift.starts_at - timedelta(minutes=5 + (n + d) % 20),
                        checked_out_at=shift.ends_at + timedelta(minutes=(n * d) % 15),
                        reminded_at=shift.starts_at - timedelta(hours=2))
            made += 1
    db.session.flush()
    return made


def keep_demo_on_duty(now) -> int:
    """Every demo volunteer holds a shift open for check-in right now (the one running, or the next
    one if it starts within half an hour): whoever tries the demo can check in at any hour. Run at
    seeding and each time `make run` starts on a demo database; a volunteer who already holds such
    a shift is left alone. Returns the sign-ups made."""
    checkpoints = _checkpoints_by_community()
    mine = {uid for (uid,) in db.session.execute(
        select(Signup.user_id).join(Shift, Shift.id == Signup.shift_id)
        .where(Signup.status.in_(("signed_up", "checked_in")), Shift.starts_at <= now + services.CHECK_IN_EARLY,
               Shift.ends_at > now))}
    made = 0
    for n, (user, community_id) in enumerate(_volunteers()):
        if user.id in mine or not checkpoints.get(community_id):
            continue
        cps = checkpoints[community_id]
        for k in range(len(cps)):
            # the latest-starting shift that is open for check-in: the next one in its last half hour
            shift = db.session.scalars(
                select(Shift).where(Shift.checkpoint_id == cps[(n + k) % len(cps)], Shift.status == "open",
                                    Shift.starts_at <= now + services.CHECK_IN_EARLY, Shift.ends_at > now,
                                    Shift.filled < Shift.capacity)
                .order_by(Shift.starts_at.desc())).first()
            if shift is None or services._clash(user.id, shift) is not None:
                continue
            _put_on(shift, user, status="signed_up", signed_up_at=min(now, shift.starts_at) - timedelta(hours=6))
            made += 1
            break
    db.session.flush()
    return made


def _sign_up_volunteers(now) -> int:
    """Each volunteer takes the day shift of one checkpoint of their community on a few of the next
    days, so the pages have people on them and gaps elsewhere."""
    volunteers = _volunteers()
    today = town_today(now)
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
            except RuleError:
                continue
            seen_days.add(shift.day)
            signed += 1
    return signed
