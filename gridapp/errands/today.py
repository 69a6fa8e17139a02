"""The errands panel of the today board: errands waiting for a volunteer (urgent first, then the
oldest, with how long each has waited), claims with nothing bought yet, deliveries awaiting
confirmation, and what was filed and delivered today. Three statements."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, false, func, select, true
from sqlalchemy.orm import joinedload

from gridapp.auth.models import User
from gridapp.core.statements import kept, key_of
from gridapp.errands import policy
from gridapp.errands.models import Errand
from gridapp.errands.services import CATEGORY_LABELS
from gridapp.extensions import db
from gridapp.policy import can, scope_of
from gridapp.timeutil import town_midnight
from gridapp.today.panels import BoardContext, Panel

OPEN_LIMIT = 5
CLAIMED_LIMIT = 3


def _in_place(place):
    if place.kind == "town":
        return true()
    if place.kind == "community":
        return Errand.community_id == place.id
    if place.kind == "grid":
        return Errand.grid_id == place.id
    return false()


MIDNIGHT = bindparam("midnight")  # today's, in the town: given when the statements run


def _statements(mine):
    """The counts and the two lists over the errands `mine` selects (see core.statements)."""
    # Each count reads its own errands off an index (under way by status, filed and delivered since
    # midnight by time), not every errand the town ever had: one statement of six subqueries.
    def n(*condition):
        return select(func.count()).select_from(Errand).where(mine, *condition).scalar_subquery()

    counts = select(
        n(Errand.status == "open"), n(Errand.status == "open", Errand.urgent.is_(True)),
        n(Errand.status == "claimed"), n(Errand.status == "delivered"),
        n(Errand.filed_at >= MIDNIGHT), n(Errand.delivered_at >= MIDNIGHT))

    def listed(status, order, limit):
        return (select(Errand).options(joinedload(Errand.compound), joinedload(Errand.claimant).lazyload(User.roles))
                .where(mine, Errand.status == status).order_by(*order, Errand.id).limit(limit))

    return (counts, listed("open", (Errand.urgent.desc(), Errand.filed_at), OPEN_LIMIT),
            listed("claimed", (Errand.claimed_at,), CLAIMED_LIMIT))


def load(ctx: BoardContext) -> dict:
    mine = and_(policy.staff_clause(ctx.user, scope_of(ctx.user)), _in_place(ctx.place))
    counts, waiting, stalled = kept(("errands.today", key_of(mine)), lambda: _statements(mine))
    open_n, urgent_n, claimed_n, delivered_n, filed_today, delivered_today = (
        int(v or 0) for v in db.session.execute(counts, {"midnight": town_midnight(ctx.today)}).one())
    return {
        "open": open_n, "urgent": urgent_n, "claimed": claimed_n, "delivered": delivered_n,
        "filed_today": filed_today, "delivered_today": delivered_today,
        "waiting": list(db.session.scalars(waiting)), "stalled": list(db.session.scalars(stalled)),
        "category_labels": CATEGORY_LABELS,
        "stats": can(ctx.user, "errand_stats"),
    }


def shown(ctx: BoardContext) -> bool:
    return ctx.place.kind in ("town", "community", "grid") and can(ctx.user, "errand_lists")


PANEL = Panel(name="errands", title=_l("Errands"), template="errands/_today.html", order=30, shown=shown, load=load)
