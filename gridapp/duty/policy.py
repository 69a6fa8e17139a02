"""Who may do what on the duty roster, registered with gridapp.policy so can() answers it.

Volunteers sign up for the shifts of the communities they serve. A checkpoint is managed (pattern,
roster, no-shows) by its community's secretary, the grid member of its compound's grid (for a
community-level checkpoint, the grid members of that community) and the contact of its work unit.
The town leader and supervisors see every roster.
"""
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlalchemy import and_, false, or_, select, true

from gridapp.core.rules import Machine, Transition
from gridapp.duty.models import Checkpoint, Shift, Signup
from gridapp.grid.models import Community, Compound
from gridapp.policy import scope_of

# Actions not tied to one object, and the roles that may take them.
ACTIONS = {
    "view_duty": {"admin", "town_leader", "supervisor", "secretary", "grid_member", "volunteer", "unit_contact"},
    "sign_up_duty": {"volunteer"},
    "view_roster": {"admin", "town_leader", "supervisor", "secretary", "grid_member", "unit_contact"},
    "add_checkpoint": {"admin", "secretary"},
}


def grid_member_communities(s) -> set:
    """The communities of a grid member's grids (scope_of looks them up with the user's other places)."""
    return s.grid_communities


def _manages(s, cp: Checkpoint) -> bool:
    if s.admin or cp.community_id in s.communities:
        return True
    if cp.work_unit_id is not None and cp.work_unit_id in s.work_units:
        return True
    if cp.compound_id is not None:
        return cp.compound.grid_id in s.grids
    return cp.community_id in grid_member_communities(s)


def _checkpoint_rule(user, s, action, cp: Checkpoint) -> bool:
    if action == "manage":
        return _manages(s, cp)
    if action == "view":
        return s.town_wide or cp.community_id in s.volunteer_communities or _manages(s, cp)
    if action == "sign_up":
        return cp.community_id in s.volunteer_communities
    if action == "edit_details":  # name, kind, place, work unit: the community's office
        return s.admin or cp.community_id in s.communities
    raise ValueError(f"unknown action {action!r} on a checkpoint")


def _shift_rule(user, s, action, shift: Shift) -> bool:
    if action in SHIFT.transitions:
        return SHIFT[action].who(user, s, shift)
    return _checkpoint_rule(user, s, action, shift.checkpoint)


def _signup_rule(user, s, action, signup: Signup) -> bool:
    if action in SIGNUP.transitions:
        return SIGNUP[action].who(user, s, signup)
    raise ValueError(f"unknown action {action!r} on a sign-up")


# --- the state machines of a sign-up and of a shift -------------------------------------------

# A sign-up's states, as people read them.
STATUS_LABELS = {
    "signed_up": _l("Signed up"), "checked_in": _l("On duty"), "checked_out": _l("Served"),
    "withdrawn": _l("Withdrawn"), "removed": _l("Removed"), "no_show": _l("No-show"),
    "cancelled": _l("Shift cancelled"),
}
SHIFT_LABELS = {"open": lazy_pgettext("shift status", "Open"), "cancelled": _l("Cancelled")}
CHECK_IN_EARLY = timedelta(minutes=30)


def cutoff() -> timedelta:
    """Volunteers withdraw themselves until this long before the shift; then staff take them off."""
    return timedelta(hours=float(current_app.config.get("DUTY_WITHDRAW_CUTOFF_HOURS", 12)))


def cutoff_hours() -> int:
    """cutoff() in whole hours, as the pages say it."""
    return int(cutoff().total_seconds() // 3600)


def withdrawal_closes_at(shift):
    """When a volunteer can no longer withdraw from this shift themselves."""
    return shift.starts_at - cutoff()


def withdrawal_open(shift, now) -> bool:
    """Whether a volunteer may still withdraw from this shift themselves (cutoff() before its start)."""
    return withdrawal_closes_at(shift) > now


def _shift_of(shift_condition):
    """A sign-up whose shift meets the condition (SQL, for the UPDATE of a sign-up)."""
    return Signup.shift_id.in_(select(Shift.id).where(shift_condition))


def _own(user, s, signup) -> bool:
    return signup.user_id == user.id


def _manager(user, s, obj) -> bool:
    return _manages(s, (obj.shift if isinstance(obj, Signup) else obj).checkpoint)


_ALREADY = _l("This sign-up is already %(status)s.")

# For each action: the states it starts from, where it leads, who may take it, the refusal, and
# the time window it is open in (in Python for the buttons, as SQL for the UPDATE).
SIGNUP = Machine(Signup, STATUS_LABELS, {
    "withdraw": Transition(("signed_up",), "withdrawn", _own, _ALREADY,
                           when=lambda su, now: withdrawal_open(su.shift, now),
                           when_sql=lambda now: _shift_of(Shift.starts_at > now + cutoff())),
    "check_in": Transition(("signed_up",), "checked_in", _own, _ALREADY,
                           when=lambda su, now: su.shift.starts_at - CHECK_IN_EARLY <= now < su.shift.ends_at,
                           when_sql=lambda now: _shift_of(and_(Shift.starts_at <= now + CHECK_IN_EARLY,
                                                               Shift.ends_at > now))),
    "check_out": Transition(("checked_in",), "checked_out", _own, _ALREADY),
    "remove": Transition(("signed_up",), "removed", _manager, _ALREADY,
                         when=lambda su, now: su.shift.ends_at > now,
                         when_sql=lambda now: _shift_of(Shift.ends_at > now)),
    "mark_no_show": Transition(("signed_up",), "no_show", _manager, _ALREADY,
                               when=lambda su, now: su.shift.ends_at <= now,
                               when_sql=lambda now: _shift_of(Shift.ends_at <= now)),
})
SHIFT = Machine(Shift, SHIFT_LABELS, {
    # Staff call off a shift that has not started.
    "cancel": Transition(("open",), "cancelled", _manager, _l("This shift has already been cancelled."),
                         when=lambda shift, now: shift.starts_at > now,
                         when_sql=lambda now: Shift.starts_at > now),
})
MACHINES = (SIGNUP, SHIFT)


# The rule of each model's objects, asked by can() (registered by create_app).
OBJECT_RULES = {Checkpoint: _checkpoint_rule, Shift: _shift_rule, Signup: _signup_rule}


def can_add_checkpoint_to(user, community) -> bool:
    s = scope_of(user)
    return s.admin or community.id in s.communities


def addable_communities(user):
    """The communities this user may add checkpoints to (a clause for Community.id)."""
    s = scope_of(user)
    if s.admin:
        return select(Community.id)
    return select(Community.id).where(Community.id.in_(s.communities))


# --- the same rules as SQL (needs Compound outer-joined to Checkpoint) ---------------------------

def managed_clause(user):
    s = scope_of(user)
    if s.admin:
        return true()
    conds = []
    if s.communities:
        conds.append(Checkpoint.community_id.in_(s.communities))
    if s.work_units:
        conds.append(Checkpoint.work_unit_id.in_(s.work_units))
    if s.grids:
        conds.append(Compound.grid_id.in_(s.grids))
        communities = grid_member_communities(s)
        if communities:
            conds.append(and_(Checkpoint.compound_id.is_(None), Checkpoint.community_id.in_(communities)))
    return or_(*conds) if conds else false()


def roster_clause(user):
    """The checkpoints whose roster this user sees."""
    s = scope_of(user)
    if s.admin or s.town_wide:
        return true()
    return managed_clause(user)
