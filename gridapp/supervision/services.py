"""The rules of supervision: targets and their owners, due times, the item state machine
(each transition one conditional UPDATE whose row count decides), the reminder and
escalation sweeps, interviews, circulars, and the dashboard's queries."""
import statistics
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import groupby

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, false, func, insert, or_, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from gridapp.audit.services import record
from gridapp.auth.models import RoleAssignment, User
from gridapp.auth.services import holder, holders, town_leaders
from gridapp.core.rules import RuleError
from gridapp.duty.models import Checkpoint
from gridapp.extensions import db
from gridapp.grid.models import Community, Compound, Grid, WorkUnit
from gridapp.notifications.kinds import kind
from gridapp.notifications.services import notify
from gridapp.policy import scope_of
from gridapp.supervision import keys
from gridapp.supervision.models import (
    CLOCK_STATES,
    Circular,
    Finding,
    Inspection,
    Interview,
    ItemComment,
    ItemEvent,
    Photo,
    RectificationItem,
    circular_items,
    interview_items,
)
from gridapp.supervision.policy import ITEM, item_clause
from gridapp.timeutil import town_days, town_zone, utcnow

# The notices this feature sends (registered by create_app).
# roles: who is sent each. An item's owner holds a role on its target (eligible_owners(), the
# TARGET_RESOLVERS), or any role but volunteer and admin when a supervisor reassigns it
# (owner_choices()); escalation goes to the community's secretary, then the town leader.
_OWNERS = {"town_leader", "supervisor", "secretary", "grid_member", "building_head", "property_manager",
           "unit_contact"}
NOTICE_KINDS = (
    kind("supervision_item", _l("Rectification items addressed to me"), channels=("email",), roles=_OWNERS),
    kind("supervision_reminder", _l("Rectification deadlines"), channels=("email", "sms"), roles=_OWNERS),
    kind("supervision_escalation", _l("Overdue rectification escalated to me"), channels=("email", "sms"),
         roles={"secretary", "town_leader"}),
)

# Defaults from the issue: hours to rectify, and the further wait before level 2.
DUE_HOURS = {"critical": 4, "major": 24, "minor": 72}
LEVEL2_AFTER_HOURS = {"critical": 4, "major": 24, "minor": 24}
MIN_WARNING = timedelta(hours=1)
# The furthest ahead a due time set by hand on a finding may lie: a month is past any real deadline,
# so a later one is a mistyped year or month.
MAX_DUE_DAYS = 30

SEVERITY_LABELS = {"minor": _l("Minor"), "major": _l("Major"), "critical": _l("Critical")}
CATEGORY_LABELS = {
    "checkpoint_unstaffed": _l("Checkpoint unstaffed"),
    "no_temperature_check": _l("No temperature check"),
    "registration_incomplete": _l("Registration incomplete"),
    "disinfection_missed": _l("Disinfection missed"),
    "sanitation": _l("Sanitation"),
    "other": _l("Other"),
}
KIND_LABELS = {"routine": _l("Routine"), "unannounced": _l("Unannounced"), "follow_up": _l("Follow-up")}
TARGET_LABELS = {"community": _l("Community"), "compound": _l("Compound"), "work_unit": _l("Work unit"),
                 "checkpoint": _l("Checkpoint")}
LEVEL_LABELS = {0: _l("Owner"), 1: _l("Community secretary"), 2: _l("Town leader")}


# --- targets and their owners ----------------------------------------------------------------

@dataclass
class Target:
    type: str
    id: int
    name: str
    community_id: int | None
    owner: User | None


def _community_target(target_id):
    c = db.session.get(Community, target_id)
    return c and Target("community", c.id, c.name, c.id, holder("secretary", c.id))


def _compound_target(target_id):
    k = db.session.get(Compound, target_id)
    if k is None:
        return None
    # The property company's manager, else the building head, else the grid member.
    owner = (holder("property_manager", k.property_company_id) or holder("building_head", k.id)
             or holder("grid_member", k.grid_id))
    return Target("compound", k.id, k.name, k.grid.community_id, owner)


def _work_unit_target(target_id):
    u = db.session.get(WorkUnit, target_id)
    if u is None:
        return None
    # A work unit belongs to no community; its level-1 secretary is that of the compound it runs.
    community_id = db.session.scalar(
        select(Grid.community_id).join(Compound, Compound.grid_id == Grid.id)
        .where(Compound.work_unit_id == u.id).order_by(Compound.id).limit(1))
    return Target("work_unit", u.id, u.name, community_id, holder("unit_contact", u.id))


def _checkpoint_target(target_id):
    cp = db.session.get(Checkpoint, target_id)
    if cp is None:
        return None
    # The work unit that runs it answers for it; else the grid member of its compound, else
    # (a checkpoint of the community itself) the community's secretary.
    owner = holder("unit_contact", cp.work_unit_id) if cp.work_unit_id else None
    if owner is None and cp.compound_id is not None:
        owner = holder("grid_member", cp.compound.grid_id)
    owner = owner or holder("secretary", cp.community_id)
    return Target("checkpoint", cp.id, cp.name, cp.community_id, owner)


# target_type -> resolver(target_id) -> Target | None.
TARGET_RESOLVERS = {
    "community": _community_target,
    "compound": _compound_target,
    "work_unit": _work_unit_target,
    "checkpoint": _checkpoint_target,
}


def _places(target: Target) -> dict[str, set]:
    """The places whose staff answer for a target: role -> scope ids."""
    places = {"secretary": {target.community_id} if target.community_id else set(), "grid_member": set(),
              "building_head": set(), "property_manager": set(), "unit_contact": set()}
    compounds = select(Compound.id, Compound.grid_id, Compound.property_company_id, Compound.work_unit_id)
    if target.type == "community":
        compounds = compounds.join(Grid, Grid.id == Compound.grid_id).where(Grid.community_id == target.id)
        places["grid_member"] |= set(db.session.scalars(select(Grid.id).where(Grid.community_id == target.id)))
    elif target.type == "compound":
        compounds = compounds.where(Compound.id == target.id)
    elif target.type == "work_unit":
        places["unit_contact"].add(target.id)
        compounds = compounds.where(Compound.work_unit_id == target.id)
    elif target.type == "checkpoint":
        cp = db.session.get(Checkpoint, target.id)
        if cp.work_unit_id:
            places["unit_contact"].add(cp.work_unit_id)
        compounds = compounds.where(Compound.id == cp.compound_id)
    else:
        compounds = compounds.where(false())
    for compound_id, grid_id, company_id, unit_id in db.session.execute(compounds):
        places["building_head"].add(compound_id)
        places["grid_member"].add(grid_id)
        places["property_manager"].add(company_id)
        places["unit_contact"].add(unit_id)
    return {role: ids - {None} for role, ids in places.items()}


def eligible_owners(target: Target) -> list[User]:
    """Who an item about this target may be addressed to: the staff holding a role on the
    target or the places it sits in (its secretary, grid members, building heads, property
    managers, work-unit contacts), active accounts only."""
    conds = [(RoleAssignment.role == role) & RoleAssignment.scope_id.in_(ids)
             for role, ids in _places(target).items() if ids]
    if not conds:
        return [target.owner] if target.owner else []
    people = db.session.scalars(
        select(User).where(User.active.is_(True), User.id.in_(
            select(RoleAssignment.user_id).where(or_(*conds)))).order_by(User.display_name, User.id)).all()
    if target.owner is not None and target.owner not in people:
        people.insert(0, target.owner)
    return people


def supervision_team() -> list[User]:
    """Active members of the supervision team, who can take part in inspections."""
    return db.session.scalars(
        select(User).where(User.active.is_(True), User.id.in_(
            select(RoleAssignment.user_id).where(RoleAssignment.role == "supervisor")))
        .order_by(User.display_name, User.id)).all()


def resolve_target(target_type: str, target_id: int) -> Target | None:
    resolver = TARGET_RESOLVERS.get(target_type)
    return resolver(target_id) if resolver else None


# A place picker's options come in groups, one <optgroup> each: [(group label, [(value, label)])].
# The values are those resolve_target() reads ("compound:3"), the group labels say where the
# options are ("南街社区 › 第1网格"), so the option labels can stay short.
PlaceGroups = list[tuple[str | None, list[tuple[str, str]]]]  # None: in no group
GROUP_SEPARATOR = " › "


def _option(target_type: str, target_id: int, name: str) -> tuple[str, str]:
    return f"{target_type}:{target_id}", f"{TARGET_LABELS[target_type]} · {name}"


def _grouped_places(checkpoints_where, with_places: bool) -> PlaceGroups:
    """The active checkpoints matching `checkpoints_where`, grouped by where they are: each
    community's grids ("南街社区 › 第1网格"), a compound's checkpoints right after it, then the
    community's other checkpoints ("南街社区 › 其他检查点"). `with_places`: list every community and
    compound as well (each community first, in a group of its own); else only the communities
    holding one of those checkpoints are walked."""
    at_compound, in_community = {}, {}
    for cp_id, name, community_id, compound_id in db.session.execute(
            select(Checkpoint.id, Checkpoint.name, Checkpoint.community_id, Checkpoint.compound_id)
            .where(checkpoints_where, Checkpoint.active.is_(True)).order_by(Checkpoint.id)):
        option = _option("checkpoint", cp_id, name)
        if compound_id is not None:
            at_compound.setdefault(compound_id, []).append(option)
        else:
            in_community.setdefault(community_id, []).append(option)
    places = (select(Community.id, Community.name, Grid.name, Compound.id, Compound.name)
              .outerjoin(Grid, Grid.community_id == Community.id).outerjoin(Compound, Compound.grid_id == Grid.id)
              .order_by(Community.id, Grid.id, Compound.id))
    if not with_places:
        places = places.where(Community.id.in_(select(Checkpoint.community_id).where(checkpoints_where)))
    out: PlaceGroups = []
    others = _("Other checkpoints")
    for (community_id, community), rows in groupby(db.session.execute(places), key=lambda r: (r[0], r[1])):
        if with_places:
            out.append((community, [_option("community", community_id, community)]))
        for grid, compounds in groupby(rows, key=lambda r: r[2]):
            options = []
            for *_place, compound_id, compound in compounds:
                if compound_id is None:
                    continue
                if with_places:
                    options.append(_option("compound", compound_id, compound))
                options += at_compound.get(compound_id, [])
            if options:
                out.append((f"{community}{GROUP_SEPARATOR}{grid}", options))
        if in_community.get(community_id):
            out.append((f"{community}{GROUP_SEPARATOR}{others}", in_community[community_id]))
    return out


def target_choices() -> PlaceGroups:
    """Every place an inspection can visit, grouped for a picker: each community (the community
    itself; its grids, "南街社区 › 第1网格", with their compounds and the checkpoints at their gates;
    its other checkpoints), then the work units. Values as resolve_target() reads them."""
    groups = _grouped_places(true(), with_places=True)
    units = [_option("work_unit", u_id, name)
             for u_id, name in db.session.execute(select(WorkUnit.id, WorkUnit.name).order_by(WorkUnit.id))]
    return groups + ([(_("Work units"), units)] if units else [])


def owner_choices() -> list[tuple[int, str]]:
    """People an item can be addressed to: anyone holding a role other than volunteer."""
    rows = db.session.execute(
        select(User.id, User.display_name, User.username).where(
            User.active.is_(True),
            User.id.in_(select(RoleAssignment.user_id).where(RoleAssignment.role.notin_(("volunteer", "admin"))))
        ).order_by(User.display_name))
    return [(uid, f"{name} ({username})") for uid, name, username in rows]


# --- due times ---------------------------------------------------------------------------------

def clock(severity: str, start: datetime, due_at: datetime | None = None) -> dict:
    """The times the sweeps compare, for a clock started at `start`."""
    due_at = due_at or start + timedelta(hours=DUE_HOURS[severity])
    warning = max((due_at - start) / 4, MIN_WARNING)
    return {"clock_started_at": start, "due_at": due_at, "warn_at": due_at - warning,
            "level2_due_at": due_at + timedelta(hours=LEVEL2_AFTER_HOURS[severity]),
            "warned_at": None, "due_notified_at": None}


def due_at_bounds(now: datetime | None = None) -> tuple[datetime, datetime]:
    """(after, at_most): a due time set by hand lies after now and at most MAX_DUE_DAYS ahead."""
    now = now or utcnow()
    return now, now + timedelta(days=MAX_DUE_DAYS)


def check_due_at(due_at: datetime, now: datetime | None = None) -> datetime:
    """A due time set by hand, refused (RuleError on "due_at") when past or too far ahead."""
    after, at_most = due_at_bounds(now)
    if due_at <= after:
        raise RuleError(_("The due time must be in the future."), "due_at")
    if due_at > at_most:
        raise RuleError(_("The due time can be at most %(days)d days ahead.", days=MAX_DUE_DAYS), "due_at")
    return due_at


def is_overdue(item: RectificationItem, now: datetime | None = None) -> bool:
    return item.status in CLOCK_STATES and item.due_at <= (now or utcnow())


# --- inspections and findings ----------------------------------------------------------------

def plan_inspection(actor: User, values: dict) -> Inspection:
    """values: kind, planned_at, target_type, target_id, participants (free text), summary and,
    optionally, team_ids (members of the supervision team taking part)."""
    target = resolve_target(values["target_type"], values["target_id"])
    if target is None:
        raise RuleError(_("Choose a place to inspect."), "target")
    team_ids = set(values.get("team_ids") or ())
    team = [u for u in supervision_team() if u.id in team_ids]
    if len(team) != len(team_ids):
        raise RuleError(_("Only members of the supervision team can be chosen."), "team_ids")
    inspection = Inspection(kind=values["kind"], planned_at=values["planned_at"], target_type=target.type,
                            target_id=target.id, target_name=target.name, community_id=target.community_id,
                            participants=values.get("participants", ""), summary=values.get("summary", ""),
                            created_by_id=actor.id, team=team)
    db.session.add(inspection)
    db.session.flush()
    record("inspection_planned", inspection, summary=f"kind: {inspection.kind}", actor=actor)
    return inspection


def inspections_for(user, now: datetime | None = None):
    """Inspections this user may see, newest first (a select)."""
    now = now or utcnow()
    stmt = (select(Inspection).options(selectinload(Inspection.team))
            .order_by(Inspection.planned_at.desc(), Inspection.id.desc()))
    s = scope_of(user)
    if "supervisor" in s.roles:
        return stmt
    if not (s.admin or s.town_wide):
        return stmt.where(false())
    return stmt.where(or_(Inspection.kind != "unannounced", Inspection.planned_at <= now))


def item_link(item_id: int) -> str:
    return f"/supervision/items/{item_id}"


def _owner_text(item: RectificationItem) -> str:
    return _("%(target)s: %(category)s (%(severity)s). Due %(due)s.", target=item.target_name,
             category=CATEGORY_LABELS.get(item.category, item.category),
             severity=SEVERITY_LABELS.get(item.severity, item.severity),
             due=item.due_at.astimezone(town_zone()).strftime("%Y-%m-%d %H:%M"))


MAX_PHOTOS = 6  # per finding, per evidence submission


def _add_photos(item, actor, kind: str, photos, now) -> None:
    """Rows for images already stored by gridapp.uploads.save_image (their names)."""
    photos = list(photos or ())
    if len(photos) > MAX_PHOTOS:
        raise RuleError(_("At most %(n)d photos at a time.", n=MAX_PHOTOS), "photos")
    db.session.add_all([Photo(item_id=item.id, kind=kind, stored_name=name,
                              uploaded_by_id=getattr(actor, "id", None), uploaded_at=now) for name in photos])


def photos_of(item) -> dict[str, list[Photo]]:
    out = {"finding": [], "evidence": []}
    for photo in db.session.scalars(select(Photo).where(Photo.item_id == item.id).order_by(Photo.id)):
        out.setdefault(photo.kind, []).append(photo)
    return out


def finding_targets(inspection: Inspection) -> PlaceGroups:
    """Where a finding of this inspection can be, for a picker: the inspected place itself (value "",
    in no group), or one of the active duty checkpoints inside it ("checkpoint:7"), grouped as in
    target_choices()."""
    column = {"community": Checkpoint.community_id, "compound": Checkpoint.compound_id,
              "work_unit": Checkpoint.work_unit_id}.get(inspection.target_type)
    itself = ("", f"{TARGET_LABELS.get(inspection.target_type, '')} · {inspection.target_name}")
    inside = _grouped_places(column == inspection.target_id, with_places=False) if column is not None else []
    return [(None, [itself]), *inside]


def place_values(groups: PlaceGroups) -> set[str]:
    """The values a picker of these groups offers."""
    return {value for _group, options in groups for value, _label in options}


def finding_target(inspection: Inspection, choice: str = "") -> Target | None:
    """The place a finding is about: the inspected place, or a checkpoint inside it (None if
    `choice` is not one of finding_targets())."""
    if not choice:
        return resolve_target(inspection.target_type, inspection.target_id)
    if choice not in place_values(finding_targets(inspection)):
        return None
    kind, _sep, target_id = choice.partition(":")
    return resolve_target(kind, int(target_id))


def record_finding(inspection: Inspection, actor: User, values: dict, now: datetime | None = None,
                   photos=()) -> RectificationItem:
    """A finding, and the rectification item it becomes, addressed to the target's owner (or,
    with values["owner_id"], to another of the staff eligible for the target). The target is
    the inspected place, or with values["target"] ("checkpoint:7") a checkpoint inside it.
    values["due_at"] (optional, UTC) sets the due time instead of the severity's (check_due_at()).
    `photos` are names returned by gridapp.uploads.save_image."""
    now = now or utcnow()
    due_at = values.get("due_at")
    if due_at is not None:
        check_due_at(due_at, now)
    target = finding_target(inspection, values.get("target") or "")
    if target is None and values.get("target"):
        raise RuleError(_("Choose a place inside the inspected one."), "target")
    if target is None:
        raise RuleError(_("The inspected place no longer exists."))
    if len(photos or ()) > MAX_PHOTOS:
        raise RuleError(_("At most %(n)d photos at a time.", n=MAX_PHOTOS), "photos")
    owner_id = values.get("owner_id") or None
    if owner_id is not None and owner_id != getattr(target.owner, "id", None) and \
            owner_id not in {u.id for u in eligible_owners(target)}:
        raise RuleError(_("Choose one of the people responsible for this place."), "owner_id")
    finding = Finding(inspection=inspection, category=values["category"], severity=values["severity"],
                      description=values["description"], recorded_by_id=actor.id, recorded_at=now)
    owner_id = owner_id or (target.owner.id if target.owner else None)
    item = RectificationItem(finding=finding, target_type=target.type, target_id=target.id,
                             target_name=target.name, community_id=target.community_id,
                             category=finding.category, severity=finding.severity,
                             description=finding.description, owner_id=owner_id, status="issued",
                             issued_at=now, escalation_level=0, **clock(finding.severity, now, due_at))
    db.session.add_all([finding, item])
    db.session.flush()
    _add_photos(item, actor, "finding", photos, now)
    _event(item, actor, "issued", now=now)
    summary = (f"severity: {item.severity}; category: {item.category}; owner_id: {item.owner_id}; "
               f"photos: {len(photos or ())}")
    if due_at is not None:
        summary += f"; due_at: {item.due_at.isoformat()} (set by hand)"
    record("item_issued", item, summary=summary, actor=actor)
    if item.owner_id:
        owner = db.session.get(User, item.owner_id)
        notify([owner], "supervision_item", _("Rectification item #%(id)d issued to you", id=item.id),
               _owner_text(item), dedupe_key=keys.supervision_issued(item.id), link=item_link(item.id),
               urgent=item.severity == "critical", now=now)
    return item


# --- the item state machine ------------------------------------------------------------------

def _event(item, actor, action, note="", now=None) -> ItemEvent:
    ev = ItemEvent(item_id=item.id, actor_id=getattr(actor, "id", None), action=action, note=note,
                   created_at=now or utcnow())
    db.session.add(ev)
    return ev


def _explain(actor):
    """Why a transition found no row, when there is more to say than the table's refusal: who
    verified it, that the checker cannot be the submitter, that the due time moved meanwhile."""
    def explain(item: RectificationItem, attempted: str) -> str | None:
        if item.status == "verified":
            who = item.verified_by.display_name if item.verified_by else "?"
            return _("This item was already verified by %(who)s.", who=who)
        if attempted in ("verify", "reject") and item.status == "submitted" and item.submitted_by_id == actor.id:
            return _("You submitted the evidence yourself; another member of the supervision team must check it.")
        if attempted == "extend" and item.status in CLOCK_STATES:
            return _("The due time was changed meanwhile; it is now %(due)s. Please check it and try again.",
                     due=item.due_at.astimezone(town_zone()).strftime("%Y-%m-%d %H:%M"))
        return None
    return explain


def _transition(item, actor, action: str, values: dict, *extra_where) -> None:
    """The action's conditional UPDATE (policy.ITEM); a refusal says what the item's state is now."""
    ITEM.apply(item, action, values, *extra_where, explain=_explain(actor))


def acknowledge(item, actor, now=None) -> None:
    now = now or utcnow()
    _transition(item, actor, "acknowledge", {"acknowledged_at": now})
    _event(item, actor, "acknowledged", now=now)


def submit_evidence(item, actor, evidence: str, now=None, photos=()) -> None:
    """`photos`: names returned by gridapp.uploads.save_image, kept with the evidence."""
    now = now or utcnow()
    evidence = (evidence or "").strip()
    if not evidence:
        raise RuleError(_("Describe what was done to rectify it."), "evidence")
    if len(photos or ()) > MAX_PHOTOS:
        raise RuleError(_("At most %(n)d photos at a time.", n=MAX_PHOTOS), "photos")
    _transition(item, actor, "submit",
                {"submitted_at": now, "submitted_by_id": actor.id, "evidence": evidence})
    _add_photos(item, actor, "evidence", photos, now)
    _event(item, actor, "submitted", evidence, now=now)


def verify(item, actor, note: str = "", now=None) -> None:
    now = now or utcnow()
    _transition(item, actor, "verify",
                {"verified_at": now, "verified_by_id": actor.id},
                RectificationItem.submitted_by_id != actor.id)
    _event(item, actor, "verified", note.strip(), now=now)
    record("item_verified", item, actor=actor)


def reject(item, actor, reason: str, new_due_at: datetime | None = None, now=None) -> None:
    """Back to the owner with a reason; the clock restarts with the new due time."""
    now = now or utcnow()
    reason = (reason or "").strip()
    if not reason:
        raise RuleError(_("Say why the evidence is not enough."), "reason")
    if new_due_at is not None and new_due_at <= now:
        raise RuleError(_("The new due time must be in the future."), "due_at")
    _transition(item, actor, "reject",
                {"reject_reason": reason, "submitted_at": None,
                 **clock(item.severity, now, new_due_at)},
                RectificationItem.submitted_by_id != actor.id)
    _event(item, actor, "rejected", reason, now=now)
    record("item_rejected", item, actor=actor)
    if item.owner_id:
        notify([item.owner], "supervision_item", _("Rectification item #%(id)d was rejected", id=item.id),
               _("Reason: %(reason)s", reason=reason) + " " + _owner_text(item),
               dedupe_key=keys.supervision_rejected(item.id, item.due_at), link=item_link(item.id),
               now=now)


def extend_due(item, actor, new_due_at: datetime, reason: str, seen_due_at: datetime | None = None,
               now=None) -> None:
    """The town leader moves a due time later, with a reason (audited). The new deadline's
    reminders fire again; the escalation level stays, the next level waits for the new time."""
    now = now or utcnow()
    reason = (reason or "").strip()
    if not reason:
        raise RuleError(_("Give a reason for the extension."), "reason")
    old_due = seen_due_at or item.due_at
    if new_due_at <= old_due or new_due_at <= now:
        raise RuleError(_("The new due time must be later than the current one and in the future."),
                               "due_at")
    _transition(item, actor, "extend",
                {**clock(item.severity, item.clock_started_at, new_due_at),
                 "clock_started_at": item.clock_started_at},
                RectificationItem.due_at == old_due)
    note = f"{_fmt(old_due)} → {_fmt(new_due_at)}: {reason}"
    _event(item, actor, "extended", note, now=now)
    record("item_due_extended", item, summary=f"due_at: {old_due.isoformat()} → {new_due_at.isoformat()}; "
                                              f"reason: {reason}", actor=actor)
    if item.owner_id:
        notify([item.owner], "supervision_item", _("Due time of item #%(id)d extended", id=item.id),
               _owner_text(item), dedupe_key=f"supervision-extended:{item.id}:{new_due_at.isoformat()}",
               link=item_link(item.id), now=now)


def reassign(item, actor, owner_id: int, now=None) -> None:
    now = now or utcnow()
    owner = db.session.get(User, owner_id)
    if owner is None or not owner.active:
        raise RuleError(_("Choose an active account."), "owner_id")
    before = item.owner_id
    _transition(item, actor, "reassign", {"owner_id": owner.id})
    _event(item, actor, "reassigned", owner.display_name, now=now)
    record("item_reassigned", item, summary=f"owner_id: {before} → {owner.id}", actor=actor)
    notify([owner], "supervision_item", _("Rectification item #%(id)d issued to you", id=item.id),
           _owner_text(item), dedupe_key=f"supervision-issued:{item.id}:u{owner.id}", link=item_link(item.id),
           now=now)


def add_comment(item, actor, body: str, now=None) -> ItemComment:
    body = (body or "").strip()
    if not body:
        raise RuleError(_("Write a comment first."), "body")
    comment = ItemComment(item_id=item.id, author_id=actor.id, body=body, created_at=now or utcnow())
    db.session.add(comment)
    return comment


def _fmt(moment: datetime) -> str:
    return moment.astimezone(town_zone()).strftime("%Y-%m-%d %H:%M")


def history(item):
    return db.session.scalars(select(ItemEvent).options(joinedload(ItemEvent.actor))
                              .where(ItemEvent.item_id == item.id).order_by(ItemEvent.id)).all()


def comments(item):
    return db.session.scalars(select(ItemComment).options(joinedload(ItemComment.author).lazyload(User.roles))
                              .where(ItemComment.item_id == item.id).order_by(ItemComment.id)).all()


# --- the sweeps ---------------------------------------------------------------------------------

def _claim(condition, values) -> list[int]:
    """UPDATE … WHERE condition RETURNING id: the rows this sweep (and no other) moved."""
    stmt = (update(RectificationItem).where(RectificationItem.status.in_(CLOCK_STATES), condition)
            .values(**values).returning(RectificationItem.id).execution_options(synchronize_session=False))
    return list(db.session.execute(stmt).scalars())


def _items(ids):
    if not ids:
        return []
    return db.session.scalars(select(RectificationItem).options(selectinload(RectificationItem.owner))
                              .where(RectificationItem.id.in_(ids)).order_by(RectificationItem.id)).all()


def send_reminders(now: datetime | None = None) -> dict:
    """Tell owners when a quarter of the time is left (at least 1 h before) and at the due time.
    The dedupe keys carry the due time, so a later deadline is announced again. None is urgent:
    a deadline that falls at night is told by e-mail and SMS when the owner's quiet hours end
    (the inbox has it at once)."""
    now = now or utcnow()
    warned = _claim(RectificationItem.warned_at.is_(None) & (RectificationItem.warn_at <= now)
                    & (RectificationItem.due_at > now), {"warned_at": now})
    due = _claim(RectificationItem.due_notified_at.is_(None) & (RectificationItem.due_at <= now),
                 {"due_notified_at": now, "warned_at": func.coalesce(RectificationItem.warned_at, now)})
    for item in _items(warned):
        if item.owner:
            notify([item.owner], "supervision_reminder",
                   _("Item #%(id)d is due at %(due)s", id=item.id, due=_fmt(item.due_at)), _owner_text(item),
                   dedupe_key=keys.supervision_warn(item.id, item.due_at),
                   link=item_link(item.id), now=now)
    for item in _items(due):
        if item.owner:
            notify([item.owner], "supervision_reminder", _("Item #%(id)d is due now", id=item.id),
                   _owner_text(item), dedupe_key=keys.supervision_due(item.id, item.due_at),
                   link=item_link(item.id), now=now)
    return {"warned": len(warned), "due": len(due)}


def escalate_overdue(now: datetime | None = None) -> dict:
    """Overdue and not submitted: level 1 (the community secretary) at the due time, level 2
    (the town leader) after the further wait. Levels only rise; each is claimed by one
    conditional UPDATE, so two sweeps at once escalate and notify once."""
    now = now or utcnow()
    level1 = _claim((RectificationItem.escalation_level < 1) & (RectificationItem.due_at <= now),
                    {"escalation_level": 1, "level1_at": now})
    level2 = _claim((RectificationItem.escalation_level == 1) & (RectificationItem.level2_due_at <= now),
                    {"escalation_level": 2, "level2_at": now})
    events = [{"item_id": i, "actor_id": None, "action": "escalated", "note": "1", "created_at": now}
              for i in level1]
    events += [{"item_id": i, "actor_id": None, "action": "escalated", "note": "2", "created_at": now}
               for i in level2]
    if events:
        db.session.execute(insert(ItemEvent), events)
    items1 = _items(level1)
    secretaries = holders("secretary", {i.community_id for i in items1 if i.community_id})
    leaders = town_leaders() if (level2 or any(not secretaries.get(i.community_id) for i in items1)) else []
    for item in items1:
        # No community (or no secretary): the town leader hears it at once.
        recipients = secretaries.get(item.community_id) or leaders
        _escalation_notice(item, 1, recipients, now)
    for item in _items(level2):
        _escalation_notice(item, 2, leaders, now)
    return {"level1": len(level1), "level2": len(level2)}


def _escalation_notice(item, level, recipients, now):
    # Not urgent, even for a critical item: an item overdue at midnight is acted on in the
    # morning, so e-mail and SMS wait for the end of quiet hours (the inbox has it at once).
    notify(recipients, "supervision_escalation",
           _("Overdue: item #%(id)d escalated to you (level %(level)d)", id=item.id, level=level),
           _owner_text(item) + " " + _("Owner: %(owner)s.", owner=item.owner.display_name if item.owner else "—"),
           dedupe_key=keys.supervision_escalation(item.id, level), link=item_link(item.id), now=now)


# --- lists, the dashboard, the tally ------------------------------------------------------------

def items_query(user, status: str = "", mine: bool = False, overdue_at: datetime | None = None,
                issued_between: tuple[datetime, datetime] | None = None, community_id: int | None = None):
    """The items this user sees (item_clause), narrowed by the list's filters; `community_id` only
    narrows (it never shows an item the user could not see without it)."""
    stmt = (select(RectificationItem).options(joinedload(RectificationItem.owner).lazyload(User.roles))
            .where(item_clause(user)).order_by(RectificationItem.due_at, RectificationItem.id))
    if community_id is not None:
        stmt = stmt.where(RectificationItem.community_id == community_id)
    if issued_between is not None:
        stmt = stmt.where(RectificationItem.issued_at >= issued_between[0],
                          RectificationItem.issued_at < issued_between[1])
    if mine:
        stmt = stmt.where(RectificationItem.owner_id == user.id)
    if status == "open":
        stmt = stmt.where(RectificationItem.status != "verified")
    elif status:
        stmt = stmt.where(RectificationItem.status == status)
    if overdue_at is not None:
        stmt = stmt.where(RectificationItem.status.in_(CLOCK_STATES), RectificationItem.due_at <= overdue_at)
    return stmt


def _in_communities(communities):
    """Items of these communities (None: the whole town)."""
    if communities is None:
        return RectificationItem.id.isnot(None)
    return RectificationItem.community_id.in_(communities)


def tally(start: date, end: date, communities=None) -> dict:
    """约谈 N 人、印发通报 N 期、督办整改问题 N 条 for the period (town days, inclusive). For some
    communities only: their items, and the interviews and circulars about those items."""
    lo, hi = town_days(start, end)
    interviews = select(func.count(Interview.id)).where(Interview.held_on >= start, Interview.held_on <= end)
    circulars = select(func.count(Circular.id)).where(Circular.issued_on >= start, Circular.issued_on <= end)
    if communities is not None:
        interviews = interviews.where(Interview.id.in_(
            select(interview_items.c.interview_id).join(RectificationItem,
                                                        RectificationItem.id == interview_items.c.item_id)
            .where(_in_communities(communities))))
        circulars = circulars.where(Circular.id.in_(
            select(circular_items.c.circular_id).join(RectificationItem,
                                                      RectificationItem.id == circular_items.c.item_id)
            .where(_in_communities(communities))))
    items = (select(func.count(RectificationItem.id))
             .where(RectificationItem.issued_at >= lo, RectificationItem.issued_at < hi, _in_communities(communities)))
    # The three counts in one statement (each a subquery of its own).
    row = db.session.execute(select(interviews.scalar_subquery(), circulars.scalar_subquery(),
                                    items.scalar_subquery())).one()
    return {"interviews": row[0], "circulars": row[1], "items": row[2]}


def dashboard(start: date, end: date, now: datetime | None = None, communities=None) -> dict:
    """The dashboard's figures, for the town or (communities: ids) for a secretary's communities."""
    now = now or utcnow()
    open_ = (RectificationItem.status != "verified") & _in_communities(communities)
    by_level = dict(db.session.execute(select(RectificationItem.escalation_level, func.count())
                                       .where(open_).group_by(RectificationItem.escalation_level)).all())
    by_community = db.session.execute(
        select(func.coalesce(Community.name, ""), func.count(RectificationItem.id),
               func.sum(case((RectificationItem.escalation_level > 0, 1), else_=0)))
        .select_from(RectificationItem).outerjoin(Community, Community.id == RectificationItem.community_id)
        .where(open_).group_by(Community.name).order_by(func.count(RectificationItem.id).desc())).all()
    by_category = db.session.execute(select(RectificationItem.category, func.count()).where(open_)
                                     .group_by(RectificationItem.category).order_by(func.count().desc())).all()
    overdue = db.session.scalars(
        select(RectificationItem).options(joinedload(RectificationItem.owner).lazyload(User.roles))
        .where(RectificationItem.status.in_(CLOCK_STATES), RectificationItem.due_at <= now,
               _in_communities(communities))
        .order_by(RectificationItem.escalation_level.desc(), RectificationItem.due_at).limit(50)).all()
    lo, hi = town_days(start, end)
    spans = [(v - i).total_seconds() for i, v in db.session.execute(
        select(RectificationItem.issued_at, RectificationItem.verified_at)
        .where(RectificationItem.verified_at >= lo, RectificationItem.verified_at < hi,
               _in_communities(communities)))]
    median = timedelta(seconds=statistics.median(spans)) if spans else None
    return {"by_level": [(lvl, by_level.get(lvl, 0)) for lvl in (0, 1, 2)], "by_community": by_community,
            "by_category": by_category, "overdue": overdue, "median": median, "verified": len(spans),
            "tally": tally(start, end, communities)}


# --- interviews and circulars --------------------------------------------------------------------

def _items_by_ids(ids) -> list[RectificationItem]:
    return db.session.scalars(select(RectificationItem).where(RectificationItem.id.in_(ids or []))).all()


def record_interview(actor, values: dict) -> Interview:
    interview = Interview(person_name=values["person_name"], person_id=values.get("person_id"),
                          interviewer=values["interviewer"], reason=values["reason"], held_on=values["held_on"],
                          created_by_id=actor.id, items=_items_by_ids(values.get("item_ids")))
    db.session.add(interview)
    db.session.flush()
    record("interview_recorded", interview, actor=actor)
    return interview


def next_circular_number() -> int:
    return (db.session.scalar(select(func.max(Circular.number))) or 0) + 1


def issue_circular(actor, values: dict) -> Circular:
    """第 N 期: the number is unique; if two are issued at once, the second is told to renumber."""
    number = values.get("number") or next_circular_number()
    circular = Circular(number=number, title=values["title"], body=values["body"], issued_on=values["issued_on"],
                        created_by_id=actor.id, items=_items_by_ids(values.get("item_ids")))
    try:
        with db.session.begin_nested():
            db.session.add(circular)
            db.session.flush()
    except IntegrityError:
        raise RuleError(_("Circular No. %(n)d already exists; the next free number is %(m)d.",
                                 n=number, m=next_circular_number()), "number") from None
    record("circular_issued", circular, actor=actor)
    return circular


def recent_items(limit: int = 100):
    """Items to link from an interview or a circular: the most recent first."""
    return db.session.execute(select(RectificationItem.id, RectificationItem.target_name,
                                     RectificationItem.category)
                              .order_by(RectificationItem.id.desc()).limit(limit)).all()


def my_open_items(user, now: datetime | None = None, limit: int = 3) -> tuple[int, int, list]:
    """The person's own open items (the list items_query(user, "open", mine=True) gives) for the
    home page: (how many, how many overdue, the `limit` due soonest). Two statements (one when
    there are none)."""
    now = now or utcnow()
    mine = items_query(user, status="open", mine=True)
    overdue = RectificationItem.status.in_(CLOCK_STATES) & (RectificationItem.due_at <= now)
    total, late = db.session.execute(mine.with_only_columns(
        func.count(RectificationItem.id), func.coalesce(func.sum(case((overdue, 1), else_=0)), 0))
        .order_by(None)).one()
    # The owner is the person: their roles are loaded already.
    nearest = mine.options(joinedload(RectificationItem.owner).lazyload(User.roles)).limit(limit)
    return total, late, list(db.session.scalars(nearest)) if total else []
