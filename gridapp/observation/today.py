"""The home-observation panel of the today board: people under observation, today's checks due now and
missed, fevers reported today and follow-ups still open, for the place. One statement."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, func, select

from gridapp import policy
from gridapp.core.statements import kept, key_of
from gridapp.extensions import db
from gridapp.grid.models import Compound, Grid
from gridapp.observation.models import FeverFollowUp, Observation, ObservationCheck
from gridapp.observation.services import ladder_delay
from gridapp.policy import can
from gridapp.timeutil import town_midnight
from gridapp.today.panels import BoardContext, Panel, in_grid_place

# Given when the statement runs (see core.statements): the instant, the instant a check due then
# became late, today and its midnight in the town.
NOW, LATE, TODAY, MIDNIGHT = bindparam("now"), bindparam("late"), bindparam("today"), bindparam("midnight")


def _statement(mine):
    """The panel's counts over the observations `mine` selects (it reads the joined compound and
    grid: the observation's stand for its household)."""

    def count(what, *where):
        return (select(func.count(what)).select_from(Observation)
                .join(Compound, Compound.id == Observation.compound_id).join(Grid, Grid.id == Compound.grid_id)
                .where(mine, *where).scalar_subquery())

    check = ObservationCheck
    pending_today = and_(check.observation_id == Observation.id, check.day == TODAY, check.status == "pending",
                         Observation.status == "active")
    return select(
        count(Observation.id, Observation.status == "active"),
        count(check.id, pending_today, check.due_at <= NOW, check.due_at > LATE),
        count(check.id, pending_today, check.due_at <= LATE),
        count(FeverFollowUp.id, FeverFollowUp.observation_id == Observation.id, FeverFollowUp.opened_at >= MIDNIGHT),
        count(FeverFollowUp.id, FeverFollowUp.observation_id == Observation.id, FeverFollowUp.closed_at.is_(None)),
    )


def load(ctx: BoardContext) -> dict:
    mine = and_(in_grid_place(ctx.place), policy.household_clause(ctx.user))
    stmt = kept(("observation.today", key_of(mine)), lambda: _statement(mine))
    row = db.session.execute(stmt, {"now": ctx.now, "late": ctx.now - ladder_delay(1), "today": ctx.today,
                                    "midnight": town_midnight(ctx.today)}).one()
    active, due, missed, fevers, open_followups = (int(v or 0) for v in row)
    return {"active": active, "due": due, "missed": missed, "fevers": fevers, "open": open_followups}


def shown(ctx: BoardContext) -> bool:
    return ctx.place.kind in ("town", "community", "grid") and can(ctx.user, "view_observation")


PANEL = Panel(name="observation", title=_l("Home observation"), template="observation/_today.html", order=50,
              shown=shown, load=load)
