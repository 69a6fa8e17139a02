"""Who may do what in supervision, and when: the rectification item's transition table (ITEM),
the rules can() asks, and the same rules as SQL for lists. Registered by create_app."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_

from gridapp.core.rules import Machine, Transition
from gridapp.policy import scope_of
from gridapp.supervision.models import CLOCK_STATES, Circular, Inspection, Interview, RectificationItem
from gridapp.timeutil import utcnow

# The item's states, as people read them.
STATUS_LABELS = {
    "issued": _l("Issued"),
    "acknowledged": _l("Acknowledged"),
    "submitted": _l("Evidence submitted"),
    "verified": _l("Verified"),
    "rejected": _l("Rejected"),
}
# The people an item can be addressed to, and those above them: volunteers see nothing.
SUPERVISION_ROLES = {"admin", "town_leader", "supervisor", "secretary", "grid_member", "building_head",
                     "property_manager", "unit_contact"}

# Actions not tied to one object, and the roles that may take them.
ACTIONS = {
    "view_supervision": SUPERVISION_ROLES,
    "view_circulars": SUPERVISION_ROLES,
    "supervision_dashboard": {"admin", "town_leader", "supervisor"},
    "community_dashboard": {"secretary"},  # the items of the secretary's own communities
    "inspect": {"supervisor"},  # plan inspections, record findings
    "hold_interviews": {"supervisor"},
    "issue_circulars": {"supervisor"},
}


def _is_volunteer_only(s) -> bool:
    return not (s.roles & SUPERVISION_ROLES)


# --- the rectification item's state machine: when, who, and what a refusal says ---------------

def _owner(user, s, item) -> bool:
    return item.owner_id is not None and item.owner_id == user.id


def _checker(user, s, item) -> bool:
    """A supervisor, never the person who submitted the evidence."""
    return "supervisor" in s.roles and item.submitted_by_id != user.id


ITEM = Machine(RectificationItem, STATUS_LABELS, {
    "acknowledge": Transition(("issued",), "acknowledged", _owner, _l(
        "Only an issued item can be acknowledged; this one is “%(status)s”.")),
    # A rejected item goes straight back to work: its owner submits new evidence without acknowledging
    # it a second time (they acknowledged it once, and the rejection told them why).
    "submit": Transition(("acknowledged", "rejected"), "submitted", _owner, _l(
        "Evidence can be submitted only for an acknowledged or rejected item; this one is “%(status)s”.")),
    "verify": Transition(("submitted",), "verified", _checker, _l(
        "Only an item with evidence submitted can be verified; this one is “%(status)s”.")),
    "reject": Transition(("submitted",), "rejected", _checker, _l(
        "Only an item with evidence submitted can be rejected; this one is “%(status)s”.")),
    # The town leader moves the due time of an item whose clock runs; the state stays.
    "extend": Transition(CLOCK_STATES, None, lambda user, s, item: "town_leader" in s.roles, _l(
        "The due time of an item that is “%(status)s” cannot be changed.")),
    "reassign": Transition(("issued", "acknowledged", "submitted", "rejected"), None,
                           lambda user, s, item: "supervisor" in s.roles, _l(
        "The responsible person of an item that is “%(status)s” cannot be changed.")),
})


def _item_rule(user, s, action, item) -> bool:
    if _is_volunteer_only(s):
        return False
    if action in ITEM.transitions:
        return ITEM[action].who(user, s, item)
    if action == "view" or action == "comment":
        return (s.admin or s.town_wide or _owner(user, s, item)
                or (item.community_id is not None and item.community_id in s.communities))
    raise ValueError(f"unknown action {action!r} on a rectification item")


def item_clause(user):
    """The items this user may see, as SQL: the 'view' rule above, for lists."""
    s = scope_of(user)
    if s.admin or s.town_wide:
        return RectificationItem.id.isnot(None)
    conds = [RectificationItem.owner_id == user.id]
    if s.communities:
        conds.append(RectificationItem.community_id.in_(s.communities))
    return or_(*conds)


def inspection_visible(s, inspection, now=None) -> bool:
    """Unannounced inspections stay within the team until they have taken place."""
    if "supervisor" in s.roles:
        return True
    if inspection.kind == "unannounced" and inspection.planned_at > (now or utcnow()):
        return False
    return s.admin or s.town_wide


def _inspection_rule(user, s, action, inspection) -> bool:
    if action == "view":
        return inspection_visible(s, inspection)
    if action == "add_finding":
        return "supervisor" in s.roles
    raise ValueError(f"unknown action {action!r} on an inspection")


def _record_rule(user, s, action, obj) -> bool:
    if action == "view":
        if isinstance(obj, Circular):
            return bool(s.roles & SUPERVISION_ROLES)
        return s.admin or s.town_wide
    raise ValueError(f"unknown action {action!r} on {type(obj).__name__}")


# The rule of each model's objects, asked by can() (registered by create_app).
OBJECT_RULES = {RectificationItem: _item_rule, Inspection: _inspection_rule, Interview: _record_rule,
                Circular: _record_rule}
MACHINES = (ITEM,)
