"""Who may do what in supervision, registered with gridapp.policy so can() answers it."""
from gridapp.policy import register_global_action, register_object_rules
from gridapp.supervision.models import Circular, Inspection, Interview, RectificationItem
from gridapp.timeutil import utcnow

# The people an item can be addressed to, and those above them: volunteers see nothing.
SUPERVISION_ROLES = {"admin", "town_leader", "supervisor", "secretary", "grid_member", "building_head",
                     "property_manager", "unit_contact"}

register_global_action("view_supervision", SUPERVISION_ROLES)
register_global_action("view_circulars", SUPERVISION_ROLES)
register_global_action("supervision_dashboard", {"admin", "town_leader", "supervisor"})
# A secretary's dashboard covers the items of the secretary's own communities.
register_global_action("community_dashboard", {"secretary"})
register_global_action("inspect", {"supervisor"})  # plan inspections, record findings
register_global_action("hold_interviews", {"supervisor"})
register_global_action("issue_circulars", {"supervisor"})


def _is_volunteer_only(s) -> bool:
    return not (s.roles & SUPERVISION_ROLES)


def _item_rule(user, s, action, item) -> bool:
    if _is_volunteer_only(s):
        return False
    supervisor = "supervisor" in s.roles
    owner = item.owner_id is not None and item.owner_id == user.id
    town_view = s.admin or s.town_wide
    if action == "view" or action == "comment":
        return town_view or owner or (item.community_id is not None and item.community_id in s.communities)
    if action in ("acknowledge", "submit"):
        return owner
    if action in ("verify", "reject"):
        # Never the person who submitted the evidence.
        return supervisor and item.submitted_by_id != user.id
    if action == "reassign":
        return supervisor
    if action == "extend":
        return "town_leader" in s.roles
    raise ValueError(f"unknown action {action!r} on a rectification item")


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


register_object_rules(RectificationItem, _item_rule)
register_object_rules(Inspection, _inspection_rule)
register_object_rules(Interview, _record_rule)
register_object_rules(Circular, _record_rule)
