"""Who may invite whom, registered with gridapp.policy so that can() answers it.

Administrators invite any account. A community secretary invites the accounts whose every role is
held within their own communities (on the community itself, on one of its grids or on one of its
compounds: its volunteers, grid members, building heads, secretaries), and at least one: an
account with no role, or with one anywhere else (a property company, a work unit, the town), is
the administrators'. The same answer as SQL sits beside the rule (invitable_clause), and
tests/core/test_policy_agreement.py keeps the two one. Which communities a user invites in
(their sheets and lists) is gridapp/policy.py's `invite` on a Community.
"""
from sqlalchemy import and_, false, not_, or_, select, true

from gridapp.auth.models import Invitation, RoleAssignment, User
from gridapp.extensions import db
from gridapp.grid.models import Compound, Grid
from gridapp.policy import scope_of

# Actions not tied to one object, and the roles that may take them.
ACTIONS = {
    "invite_users": {"admin", "secretary"},  # the invitations pages (then per community and account)
}


def role_community(ra: RoleAssignment) -> int | None:
    """The community a role is held within, or None for one held outside any (the town, a property
    company, a work unit, the system)."""
    if ra.scope_type == "community":
        return ra.scope_id
    if ra.scope_type == "grid":
        grid = db.session.get(Grid, ra.scope_id)
        return grid.community_id if grid is not None else None
    if ra.scope_type == "compound":
        compound = db.session.get(Compound, ra.scope_id)
        return compound.grid.community_id if compound is not None else None
    return None


def held_within(account: User, communities) -> bool:
    """The account holds at least one role, and every one within these communities."""
    return bool(account.roles) and all(role_community(ra) in communities for ra in account.roles)


def _account_rule(user, s, action, account) -> bool:
    if action == "invite":  # send, re-send or print an invitation for this account
        return s.admin or (bool(s.communities) and held_within(account, s.communities))
    raise ValueError(f"unknown action {action!r} on an account")


def _invitation_rule(user, s, action, invitation) -> bool:
    if action in ("view", "revoke"):
        return _account_rule(user, s, "invite", invitation.user)
    raise ValueError(f"unknown action {action!r} on an invitation")


# The rule of each model's objects, asked by can() (registered by create_app).
OBJECT_RULES = {User: _account_rule, Invitation: _invitation_rule}


# --- the same rules as SQL ----------------------------------------------------------------------

def within_clause(community_ids):
    """A RoleAssignment held within these communities (role_community as SQL)."""
    community_ids = list(community_ids)
    grids = select(Grid.id).where(Grid.community_id.in_(community_ids))
    compounds = select(Compound.id).join(Grid, Grid.id == Compound.grid_id).where(Grid.community_id.in_(community_ids))
    return or_(and_(RoleAssignment.scope_type == "community", RoleAssignment.scope_id.in_(community_ids)),
               and_(RoleAssignment.scope_type == "grid", RoleAssignment.scope_id.in_(grids)),
               and_(RoleAssignment.scope_type == "compound", RoleAssignment.scope_id.in_(compounds)))


def invitable_clause(user):
    """The accounts this user may invite: can(user, "invite", account) as SQL on User."""
    s = scope_of(user)
    if s.admin:
        return true()
    if not s.communities:
        return false()
    return and_(User.roles.any(), not_(User.roles.any(not_(within_clause(s.communities)))))


def member_of_clause(community_id: int):
    """The accounts holding at least one role within this community."""
    return User.roles.any(within_clause([community_id]))
