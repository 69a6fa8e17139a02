"""The supervision panel of the today board: overdue rectification items by escalation level, the
items to act on first, items due today, findings recorded today, and the tally of the dashboard's
period (约谈 N 人、印发通报 N 期、督办整改问题 N 条) for those who see the dashboard of the place. Two
statements, and the tally's three."""
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, case, false, func, or_, select, true
from sqlalchemy.orm import joinedload

from gridapp.auth.models import User
from gridapp.core.statements import kept, key_of
from gridapp.duty.models import Checkpoint
from gridapp.extensions import db
from gridapp.grid.models import Compound
from gridapp.policy import can, scope_of
from gridapp.supervision import services
from gridapp.supervision.forms import ItemsPeriodForm
from gridapp.supervision.models import CLOCK_STATES, RectificationItem
from gridapp.supervision.policy import item_clause
from gridapp.timeutil import town_midnight
from gridapp.today.panels import BoardContext, Panel

URGENT_LIMIT = 3  # open items listed: the overdue, most escalated first, then the soonest due


def _in_place(place):
    """Items about the place: a community's by their community; below it, by their target (a
    compound, a checkpoint or a work unit lying in the grid, the company's or the unit's compounds)."""
    item = RectificationItem
    if place.kind == "town":
        return true()
    if place.kind == "community":
        return item.community_id == place.id
    checkpoints = select(Checkpoint.id).outerjoin(Compound, Compound.id == Checkpoint.compound_id)
    if place.kind == "grid":
        compounds = select(Compound.id).where(Compound.grid_id == place.id)
        checkpoints = checkpoints.where(or_(Compound.grid_id == place.id, and_(
            Checkpoint.compound_id.is_(None), Checkpoint.community_id == place.community_id)))
        units = false()
    elif place.kind == "company":
        compounds = select(Compound.id).where(Compound.property_company_id == place.id)
        checkpoints = checkpoints.where(Compound.property_company_id == place.id)
        units = false()
    elif place.kind == "unit":
        compounds = select(Compound.id).where(Compound.work_unit_id == place.id)
        checkpoints = checkpoints.where(Checkpoint.work_unit_id == place.id)
        units = and_(item.target_type == "work_unit", item.target_id == place.id)
    else:
        return false()
    return or_(and_(item.target_type == "compound", item.target_id.in_(compounds)),
               and_(item.target_type == "checkpoint", item.target_id.in_(checkpoints)), units)


def _count(condition):
    return func.sum(case((condition, 1), else_=0))


def _tally_communities(ctx: BoardContext):
    """Whose tally the viewer sees here: the town's (None) on the town's board for the dashboard's
    viewers; a community's (its grids' boards too) for them and for its secretary; else none (False)."""
    town_dashboard = can(ctx.user, "supervision_dashboard")
    if ctx.place.kind == "town":
        return None if town_dashboard else False
    if ctx.place.kind in ("community", "grid"):
        own = can(ctx.user, "community_dashboard") and ctx.place.community_id in scope_of(ctx.user).communities
        return [ctx.place.community_id] if town_dashboard or own else False
    return False


# Given when the statements run (see core.statements): the instant, and the midnights that start
# today and tomorrow in the town.
NOW, MIDNIGHT, TOMORROW = bindparam("now"), bindparam("midnight"), bindparam("tomorrow")


def _statements(mine):
    """The counts and the items to act on first, over the items `mine` selects."""
    item = RectificationItem
    clock = item.status.in_(CLOCK_STATES)
    overdue = and_(clock, item.due_at <= NOW)
    counts = select(
        _count(and_(overdue, item.escalation_level == 0)), _count(and_(overdue, item.escalation_level == 1)),
        _count(and_(overdue, item.escalation_level == 2)), _count(and_(clock, item.due_at > NOW,
                                                                       item.due_at < TOMORROW)),
        _count(item.issued_at >= MIDNIGHT)).where(mine)
    # The items to act on first: the overdue, most escalated first, then those due soonest.
    urgent = (select(item).options(joinedload(item.owner).lazyload(User.roles)).where(mine, clock)
              .order_by(case((item.due_at <= NOW, 0), else_=1), item.escalation_level.desc(), item.due_at, item.id)
              .limit(URGENT_LIMIT))
    return counts, urgent


def load(ctx: BoardContext) -> dict:
    mine = and_(item_clause(ctx.user), _in_place(ctx.place))
    counts, urgent = kept(("supervision.today", key_of(mine)), lambda: _statements(mine))
    values = {"now": ctx.now, "midnight": town_midnight(ctx.today),
              "tomorrow": town_midnight(ctx.today + timedelta(days=1))}
    level0, level1, level2, due_today, findings_today = (
        int(v or 0) for v in db.session.execute(counts, values).one())
    urgent = list(db.session.scalars(urgent, values))
    communities = _tally_communities(ctx)
    tally = period = None
    if communities is not False:
        period = ItemsPeriodForm.default_period(ctx.today)
        tally = services.tally(*period, communities=communities)
    return {
        "by_level": [(0, level0), (1, level1), (2, level2)], "overdue": level0 + level1 + level2,
        "due_today": due_today, "findings_today": findings_today, "urgent": urgent,
        "tally": tally, "period": period,
        "level_labels": services.LEVEL_LABELS,
        "dashboard": can(ctx.user, "supervision_dashboard") or can(ctx.user, "community_dashboard"),
        "inspections": can(ctx.user, "supervision_dashboard"),
    }


def shown(ctx: BoardContext) -> bool:
    return can(ctx.user, "view_supervision")


PANEL = Panel(name="supervision", title=_l("Supervision"), template="supervision/_today.html",
              order=40, shown=shown, load=load)
