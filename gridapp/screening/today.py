"""The screening panel of the today board: the campaigns running over the place, each with its
coverage there as the viewer sees it (visited of all, not visited yet, nobody home, returnees found).
One statement, over the campaigns' tallies (a row per compound)."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, func, select, true

from gridapp.core.statements import kept, key_of
from gridapp.extensions import db
from gridapp.grid.models import Compound, Grid
from gridapp.policy import can, own_household_clause, scope_of
from gridapp.screening.models import ScreeningCampaign, ScreeningTally
from gridapp.screening.policy import sees_all
from gridapp.screening.services import counts_of, tally_columns
from gridapp.today.panels import BoardContext, Panel, in_grid_place

SHOWN = 3  # campaigns on the board, the soonest to end first


TODAY = bindparam("today")  # given when the statement runs (see core.statements)


def _statement(where):
    """The campaigns running today with their coverage over the compounds `where` selects (on
    Compound and Grid; None: every compound, read off the tallies alone)."""
    t = ScreeningTally
    stmt = (select(ScreeningCampaign.id, ScreeningCampaign.name, ScreeningCampaign.ends_on, *tally_columns(),
                   func.count().over())
            .select_from(t).join(ScreeningCampaign, ScreeningCampaign.id == t.campaign_id)
            .where(ScreeningCampaign.status == "open", ScreeningCampaign.starts_on <= TODAY))
    if where is not None:
        stmt = stmt.join(Compound, Compound.id == t.compound_id).join(Grid, Grid.id == Compound.grid_id).where(where)
    return (stmt.group_by(ScreeningCampaign.id, ScreeningCampaign.name, ScreeningCampaign.ends_on)
            .order_by(ScreeningCampaign.ends_on, ScreeningCampaign.id).limit(SHOWN))


def load(ctx: BoardContext) -> dict:
    everyone = sees_all(scope_of(ctx.user))
    # The whole town to a viewer who sees every household: the tallies alone.
    where = None
    if not (ctx.place.kind == "town" and everyone):
        where = and_(true() if everyone else own_household_clause(ctx.user), in_grid_place(ctx.place))
    stmt = kept(("screening.today", key_of(where)), lambda: _statement(where))
    rows = db.session.execute(stmt, {"today": ctx.today}).all()
    campaigns = [{"id": r[0], "name": r[1], "ends_on": r[2], "counts": counts_of(r[3:9])} for r in rows]
    return {"campaigns": campaigns, "more": max(0, rows[0][9] - SHOWN) if rows else 0}


def shown(ctx: BoardContext) -> bool:
    return ctx.place.kind in ("town", "community", "grid") and can(ctx.user, "view_screening")


PANEL = Panel(name="screening", title=_l("Screening"), template="screening/_today.html", order=35, shown=shown,
              load=load)
