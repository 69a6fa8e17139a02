"""The rules of screening: opening a campaign (one visit row per household in one INSERT … SELECT),
recording a visit (one conditional UPDATE whose row count picks the one winner), closing, the sweep
that adds households registered later and climbs the reminder ladder, and the coverage queries (a
fixed number of statements whatever the number of households, over the figures kept per compound)."""
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple

from flask import current_app, has_app_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, case, delete, exists, func, insert, literal, or_, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from gridapp import policy as grid_policy
from gridapp.audit.services import describe_changes, record
from gridapp.auth.models import User
from gridapp.auth.services import holders, town_leaders
from gridapp.core.rules import RuleError
from gridapp.core.statements import kept, key_of
from gridapp.extensions import db
from gridapp.grid.models import Community, Compound, Grid, Household
from gridapp.notifications.digest import Digest
from gridapp.notifications.group import GroupText
from gridapp.notifications.kinds import kind
from gridapp.screening.models import (
    DONE,
    ITEMS,
    LEVELS,
    RESULTS,
    TO_DO,
    CampaignPlace,
    ScreeningCampaign,
    ScreeningReminder,
    ScreeningTally,
    ScreeningVisit,
)
from gridapp.screening.policy import CAMPAIGN, VISIT, campaign_clause, sees_all
from gridapp.timeutil import town_midnight, town_today, town_zone, utcnow

# The notices this feature sends (registered by create_app): the reminder ladder goes to the building
# heads of compounds, the grid members of grids and the secretaries of communities with households
# still to visit; a place nobody holds passes its line up (to the town leader at the top).
NOTICE_KINDS = (
    kind("screening_reminder", _l("Households still to visit in a screening campaign"), channels=("email", "sms"),
         roles={"building_head", "grid_member", "secretary", "town_leader"}),
)

ITEM_LABELS = {"thermometer": _l("A thermometer"), "disinfectant": _l("A bottle of disinfectant"),
               "leaflet": _l("A leaflet"), "mask": _l("A mask"), "form": _l("A registration form")}
RESULT_LABELS = {"seen": _l("All seen"), "returnees": _l("Returnees found"), "nobody_home": _l("Nobody home"),
                 "refused": _l("Refused")}
LEVEL_LABELS = {1: _l("Building head"), 2: _l("Grid member"), 3: _l("Community secretary")}
assert set(ITEM_LABELS) == set(ITEMS) and set(RESULT_LABELS) == set(RESULTS)

MAX_DAYS = 60  # the longest campaign
MAX_PAST_START_DAYS = 7  # a campaign begun on paper a few days ago may be entered afterwards
MAX_REVISIT_DAYS = 14
MAX_PEOPLE = 50
# Reminders go out in the morning of their day (town time), when the visiting starts.
REMIND_AT = time(8, 0)
DEFAULT_REMIND_DAYS = 2


def remind_days() -> int:
    """SCREENING_REMIND_DAYS: this many days before a campaign's last day its building heads hear of
    the households still to visit."""
    value = current_app.config.get("SCREENING_REMIND_DAYS") if has_app_context() else None
    return max(0, int(value)) if value not in (None, "") else DEFAULT_REMIND_DAYS


def level_days(campaign: ScreeningCampaign) -> dict[int, date]:
    """The day each rung of the ladder is reached: the building heads N days before the last day,
    the grid members a day later (at the latest the day before the last), the secretaries on it."""
    n = remind_days()
    first = campaign.ends_on - timedelta(days=n)
    second = max(first, min(first + timedelta(days=1), campaign.ends_on - timedelta(days=1)))
    return {1: first, 2: second, 3: campaign.ends_on}


def level_time(campaign: ScreeningCampaign, level: int) -> datetime:
    return datetime.combine(level_days(campaign)[level], REMIND_AT, tzinfo=town_zone()).astimezone(UTC)


def _dialect_insert(model):
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


# --- places a campaign may cover ------------------------------------------------------------------

@dataclass
class PlaceChoice:
    key: str  # "community-3", "grid-5"
    label: str
    community_id: int


def place_choices(user) -> list[PlaceChoice]:
    """The communities (each whole) and grids this user may open a campaign over: all for the town's
    staff, a secretary's own communities and their grids. One statement."""
    s = grid_policy.scope_of(user)
    stmt = (select(Community.id, Community.name, Grid.id, Grid.name).join(Grid, Grid.community_id == Community.id)
            .order_by(Community.id, Grid.id))
    if not grid_policy.can(user, "open_town_campaign"):
        stmt = stmt.where(Community.id.in_(s.communities or [-1]))
    out, seen = [], set()
    for cid, cname, gid, gname in db.session.execute(stmt):
        if cid not in seen:
            seen.add(cid)
            out.append(PlaceChoice(f"community-{cid}", _("%(community)s (whole)", community=cname), cid))
        out.append(PlaceChoice(f"grid-{gid}", f"{cname} › {gname}", cid))
    return out


def _parse_places(user, keys_: list[str]) -> list[tuple[str, int, int]]:
    """[(kind, id, community id)] of the chosen places, each one the user may choose."""
    allowed = {c.key: c for c in place_choices(user)}
    chosen = []
    for key in dict.fromkeys(keys_ or ()):
        choice = allowed.get(key)
        if choice is None:
            raise RuleError(_l("Choose places from the list."), "places")
        kind_, _sep, row_id = key.partition("-")
        chosen.append((kind_, int(row_id), choice.community_id))
    return chosen


# --- opening and closing --------------------------------------------------------------------------

def _check_period(starts_on: date | None, ends_on: date | None, now: datetime) -> None:
    today = town_today(now)
    if starts_on is None:
        raise RuleError(_l("Give the first day."), "starts_on")
    if ends_on is None:
        raise RuleError(_l("Give the last day."), "ends_on")
    if starts_on < today - timedelta(days=MAX_PAST_START_DAYS):
        raise RuleError(_l("The first day can be at most %(n)d days ago.", n=MAX_PAST_START_DAYS), "starts_on")
    if ends_on < starts_on:
        raise RuleError(_l("The last day cannot be before the first."), "ends_on")
    if ends_on < today:
        raise RuleError(_l("The last day cannot be in the past."), "ends_on")
    if (ends_on - starts_on).days + 1 > MAX_DAYS:
        raise RuleError(_l("A campaign lasts at most %(n)d days.", n=MAX_DAYS), "ends_on")


def open_campaign(actor, values: dict, now: datetime | None = None) -> ScreeningCampaign:
    """Open a campaign over the whole town or the chosen places, and make one visit row for every
    household in them (one statement). Refusals name the field they concern."""
    now = now or utcnow()
    name = (values.get("name") or "").strip()
    if not name:
        raise RuleError(_l("Give the campaign a name."), "name")
    _check_period(values.get("starts_on"), values.get("ends_on"), now)
    town_wide = bool(values.get("town_wide"))
    if town_wide and not grid_policy.can(actor, "open_town_campaign"):
        raise RuleError(_l("Only the town's staff open a campaign over the whole town."), "places")
    places = [] if town_wide else _parse_places(actor, values.get("places") or [])
    if not town_wide and not places:
        raise RuleError(_l("Choose the whole town or at least one place."), "places")
    communities = {community_id for _k, _i, community_id in places}
    if len(communities) > 1 and not grid_policy.can(actor, "open_town_campaign"):
        raise RuleError(_l("Choose places of one community."), "places")
    campaign = ScreeningCampaign(
        name=name[:100], starts_on=values["starts_on"], ends_on=values["ends_on"], town_wide=town_wide,
        community_id=next(iter(communities)) if len(communities) == 1 else None,
        record_items=bool(values.get("record_items")), record_present=bool(values.get("record_present")),
        status="open", created_by_id=actor.id if actor is not None else None, created_at=now)
    # A community chosen whole makes its grids redundant.
    whole = {row_id for kind_, row_id, _c in places if kind_ == "community"}
    for kind_, row_id, community_id in places:
        if kind_ == "community":
            campaign.places.append(CampaignPlace(community_id=row_id))
        elif community_id not in whole:
            campaign.places.append(CampaignPlace(grid_id=row_id))
    db.session.add(campaign)
    db.session.flush()
    made = add_visits(campaign.id, now=now)
    where = _("the whole town") if town_wide else str(len(campaign.places))
    record("screening_opened", campaign, summary=f"households: {made}; places: {where}; "
                                                 f"{campaign.starts_on.isoformat()} – {campaign.ends_on.isoformat()}",
           actor=actor)
    return campaign


def _in_campaign_places():
    """Households (Compound and Grid joined) in the campaign's places (ScreeningCampaign in the query)."""
    return or_(ScreeningCampaign.town_wide.is_(True),
               exists().where(CampaignPlace.campaign_id == ScreeningCampaign.id,
                              or_(CampaignPlace.community_id == Grid.community_id, CampaignPlace.grid_id == Grid.id)))


def add_visits(campaign_id: int | None = None, now: datetime | None = None) -> int:
    """A visit row for every household in the places of an open campaign that has none yet (one
    INSERT … SELECT for all campaigns, or one; ON CONFLICT DO NOTHING, so two at once add each once).
    Without a campaign: the open campaigns not ended yet (the sweep, for households registered since)."""
    now = now or utcnow()
    cond = [ScreeningCampaign.status == "open"]
    if campaign_id is not None:
        cond.append(ScreeningCampaign.id == campaign_id)
    else:
        cond.append(ScreeningCampaign.ends_on >= town_today(now))
    already = exists().where(ScreeningVisit.campaign_id == ScreeningCampaign.id,
                             ScreeningVisit.household_id == Household.id)
    rows = (select(ScreeningCampaign.id, Household.id, literal("pending"), literal(0), literal(0),
                   *(literal(False) for _i in ITEMS), literal(""), literal(now, type_=ScreeningVisit.created_at.type))
            .select_from(ScreeningCampaign).join(Household, true())
            .join(Compound, Compound.id == Household.compound_id).join(Grid, Grid.id == Compound.grid_id)
            .where(*cond, _in_campaign_places(), ~already))
    columns = ["campaign_id", "household_id", "status", "attempts", "returnees", *(f"item_{i}" for i in ITEMS),
               "notes", "created_at"]
    stmt = (_dialect_insert(ScreeningVisit).from_select(columns, rows)
            .on_conflict_do_nothing(index_elements=["campaign_id", "household_id"]).returning(ScreeningVisit.id))
    added = db.session.scalars(stmt).all()
    _count_added(added)
    return len(added)


@dataclass
class Counts:
    total: int = 0
    visited: int = 0  # all seen, or returnees found
    pending: int = 0  # not visited yet
    revisit: int = 0  # nobody home: to visit again
    refused: int = 0
    returnees: int = 0  # people found who came or returned from outside

    @property
    def to_do(self) -> int:
        return self.pending + self.revisit

    @property
    def done(self) -> bool:
        """Never while one household is unvisited (nobody home counts as not done)."""
        return self.total > 0 and self.to_do == 0

    @property
    def percent(self) -> int | None:
        return round(100 * (self.total - self.to_do) / self.total) if self.total else None

    def add(self, other: "Counts") -> None:
        for name in ("total", "visited", "pending", "revisit", "refused", "returnees"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _sum(cond):
    return func.sum(case((cond, 1), else_=0))


def count_columns():
    status = ScreeningVisit.status
    return (func.count(ScreeningVisit.id), _sum(status.in_(("seen", "returnees"))), _sum(status == "pending"),
            _sum(status == "nobody_home"), _sum(status == "refused"),
            func.coalesce(func.sum(ScreeningVisit.returnees), 0))


def counts_of(row) -> Counts:
    return Counts(*(int(v or 0) for v in row))


# --- the figures kept per compound (ScreeningTally) ---------------------------------------------
# Every write that adds visits or changes a visit's result adds its difference to its compound's
# row in the same transaction (an UPDATE … SET n = n + d, so two writers at once both count); the
# pages read these rows, a few hundred for a town, instead of every visit of a campaign.

TALLIED = ("total", "visited", "pending", "revisit", "refused", "returnees")  # in the order of Counts


def tally_columns():
    """The tallies summed, in the order of Counts (ScreeningTally in the query)."""
    return tuple(func.coalesce(func.sum(getattr(ScreeningTally, c)), 0) for c in TALLIED)


def _counted_by_compound():
    """The visits counted from scratch per campaign and compound (ScreeningVisit's campaign_id and
    Household's compound_id first), for the tallies to be written from."""
    return (select(ScreeningVisit.campaign_id, Household.compound_id, *count_columns()).select_from(ScreeningVisit)
            .join(Household, Household.id == ScreeningVisit.household_id)
            .group_by(ScreeningVisit.campaign_id, Household.compound_id))


def _add_to_tallies(rows) -> None:
    """Add `rows` (a SELECT of campaign_id, compound_id and the TALLIED figures) to the tallies:
    a compound without a row gets one."""
    stmt = _dialect_insert(ScreeningTally).from_select(["campaign_id", "compound_id", *TALLIED], rows)
    stmt = stmt.on_conflict_do_update(index_elements=["campaign_id", "compound_id"],
                                      set_={c: getattr(ScreeningTally, c) + stmt.excluded[c] for c in TALLIED})
    db.session.execute(stmt)


def _count_added(visit_ids: list[int], chunk: int = 500) -> None:
    """New visits (all pending) into their compounds' tallies, a few hundred visits per statement."""
    for i in range(0, len(visit_ids), chunk):
        _add_to_tallies(_counted_by_compound().where(ScreeningVisit.id.in_(visit_ids[i:i + chunk])))


def _tally_of(status: str, returnees: int) -> dict[str, int]:
    return {"total": 1, "visited": int(status in ("seen", "returnees")), "pending": int(status == "pending"),
            "revisit": int(status == "nobody_home"), "refused": int(status == "refused"), "returnees": returnees or 0}


def _count_change(visit: ScreeningVisit, before: tuple[str, int]) -> None:
    """A visit's result changed from `before` (status, returnees): the difference into its compound's
    tally (one UPDATE; the row is there since the visit was added)."""
    old, new = _tally_of(*before), _tally_of(visit.status, visit.returnees)
    delta = {c: new[c] - old[c] for c in TALLIED if new[c] != old[c]}
    if not delta:
        return
    t = ScreeningTally
    compound_id = select(Household.compound_id).where(Household.id == visit.household_id).scalar_subquery()
    done = db.session.execute(update(t).where(t.campaign_id == visit.campaign_id, t.compound_id == compound_id)
                              .values({getattr(t, c): getattr(t, c) + d for c, d in delta.items()})
                              .execution_options(synchronize_session=False)).rowcount
    if done != 1:  # a campaign's visits counted before the tallies existed: counted afresh
        recount(visit.campaign_id)


def recount(campaign_id: int | None = None) -> None:
    """The tallies of one campaign (or all) written afresh from their visits: after visits were
    written in bulk without the services (a benchmark's dataset). Not for two writers at once."""
    t = ScreeningTally
    rows = _counted_by_compound()
    if campaign_id is not None:
        rows = rows.where(ScreeningVisit.campaign_id == campaign_id)
    db.session.execute(delete(t).where(t.campaign_id == campaign_id) if campaign_id is not None else delete(t))
    db.session.execute(insert(t).from_select(["campaign_id", "compound_id", *TALLIED], rows))


def campaign_counts(campaign: ScreeningCampaign) -> Counts:
    return counts_of(db.session.execute(select(*tally_columns()).where(
        ScreeningTally.campaign_id == campaign.id)).one())


def close_campaign(campaign: ScreeningCampaign, actor, reason: str = "", now: datetime | None = None) -> Counts:
    """Close a campaign: no more visits are recorded. With households still to visit, only with a
    reason (kept on the campaign, shown on its page)."""
    now = now or utcnow()
    reason = (reason or "").strip()
    counts = campaign_counts(campaign)
    if counts.to_do and len(reason) < 4:
        raise RuleError(_l("%(n)d households are not visited yet: say why the campaign closes (at least 4 "
                           "characters).", n=counts.to_do), "reason")
    CAMPAIGN.apply(campaign, "close", {"closed_at": now, "closed_by_id": actor.id, "close_reason": reason[:200]})
    record("screening_closed", campaign, summary=f"visited: {counts.total - counts.to_do}/{counts.total}; "
                                                 f"not visited: {counts.to_do}", actor=actor)
    return counts


# --- recording a visit ----------------------------------------------------------------------------

VISIT_FIELDS = ("status", "revisit_on", "present", "returnees", "items", "notes")


def _checked(visit: ScreeningVisit, values: dict, now: datetime) -> dict:
    campaign = visit.campaign
    result = values.get("result")
    if result not in RESULTS:
        raise RuleError(_l("Choose what the visit found."), "result")
    visited_at = values.get("visited_at") or now
    if visited_at > now + timedelta(minutes=5):
        raise RuleError(_l("A visit cannot be in the future."), "visited_at")
    if visited_at < town_midnight(campaign.starts_on):
        raise RuleError(_l("The campaign begins on %(day)s.", day=campaign.starts_on.isoformat()), "visited_at")
    if visit.visited_at is not None and visited_at < visit.visited_at:
        raise RuleError(_l("This visit cannot be earlier than the last one."), "visited_at")
    v = {"status": result, "visited_at": visited_at, "revisit_on": None, "present": None, "returnees": 0,
         "notes": (values.get("notes") or "").strip()[:500], **{f"item_{i}": False for i in ITEMS}}
    if result == "nobody_home":
        revisit_on = values.get("revisit_on")
        day = town_today(visited_at)
        if revisit_on is None:
            raise RuleError(_l("Nobody home: give the day to come back."), "revisit_on")
        if not day <= revisit_on <= day + timedelta(days=MAX_REVISIT_DAYS):
            raise RuleError(_l("Come back within %(n)d days of the visit.", n=MAX_REVISIT_DAYS), "revisit_on")
        v["revisit_on"] = revisit_on
        return v
    present = values.get("present")
    if present is not None and not 0 <= present <= MAX_PEOPLE:
        raise RuleError(_l("Between 0 and %(n)d people.", n=MAX_PEOPLE), "present")
    if result == "refused":
        v["present"] = present if campaign.record_present else None
        return v
    if campaign.record_present:
        if not present:
            raise RuleError(_l("How many people were at home?"), "present")
        v["present"] = present
    if result == "returnees":
        returnees = values.get("returnees")
        if not returnees or not 1 <= returnees <= MAX_PEOPLE:
            raise RuleError(_l("How many came or returned from outside?"), "returnees")
        if campaign.record_present and returnees > present:
            raise RuleError(_l("More returnees than people at home."), "returnees")
        v["returnees"] = returnees
    if campaign.record_items:
        v.update({f"item_{i}": bool(values.get(f"item_{i}")) for i in ITEMS})
    return v


def _audit_view(visit: ScreeningVisit) -> dict:
    return {"status": visit.status, "revisit_on": visit.revisit_on, "present": visit.present,
            "returnees": visit.returnees, "items": f"{len(visit.items_handed)}/{len(ITEMS)}", "notes": visit.notes}


def _explain(visit: ScreeningVisit, action: str) -> str | None:
    if visit.campaign.status != "open":
        return _("The campaign is closed: no more visits are recorded.")
    if visit.recorded_by_id is not None:
        who = visit.recorded_by.display_name if visit.recorded_by else "—"
        when = visit.recorded_at.astimezone(town_zone()).strftime("%m-%d %H:%M") if visit.recorded_at else ""
        return _("%(who)s recorded this visit at %(when)s: “%(result)s”. Look at it before recording again.",
                 who=who, when=when, result=RESULT_LABELS.get(visit.status, visit.status))
    return None


def record_visit(visit: ScreeningVisit, actor, values: dict, seen_attempts: int | None,
                 now: datetime | None = None) -> ScreeningVisit:
    """Record what a visit found. One conditional UPDATE: the visit still to do, its campaign open, and
    no one else's visit recorded since the form was drawn (`seen_attempts`): of two people recording
    at once, one wins and the other is told who recorded it and what."""
    now = now or utcnow()
    v = _checked(visit, values, now)
    before = _audit_view(visit)
    was = (visit.status, visit.returnees)  # as the row is when the guarded UPDATE below wins (attempts unchanged)
    seen = visit.attempts if seen_attempts is None else seen_attempts
    VISIT.apply(visit, "record", {
        **v, "attempts": ScreeningVisit.attempts + 1, "recorded_at": now, "recorded_by_id": actor.id,
        "first_attempt_at": func.coalesce(ScreeningVisit.first_attempt_at, v["visited_at"])},
        ScreeningVisit.attempts == seen, explain=_explain, now=now)
    _count_change(visit, was)
    record("screening_visit_recorded", visit,
           summary=describe_changes(before, _audit_view(visit), personal=frozenset({"notes"})), actor=actor)
    return visit


# --- what a campaign covers, as the viewer sees it -------------------------------------------------

@dataclass
class Narrowing:
    """?community=, ?grid=, ?compound= on the coverage page: only narrows what the viewer sees."""

    community_id: int | None = None
    grid_id: int | None = None
    compound_id: int | None = None

    def clauses(self) -> list:
        out = []
        if self.community_id is not None:
            out.append(Grid.community_id == self.community_id)
        if self.grid_id is not None:
            out.append(Grid.id == self.grid_id)
        if self.compound_id is not None:
            out.append(Compound.id == self.compound_id)
        return out

    def args(self) -> dict:
        return {k: v for k, v in (("community", self.community_id), ("grid", self.grid_id),
                                  ("compound", self.compound_id)) if v is not None}


def _viewer_clause(user):
    """The visits of a campaign this user counts: all for the town's staff, else their own places.
    Needs Compound and Grid joined (it names no column of Household, so the tallies, a row per
    compound, take it as the visits do)."""
    s = grid_policy.scope_of(user)
    return true() if sees_all(s) else grid_policy.own_household_clause(user)


def _tallies_in(campaign_id: int):
    """The campaign's tallies with Compound and Grid joined (for the viewer's and the narrowing's
    clauses)."""
    t = ScreeningTally
    return (select().select_from(t).join(Compound, Compound.id == t.compound_id)
            .join(Grid, Grid.id == Compound.grid_id).where(t.campaign_id == campaign_id))


@dataclass
class Row:
    kind: str  # community, grid, compound
    id: int
    name: str
    counts: Counts
    community_id: int
    grid_id: int | None = None
    children: list = field(default_factory=list)


@dataclass
class Coverage:
    total: Counts
    communities: list[Row]


def coverage(campaign: ScreeningCampaign, user, narrowing: Narrowing | None = None) -> Coverage:
    """The campaign's figures by community, grid and compound, for what the user sees of it (one
    statement over the campaign's tallies, a row per compound)."""
    narrowing = narrowing or Narrowing()
    t = ScreeningTally
    stmt = (select(Community.id, Community.name, Grid.id, Grid.name, Compound.id, Compound.name,
                   *(getattr(t, c) for c in TALLIED))
            .select_from(t).join(Compound, Compound.id == t.compound_id)
            .join(Grid, Grid.id == Compound.grid_id).join(Community, Community.id == Grid.community_id)
            .where(t.campaign_id == campaign.id, t.total > 0, _viewer_clause(user), *narrowing.clauses())
            .order_by(Community.id, Grid.id, Compound.id))
    total, communities, grids = Counts(), {}, {}
    for cid, cname, gid, gname, kid, kname, *figures in db.session.execute(stmt):
        counts = counts_of(figures)
        total.add(counts)
        community = communities.setdefault(cid, Row("community", cid, cname, Counts(), cid))
        community.counts.add(counts)
        grid = grids.get(gid)
        if grid is None:
            grid = grids[gid] = Row("grid", gid, gname, Counts(), cid, gid)
            community.children.append(grid)
        grid.counts.add(counts)
        grid.children.append(Row("compound", kid, kname, counts, cid, gid))
    return Coverage(total, list(communities.values()))


def listed_to_do(cov: Coverage, user) -> int | None:
    """How many households the to-visit list (`to_visit_query`, same narrowing) selects, read off the
    coverage's figures when the two count the same households (the town's leader, or anyone's own
    places); None when they do not (the list then counts its own)."""
    if _viewer_clause(user).compare(grid_policy.household_clause(user)):
        return cov.total.to_do
    return None


def _listed(stmt):
    return stmt.options(contains_eager(ScreeningVisit.household).contains_eager(Household.compound)
                        .contains_eager(Compound.grid), joinedload(ScreeningVisit.recorded_by).lazyload(User.roles))


def _to_visit_of(stmt, campaign_id, clause, *narrowing):
    """`stmt` (a SELECT from ScreeningVisit) over the visits still to do, in the list's order."""
    return (stmt.join(Household, Household.id == ScreeningVisit.household_id)
            .join(Compound, Compound.id == Household.compound_id).join(Grid, Grid.id == Compound.grid_id)
            .where(ScreeningVisit.campaign_id == campaign_id, ScreeningVisit.status.in_(TO_DO), clause, *narrowing)
            .order_by(case((ScreeningVisit.status == "pending", 0), else_=1), ScreeningVisit.revisit_on,
                      Compound.name, Compound.id, Household.building, Household.unit, Household.room,
                      ScreeningVisit.id))


def _visited_of(stmt, campaign_id, clause):
    """`stmt` (a SELECT from ScreeningVisit) over the visits done (refused included), the latest first."""
    return (stmt.join(Household, Household.id == ScreeningVisit.household_id)
            .join(Compound, Compound.id == Household.compound_id).join(Grid, Grid.id == Compound.grid_id)
            .where(ScreeningVisit.campaign_id == campaign_id, ScreeningVisit.status.in_(DONE), clause)
            .order_by(ScreeningVisit.visited_at.desc(), ScreeningVisit.id.desc()))


# What "my visits" shows of each visit, read as plain rows (no ORM objects for a list of fifty).
_OWN_COLUMNS = (ScreeningVisit.id, ScreeningVisit.status, ScreeningVisit.revisit_on, Household.compound_id,
                Compound.name.label("compound"), Grid.community_id, Household.building, Household.unit,
                Household.room)


def to_visit_query(campaign: ScreeningCampaign, user, narrowing: Narrowing | None = None, own: bool = False):
    """The households of the campaign still to visit that the user may see (their names are on the
    list): never visited first, compound by compound, then nobody home, the revisit due first. With
    `own`, only those of the user's own places (the "my visits" page, which runs own_statements())."""
    narrowing = narrowing or Narrowing()
    clause = grid_policy.own_household_clause(user) if own else grid_policy.household_clause(user)
    return _listed(_to_visit_of(select(ScreeningVisit), campaign.id, clause, *narrowing.clauses()))


class OwnStatements(NamedTuple):
    counts: object  # the campaign's figures over the user's own places, off the tallies
    to_visit: object  # a page of to_visit_query(own=True), as rows of _OWN_COLUMNS and the head's name
    visited: object  # the latest visited (refused included), as rows of _OWN_COLUMNS, when and by whom


def own_statements(user) -> OwnStatements:
    """The "my visits" page's statements over the user's own households, kept per their condition
    (gridapp/core/statements.py); run with {"campaign": id, "limit": rows, "offset": rows}."""
    clause = grid_policy.own_household_clause(user)
    campaign, limit, offset = bindparam("campaign"), bindparam("limit"), bindparam("offset")
    return kept(("screening.own", key_of(clause)), lambda: OwnStatements(
        _tallies_in(campaign).add_columns(*tally_columns()).where(clause),
        _to_visit_of(select(*_OWN_COLUMNS, Household.head_name).select_from(ScreeningVisit), campaign, clause)
        .limit(limit).offset(offset),
        _visited_of(select(*_OWN_COLUMNS, ScreeningVisit.visited_at, User.display_name.label("recorded_by"))
                    .select_from(ScreeningVisit).outerjoin(User, User.id == ScreeningVisit.recorded_by_id),
                    campaign, clause).limit(limit)))


def own_counts(campaign: ScreeningCampaign, user) -> Counts:
    """The campaign's figures over the user's own places (one statement, over the tallies)."""
    return counts_of(db.session.execute(own_statements(user).counts, {"campaign": campaign.id}).one())


def campaigns_for(user):
    """The campaigns the user sees, running ones first, then the newest."""
    return (select(ScreeningCampaign).options(selectinload(ScreeningCampaign.places))
            .where(campaign_clause(user))
            .order_by(case((ScreeningCampaign.status == "open", 0), else_=1), ScreeningCampaign.ends_on.desc(),
                      ScreeningCampaign.id.desc()))


def counts_by_campaign(campaign_ids, user) -> dict[int, Counts]:
    """Each campaign's figures over what the user sees of it (one statement for all of them)."""
    if not campaign_ids:
        return {}
    t = ScreeningTally
    stmt = (select(t.campaign_id, *tally_columns()).select_from(t)
            .join(Compound, Compound.id == t.compound_id).join(Grid, Grid.id == Compound.grid_id)
            .where(t.campaign_id.in_(campaign_ids), _viewer_clause(user))
            .group_by(t.campaign_id))
    return {cid: counts_of(rest) for cid, *rest in db.session.execute(stmt)}


@dataclass
class Running:
    """A campaign running over the user's own places, with what is left to do there."""

    id: int
    name: str
    ends_on: date
    counts: Counts


def my_running(user, today: date, limit: int = 3) -> list[Running]:
    """The campaigns running today over the user's own places (a building head's compounds, a grid
    member's grids, a secretary's communities), the soonest to end first, with their figures there.
    One statement (none for someone without such places)."""
    s = grid_policy.scope_of(user)
    if not (s.communities or s.grids or s.compounds):
        return []
    rows = db.session.execute(
        select(ScreeningCampaign.id, ScreeningCampaign.name, ScreeningCampaign.ends_on, *tally_columns())
        .select_from(ScreeningTally).join(ScreeningCampaign, ScreeningCampaign.id == ScreeningTally.campaign_id)
        .join(Compound, Compound.id == ScreeningTally.compound_id).join(Grid, Grid.id == Compound.grid_id)
        .where(ScreeningCampaign.status == "open", ScreeningCampaign.starts_on <= today,
               grid_policy.own_household_clause(user))
        .group_by(ScreeningCampaign.id, ScreeningCampaign.name, ScreeningCampaign.ends_on)
        .order_by(ScreeningCampaign.ends_on, ScreeningCampaign.id).limit(limit)).all()
    return [Running(r[0], r[1], r[2], counts_of(r[3:])) for r in rows]


def visit_with_place(visit_id: int) -> ScreeningVisit | None:
    return db.session.scalars(select(ScreeningVisit).options(
        joinedload(ScreeningVisit.household).joinedload(Household.compound).joinedload(Compound.grid)
        .joinedload(Grid.community), joinedload(ScreeningVisit.campaign), joinedload(ScreeningVisit.recorded_by)
        .lazyload(User.roles)).where(ScreeningVisit.id == visit_id)).first()


def campaign_reminders(campaign: ScreeningCampaign) -> dict[int, int]:
    """How many places reached each rung of the ladder."""
    return dict(db.session.execute(select(ScreeningReminder.level, func.count())
                                   .where(ScreeningReminder.campaign_id == campaign.id)
                                   .group_by(ScreeningReminder.level)).all())


def place_label(campaign: ScreeningCampaign) -> str:
    if campaign.town_wide:
        return _("The whole town")
    names = []
    for p in campaign.places:
        if p.community is not None:
            names.append(p.community.name)
        elif p.grid is not None:
            names.append(f"{p.grid.community.name} › {p.grid.name}")
    return "、".join(names)


# --- the sweep: households registered since, and the reminder ladder -------------------------------

_PLACE_COLUMN = {1: Compound.id, 2: Grid.id, 3: Grid.community_id}


def _claim(level: int, campaign_ids: list[int], now: datetime) -> list[tuple[int, int, int, int]]:
    """Reach this rung for every place of these campaigns with households still to do, once: INSERT …
    SELECT … ON CONFLICT DO NOTHING RETURNING gives the places this sweep (and no other) reached."""
    place = _PLACE_COLUMN[level]
    rows = (select(ScreeningVisit.campaign_id, literal(level), place, func.count(),
                   _sum(ScreeningVisit.status == "nobody_home"), literal(now, type_=ScreeningReminder.created_at.type))
            .select_from(ScreeningVisit).join(Household, Household.id == ScreeningVisit.household_id)
            .join(Compound, Compound.id == Household.compound_id).join(Grid, Grid.id == Compound.grid_id)
            .where(ScreeningVisit.campaign_id.in_(campaign_ids), ScreeningVisit.status.in_(TO_DO))
            .group_by(ScreeningVisit.campaign_id, place))
    stmt = (_dialect_insert(ScreeningReminder)
            .from_select(["campaign_id", "level", "place_id", "households", "to_revisit", "created_at"], rows)
            .on_conflict_do_nothing(index_elements=["campaign_id", "level", "place_id"])
            .returning(ScreeningReminder.campaign_id, ScreeningReminder.place_id, ScreeningReminder.households,
                       ScreeningReminder.to_revisit))
    return [tuple(r) for r in db.session.execute(stmt).all()]


def send_reminders(now: datetime | None = None) -> dict:
    """The ladder, near each running campaign's end: the households still to visit of each compound
    told to its building heads N days before the last day (SCREENING_REMIND_DAYS), of each grid to its
    grid members a day later, of each community to its secretaries on the last day. Each rung is
    reached once per place (a reminder row, claimed by one statement: two sweeps at once tell once) and
    never undone; each person gets one notice a sweep, listing their places with the counts."""
    now = now or utcnow()
    today = town_today(now)
    campaigns = list(db.session.scalars(select(ScreeningCampaign).where(
        ScreeningCampaign.status == "open", ScreeningCampaign.starts_on <= today)))
    claimed: dict[int, list] = {}
    for level in LEVELS:
        due = [c.id for c in campaigns if now >= level_time(c, level)]
        claimed[level] = _claim(level, due, now) if due else []
    if not any(claimed.values()):
        return {f"level{level}": 0 for level in LEVELS}
    by_id = {c.id: c for c in campaigns}
    _tell(claimed, by_id, now)
    return {f"level{level}": len(claimed[level]) for level in LEVELS}


def _tell(claimed: dict, campaigns: dict, now: datetime) -> None:
    compound_ids = {place for _c, place, _n, _r in claimed[1]}
    grid_ids = {place for _c, place, _n, _r in claimed[2]}
    community_ids = {place for _c, place, _n, _r in claimed[3]}
    # Where each place sits (a compound's grid and community, a grid's community) and its name.
    compounds = {kid: (name, gid, cid) for kid, name, gid, cid in db.session.execute(
        select(Compound.id, Compound.name, Compound.grid_id, Grid.community_id).join(Grid, Grid.id == Compound.grid_id)
        .where(Compound.id.in_(compound_ids)))} if compound_ids else {}
    grid_ids_all = grid_ids | {gid for _n, gid, _c in compounds.values()}
    grids = {gid: (name, cid, cname) for gid, name, cid, cname in db.session.execute(
        select(Grid.id, Grid.name, Grid.community_id, Community.name).join(Community, Community.id == Grid.community_id)
        .where(Grid.id.in_(grid_ids_all)))} if grid_ids_all else {}
    community_ids_all = community_ids | {cid for _n, cid, _cn in grids.values()}
    # The communities told at the top rung, as rows: their group robots hear the numbers.
    communities = {c.id: c for c in db.session.scalars(
        select(Community).where(Community.id.in_(community_ids)))} if community_ids else {}
    heads = holders("building_head", compound_ids)
    members = holders("grid_member", grid_ids_all)
    secretaries = holders("secretary", community_ids_all)
    leaders = None

    def up_from(level: int, compound=None, grid=None, community=None) -> list:
        """Who answers for this place at this rung; a place nobody holds passes it up."""
        nonlocal leaders
        if level == 1 and heads.get(compound):
            return heads[compound]
        if level <= 2 and members.get(grid):
            return members[grid]
        if secretaries.get(community):
            return secretaries[community]
        if leaders is None:
            leaders = town_leaders()
        return leaders

    digest = Digest("screening_reminder", title=lambda n, urgent: _(
        "Screening: households still to visit in %(n)d places", n=n),
        link="/screening/", more=lambda n: _("and %(n)d more places", n=n), now=now)
    for level in LEVELS:
        for campaign_id, place_id, households, to_revisit in claimed[level]:
            campaign = campaigns[campaign_id]
            if level == 1:
                name, grid, community = compounds[place_id]
                where, recipients = name, up_from(1, place_id, grid, community)
            elif level == 2:
                gname, community, cname = grids[place_id]
                where, recipients = f"{cname} {gname}", up_from(2, grid=place_id, community=community)
            else:
                where, recipients = communities[place_id].name, up_from(3, community=place_id)
            line = _("%(campaign)s (last day %(day)s): %(place)s, %(n)d households not visited yet, of which "
                     "%(revisit)d to visit again.", campaign=campaign.name, day=campaign.ends_on.isoformat(),
                     place=where, n=households, revisit=to_revisit)
            # The community's group robots hear the numbers only (the campaign's name is typed text).
            group_line = GroupText(_l("Screening in %(place)s: %(n)d households not visited yet, %(revisit)d to visit "
                                      "again; last day %(day)s."), place=communities[place_id], n=households,
                                   revisit=to_revisit, day=campaign.ends_on) if level == 3 else None
            digest.add(recipients, line, places=[communities[place_id]] if level == 3 else [], group_line=group_line)
    digest.send()


def sweep(now: datetime | None = None) -> dict:
    """The periodic job's work: visits for households registered since a campaign opened, then the
    reminder ladder."""
    now = now or utcnow()
    added = add_visits(None, now=now)
    return {"added": added, **send_reminders(now)}
