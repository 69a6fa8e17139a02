"""Who may do what with disinfection points, registered with gridapp.policy so can() answers it.

The responsible party of a point is the property company of its compound, else the community
(its secretary, and the grid member of the compound's grid).
"""
from sqlalchemy import and_, false, or_, true

from gridapp.disinfection.models import DisinfectionPoint
from gridapp.grid.models import Compound
from gridapp.policy import scope_of

# Actions not tied to one object, and the roles that may take them.
ACTIONS = {
    "tick_rounds": {"property_manager", "secretary", "grid_member"},
    "view_disinfection_board": {"admin", "town_leader", "supervisor", "secretary", "grid_member", "property_manager"},
    "view_disinfection": {"admin", "town_leader", "supervisor", "secretary", "grid_member", "property_manager"},
}


def company_of(point: DisinfectionPoint):
    return point.compound.property_company_id if point.compound is not None else None


def _community_run_by(s, point) -> bool:
    """The community answers for it (no property company): its secretary, its grid member."""
    if company_of(point) is not None:
        return False
    if point.community_id in s.communities:
        return True
    return point.compound is not None and point.compound.grid_id in s.grids


def _point_rule(user, s, action, point) -> bool:
    company = company_of(point)
    responsible = (company is not None and company in s.property_companies) or _community_run_by(s, point)
    if action == "tick":
        return responsible
    if action == "view":
        return (s.admin or s.town_wide or responsible or point.community_id in s.communities
                or (point.compound is not None and point.compound_id in s.compounds))
    if action == "view_photo":  # a round's photo: who answers for the point, and staff over its place
        return (s.admin or s.town_wide or responsible or point.community_id in s.communities
                or (point.compound is not None and (point.compound_id in s.compounds
                                                    or point.compound.grid_id in s.grids)))
    if action == "manage":  # edit windows, switch on/off, print QR codes
        return s.admin or point.community_id in s.communities or (company is not None
                                                                  and company in s.property_companies)
    raise ValueError(f"unknown action {action!r} on a disinfection point")


# The rule of each model's objects, asked by can() (registered by create_app).
OBJECT_RULES = {DisinfectionPoint: _point_rule}


def can_manage_compound_points(user, compound) -> bool:
    """Add points to a compound and print its QR sheet."""
    s = scope_of(user)
    return (s.admin or compound.grid.community_id in s.communities
            or (compound.property_company_id is not None and compound.property_company_id in s.property_companies))


def can_set_risk(user, compound) -> bool:
    s = scope_of(user)
    return s.admin or "town_leader" in s.roles or compound.grid.community_id in s.communities


def can_manage_community_places(user, community) -> bool:
    s = scope_of(user)
    return s.admin or community.id in s.communities


# --- the same rules as SQL (needs Compound outer-joined to DisinfectionPoint) -------------------

def responsible_clause(user, community_id=DisinfectionPoint.community_id, compound_id=DisinfectionPoint.compound_id,
                       *, communities: bool = True):
    """The points this user ticks: the "today" page. The two columns may be another table's that
    carries a point's community and compound (the day tallies). communities=False leaves out the
    community-run points of the user's communities (for a caller that takes those communities whole)."""
    s = scope_of(user)
    conds = []
    if s.property_companies:
        conds.append(Compound.property_company_id.in_(s.property_companies))
    community_run = or_(compound_id.is_(None), Compound.property_company_id.is_(None))
    if s.communities and communities:
        conds.append(and_(community_run, community_id.in_(s.communities)))
    if s.grids:
        conds.append(and_(Compound.property_company_id.is_(None), Compound.grid_id.in_(s.grids)))
    return or_(*conds) if conds else false()


def sees_every_point(user) -> bool:
    """Whether this user sees every point of the town on boards and exports."""
    s = scope_of(user)
    return s.admin or s.town_wide


def visible_clause(user, community_id=DisinfectionPoint.community_id, compound_id=DisinfectionPoint.compound_id):
    """The points this user sees on boards and exports (columns as in responsible_clause)."""
    if sees_every_point(user):
        return true()
    s = scope_of(user)
    # A community is seen whole, its community-run points (which the user ticks) among them: one
    # condition on the community column, which an index can answer, instead of two.
    conds = [responsible_clause(user, community_id, compound_id, communities=False)]
    if s.communities:
        conds.append(community_id.in_(s.communities))
    if s.compounds:
        conds.append(compound_id.in_(s.compounds))
    return or_(*conds)
