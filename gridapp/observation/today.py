"""The home-observation panel of the today board: people under observation, today's checks due now and
missed, fevers reported today and follow-ups still open, for the place. One statement."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, select

from gridapp import policy
from gridapp.extensions import db
from gridapp.grid.models import Compound, Grid
from gridapp.observation.models import FeverFollowUp, Observation, ObservationCheck
from gridapp.observation.services import ladder_delay
from gridapp.policy import can
from gridapp.timeutil import town_midnight
from gridapp.today.panels import BoardContext, Panel, in_grid_place


def load(ctx: BoardContext) -> dict:
    now, today = ctx.now, ctx.today

    def count(what, *where):
        # household_clause reads the joined compound and grid: the observation's stand for its household.
        return (select(func.count(what)).select_from(Observation)
                .join(Compound, Compound.id == Observation.compound_id).join(Grid, Grid.id == Compound.grid_id)
                .where(in_grid_place(ctx.place), policy.household_clause(ctx.user), *where).scalar_subquery())

    check = ObservationCheck
    late = now - ladder_delay(1)
    pending_today = and_(check.observation_id == Observation.id, check.day == today, check.status == "pending",
                         Observation.status == "active")
    row = db.session.execute(select(
        count(Observation.id, Observation.status == "active"),
        count(check.id, pending_today, check.due_at <= now, check.due_at > late),
        count(check.id, pending_today, check.due_at <= late),
        count(FeverFollowUp.id, FeverFollowUp.observation_id == Observation.id,
              FeverFollowUp.opened_at >= town_midnight(today)),
        count(FeverFollowUp.id, FeverFollowUp.observation_id == Observation.id, FeverFollowUp.closed_at.is_(None)),
    )).one()
    active, due, missed, fevers, open_followups = (int(v or 0) for v in row)
    return {"active": active, "due": due, "missed": missed, "fevers": fevers, "open": open_followups}


def shown(ctx: BoardContext) -> bool:
    return ctx.place.kind in ("town", "community", "grid") and can(ctx.user, "view_observation")


PANEL = Panel(name="observation", title=_l("Home observation"), template="observation/_today.html", order=50,
              shown=shown, load=load)
