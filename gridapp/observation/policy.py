"""Who may do what with home observation, registered with gridapp.policy so can() answers it.

The staff of a person's household (its compound's building head, its grid's member, its community's
secretary) start, extend and end observations and send the personal link; the building head and the
grid member record the checks; the grid member, the secretary and the town leader close fever
follow-ups; whoever sees the household sees its observation."""
from flask_babel import lazy_gettext as _l

from gridapp.core.rules import Machine, Transition
from gridapp.grid.models import Community
from gridapp.observation.models import FeverFollowUp, Observation
from gridapp.policy import can, scope_of

ACTIONS = {
    # Not the administrator: an account for the system, not for residents' health (its menu stays short).
    "view_observation": {"town_leader", "secretary", "grid_member", "building_head"},
}

STATUS_LABELS = {"active": _l("Under observation"), "ended": _l("Ended"), "ended_early": _l("Ended early"),
                 "lost": _l("Lost to follow-up")}


def _staff(user, s, obs) -> bool:
    return can(user, "edit_people", obs.person.household)


def _nobody(user, s, obs) -> bool:
    return False  # the sweep's own action


OBSERVATION = Machine(Observation, STATUS_LABELS, {
    "extend": Transition(("active",), None, _staff, _l(
        "Only an observation under way can be extended; it is “%(status)s”.")),
    "end_early": Transition(("active",), "ended_early", _staff, _l(
        "Only an observation under way can be ended early; it is “%(status)s”.")),
    "lose": Transition(("active",), "lost", _staff, _l(
        "Only an observation under way can be marked lost to follow-up; it is “%(status)s”.")),
    "end": Transition(("active",), "ended", _nobody, _l(
        "Only an observation under way can end; it is “%(status)s”.")),
})
MACHINES = (OBSERVATION,)


def _observation_rule(user, s, action, obs) -> bool:
    if action in OBSERVATION.transitions:
        return OBSERVATION[action].who(user, s, obs)
    household = obs.person.household
    path = household.path
    if action == "view":
        return can(user, "view", household)
    if action == "manage_link":  # make, send and revoke the personal link
        return _staff(user, s, obs)
    if action == "record":
        return path.get("compound") in s.compounds or path.get("grid") in s.grids
    return False


def _followup_rule(user, s, action, followup) -> bool:
    household = followup.observation.person.household
    path = household.path
    if action == "view":
        return can(user, "view", household)
    if action in ("call", "close"):
        return (s.admin or "town_leader" in s.roles or path.get("community") in s.communities
                or path.get("grid") in s.grids)
    return False


def may_see_ledger(user, community: Community) -> bool:
    """The ledger of a community's people under observation: its secretary, the town leader, the admin."""
    s = scope_of(user)
    return s.admin or "town_leader" in s.roles or community.id in s.communities


OBJECT_RULES = {Observation: _observation_rule, FeverFollowUp: _followup_rule}
