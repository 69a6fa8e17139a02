"""Who may do what with errands, and when: the errand's transition table (ERRAND), the rules
can() asks (registered by create_app), and the same rules as SQL for lists and the filing picker.

Staff in charge of an errand: the admin, the town leader, the secretary of its community, the
grid member of its grid, the building head of its compound, and whoever filed it. Volunteers
of its community see it while it is open; only the current claimant sees the household's
address and phone, and only until seven days (ERRANDS_CONTACT_DAYS) after the errand was confirmed.
"""
from datetime import timedelta

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlalchemy import false, or_, true

from gridapp.core.rules import Machine, Transition
from gridapp.errands.models import Errand
from gridapp.policy import own_household_clause, scope_of
from gridapp.timeutil import utcnow

# An errand's states, as people read them.
STATUS_LABELS = {
    "open": lazy_pgettext("errand status", "Open"),
    "claimed": _l("Claimed"),
    "purchased": _l("Purchased"),
    "delivered": _l("Delivered"),
    "confirmed": _l("Confirmed"),
    "cancelled": _l("Cancelled"),
}
STAFF_ROLES = {"admin", "town_leader", "secretary", "grid_member", "building_head"}
# The ERRANDS_* settings and their defaults (gridapp/config.py reads them from the environment).
DEFAULTS = {"ERRANDS_MAX_ACTIVE_CLAIMS": 3, "ERRANDS_CLAIM_MINUTES": 120, "ERRANDS_URGENT_CLAIM_MINUTES": 30,
            "ERRANDS_URGENT_ALERT_MINUTES": 15, "ERRANDS_UNCONFIRMED_REMINDER_HOURS": 24,
            "ERRANDS_CONTACT_DAYS": 7}


def setting(name: str) -> int:
    value = current_app.config.get(name) if has_app_context() else None
    return int(value) if value not in (None, "") else DEFAULTS[name]


def contact_window() -> timedelta:
    """How long after confirmation the claimant still sees the household's address and phone."""
    return timedelta(days=setting("ERRANDS_CONTACT_DAYS"))

# Actions not tied to one object, and the roles that may take them.
ACTIONS = {
    "view_errands": STAFF_ROLES | {"volunteer"},
    "use_errand_board": {"volunteer"},
    "file_errands": {"secretary", "grid_member", "building_head"},
    "errand_lists": STAFF_ROLES,
    "errand_stats": {"admin", "town_leader", "secretary"},
}


def in_charge(user, s, errand) -> bool:
    """Staff of the errand's place, or the one who filed it."""
    return (s.admin or "town_leader" in s.roles or errand.community_id in s.communities
            or errand.grid_id in s.grids or errand.compound_id in s.compounds
            or errand.filed_by_id == user.id)


def may_file_for(s, household) -> bool:
    """A household in the filer's own place (the place's path, resolved by the grid)."""
    path = household.path
    return (path["community"] in s.communities or path["grid"] in s.grids
            or path["compound"] in s.compounds)


def _claimant_with_contact(user, errand, now) -> bool:
    if errand.claimant_id != user.id:
        return False
    if errand.status in ("claimed", "purchased", "delivered"):
        return True
    return (errand.status == "confirmed" and errand.confirmed_at is not None
            and now - errand.confirmed_at < contact_window())


def _volunteer_here(user, s, errand) -> bool:
    return errand.community_id in s.volunteer_communities


def _claimant(user, s, errand) -> bool:
    return errand.claimant_id == user.id


def _staff(user, s, errand) -> bool:
    return in_charge(user, s, errand)


# The errand's state machine: for each action, the states it starts from, where it leads, who may
# take it, and what a person reads when the state no longer allows it.
ERRAND = Machine(Errand, STATUS_LABELS, {
    "claim": Transition(("open",), "claimed", _volunteer_here, _l(
        "Only an open errand can be claimed; it is “%(status)s”.")),
    "release": Transition(("claimed",), "open", _claimant, _l(
        "Only an errand you have claimed and not yet bought can be released; it is “%(status)s”.")),
    "purchase": Transition(("claimed",), "purchased", _claimant, _l(
        "Only a claimed errand can be marked bought; it is “%(status)s”.")),
    "deliver": Transition(("purchased",), "delivered", _claimant, _l(
        "Only a bought errand can be marked delivered; it is “%(status)s”.")),
    "confirm": Transition(("delivered",), "confirmed", _staff, _l(
        "Only a delivered errand can be confirmed; it is “%(status)s”.")),
    "cancel": Transition(("open", "claimed"), "cancelled", _staff, _l(
        "Only an open or claimed errand can be cancelled; it is “%(status)s”.")),
})
MACHINES = (ERRAND,)


def _errand_rule(user, s, action, errand, now=None) -> bool:
    if action in ERRAND.transitions:
        return ERRAND[action].who(user, s, errand)
    now = now or utcnow()
    staff = in_charge(user, s, errand)
    if action == "view":
        return (staff or errand.claimant_id == user.id
                or (_volunteer_here(user, s, errand) and errand.status == "open"))
    if action == "view_contact" and errand.household_id is None:  # erased by the retention purge
        return False
    if action in ("view_contact", "view_photos"):
        return staff or _claimant_with_contact(user, errand, now)
    if action == "staff_view":  # the timeline and who saw the details: staff only
        return staff
    raise ValueError(f"unknown action {action!r} on an errand")


# The rule of each model's objects, asked by can() (registered by create_app).
OBJECT_RULES = {Errand: _errand_rule}


def staff_clause(user, s):
    """The errands this user is in charge of: in_charge() above, as SQL, for lists."""
    if s.admin or "town_leader" in s.roles:
        return true()
    conds = [Errand.filed_by_id == user.id]
    if s.communities:
        conds.append(Errand.community_id.in_(s.communities))
    if s.grids:
        conds.append(Errand.grid_id.in_(s.grids))
    if s.compounds:
        conds.append(Errand.compound_id.in_(s.compounds))
    return or_(*conds) if conds else false()


def filing_clause(user):
    """The households a user may file for: may_file_for() above, as SQL (Household, Compound and
    Grid joined): those of their own places. None when they have none."""
    s = scope_of(user)
    if not (s.communities or s.grids or s.compounds):
        return None
    return own_household_clause(user)
