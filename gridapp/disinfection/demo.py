"""Demo disinfection data for `flask seed-demo`: points in every compound and a few public places,
garbage cleared 3 times a day, disinfection 2–3 times a day, and a week of rounds behind them."""
from datetime import timedelta

from sqlalchemy import func, select, update

from gridapp.disinfection import services
from gridapp.disinfection.models import DisinfectionPoint, DisinfectionSlot
from gridapp.extensions import db
from gridapp.grid.models import Community, Compound
from gridapp.timeutil import utcnow

PUBLIC_PLACES = [("惠民超市", "shop"), ("仁和大药房", "shop"), ("粮油店", "shop"), ("农贸市场", "activity_area")]


def seed_disinfection(now=None, days: int = 7) -> dict:
    """Idempotent: does nothing once a point exists. Every compound gets elevators, stairwells and a
    garbage point; every community public places; the past `days` days are filled in (mostly done,
    some missed) so the board and chart have something to show."""
    if db.session.scalar(select(func.count(DisinfectionPoint.id))):
        return {"skipped": True}
    now = now or utcnow()
    start = now - timedelta(days=days)
    compounds = db.session.scalars(select(Compound).order_by(Compound.id)).all()
    for i, k in enumerate(compounds):
        services.create_points(None, compound=k, values={"kind": "elevator", "count": 2 + i % 3, "name": "电梯"},
                               now=start)
        services.create_points(None, compound=k, values={"kind": "stairwell", "count": 2, "name": "楼道",
                                                         "windows": "06:00-10:00,17:00-21:00"}, now=start)
        services.create_points(None, compound=k, values={"kind": "garbage_point", "task": "garbage", "count": 1,
                                                         "name": "垃圾收集点"}, now=start)
        if i % 4 == 0:
            services.set_risk(None, k, "high", now=start)
    for c in db.session.scalars(select(Community).order_by(Community.id)).all():
        name, kind = PUBLIC_PLACES[c.id % len(PUBLIC_PLACES)]
        services.create_points(None, community=c, values={"kind": kind, "count": 1, "place_name": name,
                                                          "name": "门店"}, now=start)
    today = services.local_today(now)
    services.ensure_slots([today - timedelta(days=d) for d in range(days, -2, -1)])
    # The past: most rounds were done on time (no ticker recorded), every seventh was missed, on
    # every other day only: no point starts missed three days running, which would raise a
    # supervision finding for nearly every compound at the first sweep.
    closed = DisinfectionSlot.ends_at <= now - services.grace()
    miss_days = [today - timedelta(days=d) for d in range(0, days + 1, 2)]
    db.session.execute(update(DisinfectionSlot).where(closed, DisinfectionSlot.id % 7 == 0,
                                                      DisinfectionSlot.day.in_(miss_days))
                       .values(status="missed", missed_at=now).execution_options(synchronize_session=False))
    db.session.execute(update(DisinfectionSlot).where(closed, DisinfectionSlot.status == "pending")
                       .values(status="done", done_at=DisinfectionSlot.starts_at)
                       .execution_options(synchronize_session=False))
    points = db.session.scalar(select(func.count(DisinfectionPoint.id)))
    return {"points": points}
