"""Who may do what in screening, and when: the campaign's and the visit's transition tables, the
rules can() asks (registered by create_app) and the same rules as SQL for lists.

- Open a campaign: the administrator and the town leader, for the town or any places; a community
  secretary for her own community or some of its grids.
- See a campaign (its coverage): the administrator, the town leader and the supervisors, every
  campaign; a secretary, grid member or building head, the campaigns that cover some of their own
  places (community, grid, compound), and only that part of them.
- Close it: the administrator and the town leader; a secretary the campaigns of her community.
- Record a visit: those who register a household's people (the building head of its compound, the
  grid members of its grid, the secretary of its community, the administrator), while the campaign
  is open and the household still to do (never visited, or nobody was home).
"""
from flask import g, has_request_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, false, or_, select, true

from gridapp.core.rules import Machine, Transition
from gridapp.extensions import db
from gridapp.grid.models import Compound, Grid
from gridapp.policy import can, scope_of
from gridapp.screening.models import CampaignPlace, ScreeningCampaign, ScreeningVisit

CAMPAIGN_LABELS = {"open": _l("In progress"), "closed": _l("Closed")}
VISIT_LABELS = {
    "pending": _l("Not visited yet"),
    "seen": _l("All seen"),
    "returnees": _l("Returnees found"),
    "nobody_home": _l("Nobody home"),
    "refused": _l("Refused"),
}
SCREENING_ROLES = {"admin", "town_leader", "supervisor", "secretary", "grid_member", "building_head"}
# The roles that visit households: their own places are what they see of a campaign.
PLACE_ROLES = {"secretary", "grid_member", "building_head"}

ACTIONS = {
    "view_screening": SCREENING_ROLES,
    "screening_menu": SCREENING_ROLES,  # the menu entry
    "open_campaign": {"admin", "town_leader", "secretary"},
    "open_town_campaign": {"admin", "town_leader"},  # the whole town, or places of several communities
}


def _manager(user, s, campaign) -> bool:
    return s.admin or "town_leader" in s.roles or (
        campaign.community_id is not None and campaign.community_id in s.communities)


CAMPAIGN = Machine(ScreeningCampaign, CAMPAIGN_LABELS, {
    "close": Transition(("open",), "closed", _manager, _l("This campaign is already “%(status)s”.")),
})


def _recorder(user, s, visit) -> bool:
    return can(user, "edit_people", visit.household)


def _campaign_open(visit, now) -> bool:
    return visit.campaign.status == "open"


def _campaign_open_sql(now):
    return ScreeningVisit.campaign_id.in_(select(ScreeningCampaign.id).where(ScreeningCampaign.status == "open"))


def revisit_due(status: str, revisit_on, today) -> bool:
    """Nobody was home and the day they said to come back has come (or passed)."""
    return status == "nobody_home" and revisit_on is not None and revisit_on <= today


VISIT = Machine(ScreeningVisit, VISIT_LABELS, {
    # The target depends on the result recorded (the service gives it): None keeps the table's rule
    # about where it may start from. Only while the campaign is open (the same rule for the button,
    # `when`, and for the UPDATE, `when_sql`).
    "record": Transition(("pending", "nobody_home"), None, _recorder, _l(
        "This household's visit is already recorded: “%(status)s”."), when=_campaign_open,
        when_sql=_campaign_open_sql),
})


# --- the user's own places ------------------------------------------------------------------------

def own_places(user) -> tuple[set, set]:
    """(communities, grids) whose households this user visits: a secretary's communities (whole); a
    grid member's grids and a building head's compounds' grids, with their communities for campaigns
    that name a whole community. One statement at most, once per request."""
    s = scope_of(user)
    cache = g.setdefault("_screening_places", {}) if has_request_context() else {}
    if user.id in cache:
        return cache[user.id]
    communities = set(s.communities)
    grids = set(s.grids)
    if s.grids or s.compounds:
        conds = []
        if s.grids:
            conds.append(Grid.id.in_(s.grids))
        if s.compounds:
            conds.append(Grid.id.in_(select(Compound.grid_id).where(Compound.id.in_(s.compounds))))
        for grid_id, community_id in db.session.execute(select(Grid.id, Grid.community_id).where(or_(*conds))):
            grids.add(grid_id)
            communities.add(community_id)
    cache[user.id] = (communities, grids)
    return communities, grids


def sees_all(s) -> bool:
    """The whole of every campaign (not only one's own places)."""
    return s.admin or s.town_wide


def _campaign_rule(user, s, action, campaign) -> bool:
    if not s.roles & SCREENING_ROLES:
        return False
    if action == "view":
        return sees_all(s) or _covers_own(user, s, campaign)
    if action == "mine":  # the "my visits" page: the households of one's own places
        return bool(s.roles & PLACE_ROLES) and _covers_own(user, s, campaign)
    if action in CAMPAIGN.transitions:
        return CAMPAIGN[action].who(user, s, campaign)
    raise ValueError(f"unknown action {action!r} on a screening campaign")


def _covers_own(user, s, campaign) -> bool:
    if not s.roles & PLACE_ROLES:
        return False
    communities, grids = own_places(user)
    if campaign.town_wide:
        return bool(communities or grids)
    for p in campaign.places:
        if p.community_id is not None and p.community_id in communities:
            return True
        if p.grid_id is not None and (p.grid_id in grids or p.grid.community_id in s.communities):
            return True
    return False


def _visit_rule(user, s, action, visit) -> bool:
    if action == "view":
        return can(user, "view", visit.household)
    if action in VISIT.transitions:
        return VISIT[action].who(user, s, visit)
    raise ValueError(f"unknown action {action!r} on a screening visit")


OBJECT_RULES = {ScreeningCampaign: _campaign_rule, ScreeningVisit: _visit_rule}
MACHINES = (CAMPAIGN, VISIT)


# --- the same rules as SQL ------------------------------------------------------------------------

def campaign_clause(user):
    """The campaigns this user sees: can(user, "view", campaign) as SQL on ScreeningCampaign."""
    s = scope_of(user)
    if not s.roles & SCREENING_ROLES:
        return false()
    if sees_all(s):
        return true()
    if not s.roles & PLACE_ROLES:
        return false()
    communities, grids = own_places(user)
    if not communities and not grids:
        return false()
    conds = [CampaignPlace.community_id.in_(communities)] if communities else []
    if grids:
        conds.append(CampaignPlace.grid_id.in_(grids))
    if s.communities:
        conds.append(CampaignPlace.grid_id.in_(select(Grid.id).where(Grid.community_id.in_(s.communities))))
    return or_(ScreeningCampaign.town_wide.is_(True),
               exists().where(CampaignPlace.campaign_id == ScreeningCampaign.id, or_(*conds)))
