"""Who may do what on which object: the only place that knows (CONVENTIONS.md).

`can(user, action, obj)` answers from the user's role assignments and the grid
hierarchy; `require()` is the view-side guard that refuses with 403 and audits it;
the `*_clause()` helpers give the same answer as SQL, for lists and searches.
"""
from dataclasses import dataclass, field

from flask import abort, g, has_request_context
from sqlalchemy import false, literal, or_, select, true, union_all

from gridapp.audit.services import record
from gridapp.extensions import db
from gridapp.grid.models import Community, Compound, Grid, Household, Town

# Actions not tied to one object.
GLOBAL_ACTIONS = {
    "manage_users": {"admin"},
    "view_audit": {"admin", "town_leader"},
    "manage_orgs": {"admin"},
    "view_jobs": {"admin"},
    "manage_webhooks": {"admin", "secretary"},
    "view_grid": {"admin", "town_leader", "supervisor", "secretary", "grid_member",
                  "building_head", "property_manager", "unit_contact"},
    # The cross-compound household search: the roles household_clause() gives rows to.
    "search_households": {"admin", "town_leader", "secretary", "grid_member", "building_head"},
}

# Rules for the objects of feature packages (duty, errands, …): each feature declares them in its
# own policy.py (ACTIONS, OBJECT_RULES, MACHINES) and create_app registers them here, so that
# can() stays the one question to ask.
_OBJECT_RULES: dict[type, object] = {}
_MACHINES: dict[type, object] = {}


def register_feature(rules) -> None:
    """A feature's policy module: ACTIONS (action -> roles), OBJECT_RULES (model ->
    rule(user, scope, action, obj) -> bool) and MACHINES (its transition tables)."""
    GLOBAL_ACTIONS.update({action: set(roles) for action, roles in getattr(rules, "ACTIONS", {}).items()})
    _OBJECT_RULES.update(getattr(rules, "OBJECT_RULES", {}))
    _MACHINES.update({machine.model: machine for machine in getattr(rules, "MACHINES", ())})


@dataclass
class Scope:
    """The places a user's roles reach, resolved once per request."""

    roles: set = field(default_factory=set)
    admin: bool = False
    town_wide: bool = False  # town leader and supervisors see every place
    communities: set = field(default_factory=set)  # as secretary
    volunteer_communities: set = field(default_factory=set)
    grids: set = field(default_factory=set)  # as grid member
    compounds: set = field(default_factory=set)  # as building head
    property_companies: set = field(default_factory=set)
    work_units: set = field(default_factory=set)
    # Ancestors of the places above, so members can navigate down to their own place.
    seen_communities: set = field(default_factory=set)
    seen_grids: set = field(default_factory=set)
    grid_communities: set = field(default_factory=set)  # the communities of the grids held as grid member


def scope_of(user) -> Scope:
    if user is None or not getattr(user, "is_authenticated", False):
        return Scope()
    cache = g.setdefault("_policy_scopes", {}) if has_request_context() else {}
    if user.id in cache:
        return cache[user.id]
    s = Scope()
    for ra in user.roles:
        s.roles.add(ra.role)
        if ra.role == "admin":
            s.admin = True
        elif ra.role in ("town_leader", "supervisor"):
            s.town_wide = True
        elif ra.role == "secretary":
            s.communities.add(ra.scope_id)
        elif ra.role == "volunteer":
            s.volunteer_communities.add(ra.scope_id)
        elif ra.role == "grid_member":
            s.grids.add(ra.scope_id)
        elif ra.role == "building_head":
            s.compounds.add(ra.scope_id)
        elif ra.role == "property_manager":
            s.property_companies.add(ra.scope_id)
        elif ra.role == "unit_contact":
            s.work_units.add(ra.scope_id)
    s.seen_communities |= s.communities
    # The grids and communities above the user's places, in one statement (none for roles
    # without places below a community).
    parts = []
    conds = [col.in_(ids) for col, ids in ((Compound.id, s.compounds),
                                           (Compound.property_company_id, s.property_companies),
                                           (Compound.work_unit_id, s.work_units)) if ids]
    if conds:
        parts.append(select(Compound.grid_id, Grid.community_id, literal(False))
                     .join(Grid, Grid.id == Compound.grid_id).where(or_(*conds)))
    if s.grids:
        parts.append(select(Grid.id, Grid.community_id, literal(True)).where(Grid.id.in_(s.grids)))
    if parts:
        rows = db.session.execute(parts[0] if len(parts) == 1 else union_all(*parts)).all()
        for grid_id, community_id, as_member in rows:
            s.seen_grids.add(grid_id)
            s.seen_communities.add(community_id)
            if as_member:
                s.grid_communities.add(community_id)
    cache[user.id] = s
    return s


def has_role(user, *roles) -> bool:
    return bool(scope_of(user).roles & set(roles))


def _in_charge(s: Scope, path: dict, grid_members: bool) -> bool:
    """Secretary of the community, or (if allowed) grid member of the grid."""
    if path.get("community") in s.communities:
        return True
    return grid_members and path.get("grid") in s.grids


def _can_view_place(s: Scope, obj, path: dict) -> bool:
    if s.admin or s.town_wide:
        return True
    if isinstance(obj, Town):
        return bool(s.roles)
    if isinstance(obj, Community):
        return obj.id in s.seen_communities
    if isinstance(obj, Grid):
        return obj.community_id in s.communities or obj.id in s.seen_grids
    if isinstance(obj, Compound):
        return (
            _in_charge(s, path, grid_members=True)
            or obj.id in s.compounds
            or obj.property_company_id in s.property_companies
            or obj.work_unit_id in s.work_units
        )
    return False


def _can_see_households(s: Scope, path: dict) -> bool:
    """Households carry personal data: only the staff in charge of them see them."""
    if s.admin or "town_leader" in s.roles:
        return True
    return _in_charge(s, path, grid_members=True) or path.get("compound") in s.compounds


def can(user, action: str, obj=None) -> bool:
    s = scope_of(user)
    if not s.roles:
        return False
    if obj is None:
        allowed = GLOBAL_ACTIONS.get(action)
        if allowed is None:
            raise ValueError(f"unknown action {action!r}")
        return bool(s.roles & allowed)

    rule = _OBJECT_RULES.get(type(obj))
    if rule is not None:
        return rule(user, s, action, obj)
    path = obj.path
    if action == "manage_webhooks":  # the group robots that hear a community's or grid's notices
        return isinstance(obj, (Community, Grid)) and (s.admin or _in_charge(s, path, grid_members=False))
    if action == "invite":  # the invitations of a community's accounts: its list and printable sheet
        return isinstance(obj, Community) and (s.admin or obj.id in s.communities)
    if isinstance(obj, Household):
        if action in ("view", "view_personal"):
            return _can_see_households(s, path)
        if action == "edit":
            return s.admin or _in_charge(s, path, grid_members=True)
        if action == "edit_people":  # register its people: also the building head of its compound
            return s.admin or _in_charge(s, path, grid_members=True) or path.get("compound") in s.compounds
        return False

    if action == "view":
        return _can_view_place(s, obj, path)
    if action == "view_households":  # the household list of a compound
        return isinstance(obj, Compound) and _can_see_households(s, path)
    if action == "edit":
        if isinstance(obj, Town):
            return s.admin
        return s.admin or _in_charge(s, path, grid_members=False)
    if action == "add_child":
        if isinstance(obj, Town):
            return s.admin
        # Grid members register households in their own grid; places above are the secretary's.
        return s.admin or _in_charge(s, path, grid_members=isinstance(obj, Compound))
    raise ValueError(f"unknown action {action!r} on {type(obj).__name__}")


def allowed(user, action: str, obj) -> bool:
    """What templates ask before drawing a button: for a transition of the object's state machine,
    that its state allows it and can() does; for any other action, can()."""
    machine = _MACHINES.get(type(obj))
    if machine is not None and action in machine.transitions:
        return machine.allowed(obj, action, user)
    return can(user, action, obj)


def require(user, action: str, obj=None) -> None:
    """Refuse with 403, and record the refusal, unless `can()` allows it."""
    if can(user, action, obj):
        return

    db.session.rollback()
    record("denied", obj, summary=action, actor=user if getattr(user, "is_authenticated", False) else None)
    db.session.commit()
    abort(403)


# --- the same rules as SQL, for lists -------------------------------------------------

def community_clause(user):
    s = scope_of(user)
    if s.admin or s.town_wide:
        return true()
    return Community.id.in_(s.seen_communities) if s.seen_communities else false()


def webhook_clauses(user):
    """The communities and grids whose group robots this user manages: can(user, "manage_webhooks",
    place) as SQL, a clause for Community and one for Grid; None when there are none."""
    s = scope_of(user)
    if s.admin:
        return true(), true()
    if not s.communities:
        return None
    return Community.id.in_(s.communities), Grid.community_id.in_(s.communities)


def invite_community_clause(user):
    """The communities whose accounts' invitations this user handles: can(user, "invite", community)
    as SQL on Community."""
    s = scope_of(user)
    if s.admin:
        return true()
    return Community.id.in_(s.communities) if s.communities else false()


def grid_clause(user):
    s = scope_of(user)
    if s.admin or s.town_wide:
        return true()
    conds = []
    if s.communities:
        conds.append(Grid.community_id.in_(s.communities))
    if s.seen_grids:
        conds.append(Grid.id.in_(s.seen_grids))
    return or_(*conds) if conds else false()


def compound_clause(user):
    """Needs Grid joined to Compound."""
    s = scope_of(user)
    if s.admin or s.town_wide:
        return true()
    conds = []
    if s.communities:
        conds.append(Grid.community_id.in_(s.communities))
    if s.grids:
        conds.append(Compound.grid_id.in_(s.grids))
    if s.compounds:
        conds.append(Compound.id.in_(s.compounds))
    if s.property_companies:
        conds.append(Compound.property_company_id.in_(s.property_companies))
    if s.work_units:
        conds.append(Compound.work_unit_id.in_(s.work_units))
    return or_(*conds) if conds else false()


def own_compound_clause(user):
    """The compounds a user answers for in person (grid member, building head, property
    manager, work-unit contact), not every compound their office can see."""
    s = scope_of(user)
    conds = []
    if s.grids:
        conds.append(Compound.grid_id.in_(s.grids))
    if s.compounds:
        conds.append(Compound.id.in_(s.compounds))
    if s.property_companies:
        conds.append(Compound.property_company_id.in_(s.property_companies))
    if s.work_units:
        conds.append(Compound.work_unit_id.in_(s.work_units))
    return or_(*conds) if conds else false()


def household_clause(user):
    """Needs Compound and Grid joined to Household."""
    s = scope_of(user)
    if s.admin or "town_leader" in s.roles:
        return true()
    return own_household_clause(user)


def own_household_clause(user):
    """The households of the user's own places: the secretary's communities, the grid member's
    grids, the building head's compounds (whatever else their roles see). Needs Compound and Grid
    joined to Household."""
    s = scope_of(user)
    conds = []
    if s.communities:
        conds.append(Grid.community_id.in_(s.communities))
    if s.grids:
        conds.append(Compound.grid_id.in_(s.grids))
    if s.compounds:
        conds.append(Compound.id.in_(s.compounds))  # the joined compound: rows of a compound's other tables too
    return or_(*conds) if conds else false()
