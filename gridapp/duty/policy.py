"""Who may do what on the duty roster, registered with gridapp.policy so can() answers it.

Volunteers sign up for the shifts of the communities they serve. A checkpoint is managed (pattern,
roster, no-shows) by its community's secretary, the grid member of its compound's grid (for a
community-level checkpoint, the grid members of that community) and the contact of its work unit.
The town leader and supervisors see every roster.
"""
from sqlalchemy import and_, false, or_, select, true

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
    return _checkpoint_rule(user, s, action, shift.checkpoint)


def _signup_rule(user, s, action, signup: Signup) -> bool:
    own = signup.user_id == user.id
    if action in ("withdraw", "check_in", "check_out"):
        return own
    if action in ("remove", "mark_no_show"):
        return _manages(s, signup.shift.checkpoint)
    raise ValueError(f"unknown action {action!r} on a sign-up")


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
