"""Demo disinfection data for `flask seed-demo`: points in every compound and a few public places,
garbage cleared 3 times a day, disinfection 2–3 times a day (round the clock for one compound of each
property company), and a week of rounds behind them: who ticked, when, with what; some missed, and
the notices of today's misses sent as the sweep sends them."""
from datetime import timedelta

from sqlalchemy import func, insert, select, update

from gridapp.auth.models import RoleAssignment
from gridapp.disinfection import services
from gridapp.disinfection.models import DisinfectionPoint, DisinfectionRound, DisinfectionSlot
from gridapp.extensions import db
from gridapp.grid.models import Community, Compound, Grid
from gridapp.timeutil import town_today, utcnow

PUBLIC_PLACES = [("惠民超市", "shop"), ("仁和大药房", "shop"), ("粮油店", "shop"), ("农贸市场", "activity_area")]
DISINFECTANTS = ["84消毒液 1:100", "含氯消毒剂 500mg/L", "75%酒精", "过氧乙酸 0.2%"]
ROUND_THE_CLOCK = "00:00-08:00,08:00-16:00,16:00-24:00"  # the lift lobby of a compound with a checkpoint


def seed_disinfection(now=None, days: int = 7) -> dict:
    """Idempotent: does nothing once a point exists. Every compound gets elevators, stairwells and a
    garbage point; every community public places; the past `days` days are filled in (mostly done,
    some missed) so the board and chart have something to show."""
    if db.session.scalar(select(func.count(DisinfectionPoint.id))):
        return {"skipped": True}
    now = now or utcnow()
    start = now - timedelta(days=days)
    compounds = db.session.scalars(select(Compound).order_by(Compound.id)).all()
    high_risk = {k.id for i, k in enumerate(compounds) if i % 4 == 0}
    first_of_company = {}  # (a high-risk compound's own windows give way to the tier's)
    for k in compounds:
        if k.property_company_id and k.id not in high_risk:
            first_of_company.setdefault(k.property_company_id, k.id)
    for i, k in enumerate(compounds):
        elevators = {"kind": "elevator", "count": 2 + i % 3, "name": "电梯"}
        if first_of_company.get(k.property_company_id) == k.id:
            elevators["windows"] = ROUND_THE_CLOCK  # something is due at any hour of the demo
        services.create_points(None, compound=k, values=elevators, now=start)
        services.create_points(None, compound=k, values={"kind": "stairwell", "count": 2, "name": "楼道",
                                                         "windows": "06:00-10:00,17:00-21:00"}, now=start)
        services.create_points(None, compound=k, values={"kind": "garbage_point", "task": "garbage", "count": 1,
                                                         "name": "垃圾收集点"}, now=start)
        if k.id in high_risk:
            services.set_risk(None, k, "high", now=start)
    for c in db.session.scalars(select(Community).order_by(Community.id)).all():
        name, kind = PUBLIC_PLACES[c.id % len(PUBLIC_PLACES)]
        services.create_points(None, community=c, values={"kind": kind, "count": 1, "place_name": name,
                                                          "name": "门店"}, now=start)
    today = town_today(now)
    services.ensure_slots([today - timedelta(days=d) for d in range(days, -2, -1)])
    # The past: every seventh closed window was missed, on every other day only (no point misses
    # three days running, which would raise a supervision finding for nearly every compound at the
    # first sweep); the misses of the last 24 hours go through the sweep, which tells whoever is
    # responsible, as it does every five minutes.
    closed = DisinfectionSlot.ends_at <= now - services.grace()
    miss_days = [today - timedelta(days=d) for d in range(3, days + 1, 2)]
    db.session.execute(update(DisinfectionSlot).where(closed, DisinfectionSlot.id % 7 == 0,
                                                      DisinfectionSlot.day.in_(miss_days))
                       .values(status="missed", missed_at=DisinfectionSlot.ends_at)
                       .execution_options(synchronize_session=False))
    rounds = _rounds_done(now, skip=(DisinfectionSlot.id % 7 == 0)
                          & (DisinfectionSlot.ends_at > now - timedelta(hours=24)))
    swept = services.mark_missed(now)
    points = db.session.scalar(select(func.count(DisinfectionPoint.id)))
    return {"points": points, "rounds": rounds, "missed_today": swept["missed"], "notified": swept["notified"]}


def _tickers() -> tuple[dict, dict]:
    """Who ticks a compound's points (its property manager, else its work unit's contact, else its
    grid member, else the secretary) and a community's public places (a grid member, else the
    secretary): {compound_id: user_id}, {community_id: user_id}."""
    holders: dict[tuple[str, int], int] = {}
    for role, scope_id, user_id in db.session.execute(
            select(RoleAssignment.role, RoleAssignment.scope_id, RoleAssignment.user_id)
            .order_by(RoleAssignment.user_id)):
        holders.setdefault((role, scope_id), user_id)
    by_grid_community = dict(db.session.execute(select(Grid.id, Grid.community_id)).all())
    grid_member_of_community: dict[int, int] = {}
    for gid, cid in sorted(by_grid_community.items()):
        if ("grid_member", gid) in holders:
            grid_member_of_community.setdefault(cid, holders[("grid_member", gid)])
    compounds = {}
    for k in db.session.scalars(select(Compound)):
        community_id = by_grid_community[k.grid_id]
        compounds[k.id] = (holders.get(("property_manager", k.property_company_id))
                           or holders.get(("unit_contact", k.work_unit_id))
                           or holders.get(("grid_member", k.grid_id))
                           or holders.get(("secretary", community_id)))
    communities = {cid: grid_member_of_community.get(cid) or holders.get(("secretary", cid))
                   for cid in set(by_grid_community.values())}
    return compounds, communities


def _rounds_done(now, skip) -> int:
    """Every closed window not missed (and not left for today's sweep) was ticked: a round by the
    responsible person some minutes into the window, with the disinfectant they used."""
    compounds, communities = _tickers()
    rows = db.session.execute(
        select(DisinfectionSlot.id, DisinfectionSlot.point_id, DisinfectionSlot.starts_at, DisinfectionSlot.ends_at,
               DisinfectionPoint.compound_id, DisinfectionPoint.community_id, DisinfectionPoint.task)
        .join(DisinfectionPoint, DisinfectionPoint.id == DisinfectionSlot.point_id)
        .where(DisinfectionSlot.status == "pending", DisinfectionSlot.ends_at <= now, ~skip)
        .order_by(DisinfectionSlot.id)).all()
    rounds, slots, last = [], [], {}
    for slot_id, point_id, starts_at, ends_at, compound_id, community_id, task in rows:
        who = compounds.get(compound_id) if compound_id else communities.get(community_id)
        if who is None:
            continue
        span = max(int((ends_at - starts_at).total_seconds() // 60) - 10, 1)
        at = starts_at + timedelta(minutes=5 + (slot_id * 37) % span)
        what = "" if task == "garbage" else DISINFECTANTS[(point_id + slot_id // 97) % len(DISINFECTANTS)]
        rounds.append({"point_id": point_id, "slot_id": slot_id, "kind": "on_time", "ticked_at": at,
                       "ticked_by_id": who, "disinfectant": what, "note": "", "photo": ""})
        slots.append({"id": slot_id, "status": "done", "done_at": at, "done_by_id": who})
        if what:
            last[point_id] = what
    for chunk in range(0, len(rounds), 2000):
        db.session.execute(insert(DisinfectionRound), rounds[chunk:chunk + 2000])
    if slots:  # ORM bulk UPDATE by primary key: one executemany
        db.session.execute(update(DisinfectionSlot), slots)
    if last:
        db.session.execute(update(DisinfectionPoint), [{"id": p, "last_disinfectant": w} for p, w in last.items()])
    return len(rounds)
