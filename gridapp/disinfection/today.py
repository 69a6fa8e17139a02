"""The disinfection panel of the today board: today so far (closed windows done or missed, rounds due
in the windows open now), yesterday's final rate, the compounds with most misses today, the points
missed on two of the last three days or more. Three statements."""
from datetime import timedelta
from typing import NamedTuple

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, case, false, func, or_, select, true, union_all
from sqlalchemy.orm import aliased

from gridapp.core.statements import kept, key_of
from gridapp.disinfection import policy
from gridapp.disinfection.models import DisinfectionPoint, DisinfectionSlot
from gridapp.disinfection.services import grace, percent
from gridapp.extensions import db
from gridapp.grid.models import Community, Compound
from gridapp.policy import can
from gridapp.timeutil import town_midnight
from gridapp.today.panels import BoardContext, Panel

WORST_LIMIT = 5
REPEAT_LIMIT = 5
REPEAT_DAYS = 3  # a point missed on two (or all) of the last three days


def _in_place(place):
    """The points of the place (needs Compound outer-joined to DisinfectionPoint)."""
    if place.kind == "town":
        return true()
    if place.kind == "community":
        return DisinfectionPoint.community_id == place.id
    if place.kind == "grid":
        return Compound.grid_id == place.id
    if place.kind == "company":
        return Compound.property_company_id == place.id
    return false()


def _count(condition):
    return func.sum(case((condition, 1), else_=0))


def _points_seen(ctx: BoardContext):
    """The ids of the points of the place that the viewer sees, as a subquery; None for the whole town
    to a viewer who sees every point (no condition at all)."""
    if ctx.place.kind == "town" and policy.sees_every_point(ctx.user):
        return None
    return (select(DisinfectionPoint.id).outerjoin(Compound, Compound.id == DisinfectionPoint.compound_id)
            .where(policy.visible_clause(ctx.user), _in_place(ctx.place)))


# What changes from one request to the next, given when the statements run (see core.statements).
NOW, OVERDUE = bindparam("now"), bindparam("overdue_before")  # overdue: closed before the grace
TODAY, YESTERDAY = bindparam("today"), bindparam("yesterday")
RECENT_AFTER, RECENT_START = bindparam("recent_after"), bindparam("recent_start")


class Statements(NamedTuple):
    totals: object
    worst: object
    repeat: object


def _statements(points) -> Statements:
    """The panel's three statements over the points `points` selects (None: every point), built
    from `points` and the parameters above alone."""
    slot = DisinfectionSlot
    closed = slot.ends_at <= NOW
    done = slot.status == "done"
    # Missed: marked by the sweep, or closed longer than the grace and not ticked (the sweep is due).
    missed = or_(slot.status == "missed", and_(slot.status == "pending", slot.ends_at <= OVERDUE))
    # Due: a window open now, or closed within the grace (a tick still counts).
    due = and_(slot.status == "pending", slot.starts_at <= NOW, slot.ends_at > OVERDUE)
    on_today = slot.day == TODAY
    # Each statement reads the slots of the points seen (by their index on day and point) and counts
    # them point by point before joining anything: a join per slot would be most of the cost.

    def of_points(stmt):
        return stmt if points is None else stmt.where(slot.point_id.in_(points))

    # Today's and yesterday's slots, counted by day and state in one pass: three comparisons a slot,
    # the figures worked out from the few groups (_figures).
    totals = of_points(select(slot.day, slot.status, func.count(), _count(closed), _count(slot.starts_at > NOW),
                              _count(slot.ends_at <= OVERDUE))
                       .where(slot.day.in_([YESTERDAY, TODAY])).group_by(slot.day, slot.status))

    # The compounds with most misses: only a slot missed or due puts one on the list, and those are
    # pending or missed (read off the index on status, day and point, not every slot of the day);
    # the rounds done are then counted for the few listed.
    per_point = of_points(select(slot.point_id, _count(missed).label("missed"), _count(due).label("due"))
                          .where(on_today, slot.status.in_(("pending", "missed"))).group_by(slot.point_id)).subquery()
    public = DisinfectionPoint.compound_id.is_(None)
    key = case((public, DisinfectionPoint.community_id), else_=DisinfectionPoint.compound_id)
    name = func.min(func.coalesce(Compound.name, Community.name))
    missed_n, due_n = func.sum(per_point.c.missed), func.sum(per_point.c.due)
    listed = (select(public.label("public"), key.label("key"), name.label("name"), missed_n.label("missed"),
                     due_n.label("due"), func.count().over().label("total"))
              .select_from(per_point).join(DisinfectionPoint, DisinfectionPoint.id == per_point.c.point_id)
              .outerjoin(Compound, Compound.id == DisinfectionPoint.compound_id)
              .join(Community, Community.id == DisinfectionPoint.community_id)
              .group_by(public, key).having(or_(missed_n > 0, due_n > 0))
              .order_by(missed_n.desc(), due_n.desc(), name, key).limit(WORST_LIMIT)).subquery()
    point = aliased(DisinfectionPoint)
    done_there = of_points(
        select(func.count()).select_from(slot).join(point, point.id == slot.point_id)
        .where(on_today, done, closed,
               or_(and_(listed.c.public, point.compound_id.is_(None), point.community_id == listed.c.key),
                   and_(~listed.c.public, point.compound_id == listed.c.key)))).scalar_subquery()
    worst = (select(listed.c.public, listed.c.key, listed.c.name, listed.c.missed, listed.c.due, done_there,
                    listed.c.total)
             .order_by(listed.c.missed.desc(), listed.c.due.desc(), listed.c.name, listed.c.key))

    # The misses of the last days, marked or overdue, each kind read off an index: marked ones off
    # (status, day, point), a few thousand of the days' tens of thousands of slots, whoever looks;
    # overdue ones off (status, ends_at), not every pending slot of the days. A slot's window starts
    # on its own day (services.window_bounds), so "of the last days" is "started since the first
    # one's midnight" for them, and no condition on the day draws the planner to the other index.
    misses = union_all(
        select(slot.point_id, slot.day).where(slot.status == "missed", slot.day > RECENT_AFTER, slot.day <= TODAY),
        select(slot.point_id, slot.day).where(slot.status == "pending", slot.ends_at <= OVERDUE,
                                              slot.starts_at >= RECENT_START),
    ).subquery()
    days = func.count(func.distinct(misses.c.day))
    repeated = select(misses.c.point_id, days.label("days")).group_by(misses.c.point_id).having(days >= 2)
    if points is not None:
        repeated = repeated.where(misses.c.point_id.in_(points))
    repeated = repeated.subquery()
    place = func.coalesce(Compound.name, DisinfectionPoint.place_name)
    repeat = (select(DisinfectionPoint.id, DisinfectionPoint.name, DisinfectionPoint.compound_id,
                     DisinfectionPoint.community_id, place, repeated.c.days, func.count().over())
              .select_from(repeated).join(DisinfectionPoint, DisinfectionPoint.id == repeated.c.point_id)
              .outerjoin(Compound, Compound.id == DisinfectionPoint.compound_id)
              .order_by(repeated.c.days.desc(), place, DisinfectionPoint.name, DisinfectionPoint.id)
              .limit(REPEAT_LIMIT))
    return Statements(totals, worst, repeat)


def _figures(groups, today) -> tuple[int, ...]:
    """From (day, status, slots, closed, not started, closed past the grace) by day and status:
    today's rounds done in closed windows, missed (marked, or pending past the grace), due (pending,
    started, not past the grace), done in open windows, later (pending, not started); yesterday's
    slots and rounds done."""
    done_closed = missed = due = done_open = later = y_total = y_done = 0
    for day, status, n, closed, not_started, overdue in groups:
        n, closed, not_started, overdue = int(n), int(closed or 0), int(not_started or 0), int(overdue or 0)
        if day != today:
            y_total += n
            y_done += n if status == "done" else 0
        elif status == "done":
            done_closed, done_open = closed, n - closed
        elif status == "missed":
            missed += n
        elif status == "pending":
            # Not started and past the grace exclude each other: a window not started is not closed.
            missed += overdue
            due += n - not_started - overdue
            later += not_started
    return done_closed, missed, due, done_open, later, y_total, y_done


def load(ctx: BoardContext) -> dict:
    now, today = ctx.now, ctx.today
    points = _points_seen(ctx)
    stmts = kept(("disinfection.today", key_of(points)), lambda: _statements(points))
    first_recent = today - timedelta(days=REPEAT_DAYS - 1)
    values = {"now": now, "overdue_before": now - grace(), "today": today, "yesterday": today - timedelta(days=1),
              "recent_after": first_recent - timedelta(days=1), "recent_start": town_midnight(first_recent)}
    done_closed, missed_today, due_now, done_open, later, y_total, y_done = _figures(
        db.session.execute(stmts.totals, values).all(), today)
    worst = db.session.execute(stmts.worst, values).all()
    repeat = db.session.execute(stmts.repeat, values).all()

    return {
        "done_closed": done_closed, "missed": missed_today, "due": due_now, "done_open": done_open, "later": later,
        "rate_today": percent(done_closed, done_closed + missed_today),
        "rate_yesterday": percent(y_done, y_total), "yesterday_missed": y_total - y_done,
        "worst": [{"public": bool(r[0]), "id": r[1], "name": r[2], "missed": int(r[3] or 0), "due": int(r[4] or 0),
                   "done": int(r[5] or 0)} for r in worst],
        "worst_total": worst[0][6] if worst else 0,
        "repeat": [{"point_id": r[0], "name": r[1], "compound_id": r[2], "community_id": r[3], "where": r[4],
                    "days": r[5]} for r in repeat],
        "repeat_total": repeat[0][6] if repeat else 0,
        "ticks": can(ctx.user, "tick_rounds"),
    }


def shown(ctx: BoardContext) -> bool:
    return (ctx.place.kind in ("town", "community", "grid", "company")
            and can(ctx.user, "view_disinfection_board"))


PANEL = Panel(name="disinfection", title=_l("Disinfection today"), template="disinfection/_today_panel.html",
              order=20, shown=shown, load=load)
