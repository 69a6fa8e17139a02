"""The duty panel of the today board: checkpoints short of people right now (who is on them and, for
those who manage them, their phones), gaps in the next 24 hours, today's no-shows. Four statements."""
from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, case, false, func, or_, select, true
from sqlalchemy.orm import contains_eager, joinedload

from gridapp.auth.models import User
from gridapp.core.statements import kept, key_of
from gridapp.duty import policy, services
from gridapp.duty.models import Checkpoint, Shift, Signup
from gridapp.extensions import db
from gridapp.grid.models import Compound
from gridapp.policy import can
from gridapp.today.panels import BoardContext, Panel

NOW_LIMIT = 5  # checkpoints short right now, the emptiest first (the count covers them all)
SOON_LIMIT = 3  # the first gaps of the next 24 hours
ON_DUTY = ("signed_up", "checked_in")


def _in_place(place):
    """The checkpoints of the place (needs Compound outer-joined to Checkpoint). A grid has the
    checkpoints of its compounds and those of its community's own (the grid members staff them)."""
    if place.kind == "town":
        return true()
    if place.kind == "community":
        return Checkpoint.community_id == place.id
    if place.kind == "grid":
        return or_(Compound.grid_id == place.id,
                   and_(Checkpoint.compound_id.is_(None), Checkpoint.community_id == place.community_id))
    if place.kind == "unit":
        return Checkpoint.work_unit_id == place.id
    return false()


# Given when the statements run (see core.statements).
NOW, EARLIEST = bindparam("now"), bindparam("earliest")  # earliest: the start of the longest shift on now
DAY_AHEAD, TODAY = bindparam("day_ahead"), bindparam("today")
SHIFT_IDS = bindparam("shift_ids", expanding=True)


def _statements(mine):
    """The panel's four statements over the checkpoints `mine` selects (needs Compound outer-joined
    to Checkpoint): the shifts short now, who is on them, the gaps of the next 24 hours, today's
    no-shows and unconfirmed sign-ups."""

    def shifts(*where):
        # Open shifts below their minimum, with how many there are in all beside each row (one
        # statement however many are listed).
        return (select(Shift, func.count().over().label("total"))
                .join(Checkpoint, Checkpoint.id == Shift.checkpoint_id)
                .outerjoin(Compound, Compound.id == Checkpoint.compound_id)
                .options(contains_eager(Shift.checkpoint).contains_eager(Checkpoint.compound))  # can() reads them
                .where(mine, Shift.status == "open", Shift.filled < Shift.min_people, *where))

    short_now = (shifts(services.going_on(NOW, EARLIEST)).order_by(Shift.filled, Checkpoint.name, Shift.id)
                 .limit(NOW_LIMIT))
    # Who is on those shifts now (signed up or checked in): always asked, so that the number of
    # statements does not depend on whether anything is short.
    people = (select(Signup).options(joinedload(Signup.user).lazyload(User.roles))
              .where(Signup.shift_id.in_(SHIFT_IDS), Signup.status.in_(ON_DUTY)).order_by(Signup.signed_up_at))
    soon = (shifts(Shift.starts_at > NOW, Shift.starts_at <= DAY_AHEAD)
            .order_by(Shift.starts_at, Checkpoint.name, Shift.id).limit(SOON_LIMIT))
    missing = (select(func.sum(case((Signup.status == "no_show", 1), else_=0)),
                      func.sum(case((and_(Signup.status == "signed_up", Shift.ends_at <= NOW), 1), else_=0)))
               .select_from(Signup).join(Shift, Shift.id == Signup.shift_id)
               .join(Checkpoint, Checkpoint.id == Shift.checkpoint_id)
               .outerjoin(Compound, Compound.id == Checkpoint.compound_id)
               .where(mine, Shift.day == TODAY, Signup.status.in_(("no_show", "signed_up"))))
    return short_now, people, soon, missing


def load(ctx: BoardContext) -> dict:
    now = ctx.now
    mine = and_(policy.roster_clause(ctx.user), _in_place(ctx.place))
    short_stmt, people_stmt, soon_stmt, missing_stmt = kept(("duty.today", key_of(mine)), lambda: _statements(mine))
    values = {"now": now, "earliest": now - services.LONGEST_SHIFT, "day_ahead": now + timedelta(hours=24),
              "today": ctx.today}
    rows = db.session.execute(short_stmt, values).all()
    short_now = [r[0] for r in rows]
    people: dict[int, list] = {}
    for signup in db.session.scalars(people_stmt, {"shift_ids": [s.id for s in short_now]}):
        people.setdefault(signup.shift_id, []).append(signup)
    soon = db.session.execute(soon_stmt, values).all()
    no_show, unconfirmed = db.session.execute(missing_stmt, values).one()
    return {
        "short_now": [(shift, people.get(shift.id, []), can(ctx.user, "manage", shift.checkpoint))
                      for shift in short_now],
        "short_now_total": rows[0].total if rows else 0,
        "soon": [(r[0], can(ctx.user, "manage", r[0].checkpoint)) for r in soon],
        "soon_total": soon[0].total if soon else 0,
        "no_shows": int(no_show or 0),
        "unconfirmed": int(unconfirmed or 0),
        "status_labels": policy.STATUS_LABELS,
    }


def shown(ctx: BoardContext) -> bool:
    return ctx.place.kind in ("town", "community", "grid", "unit") and can(ctx.user, "view_roster")


PANEL = Panel(name="duty", title=_l("Duty now"), template="duty/_today.html", order=10, shown=shown, load=load)
