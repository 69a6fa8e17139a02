"""The rules of disinfection rounds: windows, slot generation, the one-tap tick, the missed-round
sweep, the flags of repeated misses and the compliance figures. No request, no HTML."""
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from sqlalchemy import and_, case, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import contains_eager, joinedload

from gridapp.audit.services import describe_changes, record
from gridapp.auth.models import User
from gridapp.auth.services import holders
from gridapp.core.rules import RuleError
from gridapp.disinfection import keys, policy
from gridapp.disinfection.models import (
    POINT_KINDS,
    RISK_TIERS,
    TASKS,
    CompoundRisk,
    DisinfectionDayTally,
    DisinfectionFlag,
    DisinfectionPoint,
    DisinfectionRound,
    DisinfectionSlot,
    DisinfectionTalliedDay,
)
from gridapp.extensions import db
from gridapp.grid.models import Community, Compound, Grid, PropertyCompany
from gridapp.notifications.digest import Digest
from gridapp.notifications.kinds import kind
from gridapp.notifications.services import notify
from gridapp.supervision.automatic import raise_system_finding
from gridapp.timeutil import TimeRangeError, parse_daily_ranges, town_today, town_zone, utcnow

# The notices this feature sends (registered by create_app).
# roles: who is sent each. A missed round goes to the property company's manager, or (a point the
# community looks after) to its secretary and grid member; the rest to the secretary.
NOTICE_KINDS = (
    kind("disinfection_missed", _l("Missed disinfection rounds"), channels=("email", "sms"), urgent=True,
         roles={"property_manager", "secretary", "grid_member"}),
    kind("disinfection_compound", _l("Compounds with many missed rounds"), channels=("email",), roles={"secretary"}),
    kind("disinfection_flag", _l("Points missed three days running"), channels=("email",), roles={"secretary"}),
)

KIND_LABELS = {
    "elevator": _l("Elevator"), "public_toilet": _l("Public toilet"), "stairwell": _l("Stairwell"),
    "garbage_point": _l("Garbage point"), "activity_area": _l("Activity area"), "shop": _l("Shop"),
    "other": _l("Other"),
}
TASK_LABELS = {"disinfection": _l("Disinfection"), "garbage": _l("Garbage clearance")}
TIER_LABELS = {"low": _l("Low risk"), "normal": lazy_pgettext("risk tier", "Normal"), "high": _l("High risk")}

# The required windows per task and risk tier (in the town's zone); a higher tier means more rounds.
DEFAULT_WINDOWS = {
    "disinfection": {
        "low": "06:00-10:00,17:00-21:00",
        "normal": "06:00-10:00,11:00-15:00,17:00-21:00",
        "high": "06:00-08:00,09:00-11:00,12:00-14:00,15:00-17:00,18:00-20:00",
    },
    "garbage": {
        "low": "06:00-09:00,18:00-21:00",
        "normal": "06:00-09:00,11:00-14:00,18:00-21:00",
        "high": "06:00-08:00,10:00-12:00,14:00-16:00,18:00-20:00",
    },
}
MAX_WINDOWS = 8
MAX_BULK = 50
SECRETARY_THRESHOLD = 3  # misses of one compound in a day that the secretary hears about
FLAG_DAYS = 3  # consecutive days with a miss that raise a flag


def grace() -> timedelta:
    return timedelta(minutes=int(current_app.config.get("DISINFECTION_GRACE_MINUTES", 30)))


def _insert(model):
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


# --- windows -------------------------------------------------------------------------------------

def parse_windows(text: str) -> list[tuple[str, time, time | None]]:
    """'06:00-10:00, 22:00-02:00' → [(label, start, end)]; an end at or before the start crosses
    midnight. Raises RuleError with a message for people."""
    try:
        out = parse_daily_ranges(text)
    except TimeRangeError as exc:
        message = (_("Write windows as 06:00-10:00, separated by commas.") if exc.kind == "format"
                   else _("A window must not start and end at the same time."))
        raise RuleError(message, "windows") from None
    if len(out) > MAX_WINDOWS:
        raise RuleError(_("At most %(n)d windows a day.", n=MAX_WINDOWS), "windows")
    if len({label for label, *_rest in out}) != len(out):
        raise RuleError(_("The same window is listed twice."), "windows")
    return sorted(out, key=lambda w: w[1])


def effective_windows(point: DisinfectionPoint, tier: str = "normal") -> str:
    """The point's own windows, or its task's defaults; a higher risk tier never means fewer rounds."""
    defaults = DEFAULT_WINDOWS.get(point.task, DEFAULT_WINDOWS["disinfection"])
    own = point.windows or defaults["normal" if tier == "high" else tier]
    if tier == "high" and len(parse_windows(defaults["high"])) > len(parse_windows(own)):
        return defaults["high"]
    return own


def window_bounds(day: date, start: time, end: time | None) -> tuple[datetime, datetime]:
    """A window of a local day as UTC instants; it belongs to the day it starts."""
    zone = town_zone()
    starts = datetime.combine(day, start, tzinfo=zone)
    if end is None or end <= start:
        ends = datetime.combine(day + timedelta(days=1), end or time(0), tzinfo=zone)
    else:
        ends = datetime.combine(day, end, tzinfo=zone)
    return starts.astimezone(UTC), ends.astimezone(UTC)


# --- slot generation ------------------------------------------------------------------------------

def _tiers(compound_ids) -> dict[int, str]:
    ids = {c for c in compound_ids if c is not None}
    if not ids:
        return {}
    return dict(db.session.execute(select(CompoundRisk.compound_id, CompoundRisk.tier)
                                   .where(CompoundRisk.compound_id.in_(ids))).all())


def ensure_slots(days, point_ids=None, missing_only: bool = False) -> int:
    """Create the missing slots of these local days for the active points (all, or these), from
    the point's creation on: idempotent (the unique point × day × window, ON CONFLICT DO NOTHING).
    With missing_only, a point that has any slot on a day is left alone for that day (the
    periodic sweep: one read instead of re-sending every slot of the town every five minutes;
    a change of windows remakes a point's slots itself). Returns the number of rows added."""
    stmt = select(DisinfectionPoint.id, DisinfectionPoint.compound_id, DisinfectionPoint.task,
                  DisinfectionPoint.windows, DisinfectionPoint.created_at).where(DisinfectionPoint.active.is_(True))
    if point_ids is not None:
        point_ids = list(point_ids)
        if not point_ids:
            return 0
        stmt = stmt.where(DisinfectionPoint.id.in_(point_ids))
    points = db.session.execute(stmt).all()
    have = set()
    if missing_only:
        have = {(point_id, day) for point_id, day in db.session.execute(
            select(DisinfectionSlot.point_id, DisinfectionSlot.day)
            .where(DisinfectionSlot.day.in_(list(days))).distinct())}
    tiers = _tiers(p.compound_id for p in points)
    parsed: dict[str, list] = {}
    rows = []
    for p in points:
        spec = effective_windows(p, tiers.get(p.compound_id, "normal"))
        if spec not in parsed:
            parsed[spec] = parse_windows(spec)
        for day in days:
            if (p.id, day) in have:
                continue
            for label, start, end in parsed[spec]:
                starts, ends = window_bounds(day, start, end)
                if ends <= p.created_at:
                    continue  # a point is not missed before it existed
                rows.append({"point_id": p.id, "day": day, "window": label, "starts_at": starts,
                             "ends_at": ends, "status": "pending", "late": False})
    if not rows:
        return 0
    stmt = _insert(DisinfectionSlot).on_conflict_do_nothing(index_elements=["point_id", "day", "window"])
    return len(db.session.execute(stmt.returning(DisinfectionSlot.id), rows).all())


def _drop_future_pending(point_ids, now: datetime) -> None:
    """Windows changed: slots not yet begun are made again from the new windows."""
    db.session.execute(delete(DisinfectionSlot).where(
        DisinfectionSlot.point_id.in_(list(point_ids)), DisinfectionSlot.status == "pending",
        DisinfectionSlot.starts_at > now))


def _regenerate(point_ids, now: datetime) -> None:
    _drop_future_pending(point_ids, now)
    today = town_today(now)
    ensure_slots([today, today + timedelta(days=1)], point_ids)


# --- points ---------------------------------------------------------------------------------------

def create_points(actor, *, compound: Compound | None = None, community: Community | None = None,
                  values: dict, now: datetime | None = None) -> list[DisinfectionPoint]:
    """Bulk creation: "elevator × 6" becomes 电梯 1 … 电梯 6 (name prefix and count)."""
    now = now or utcnow()
    kind, task = values["kind"], values.get("task") or "disinfection"
    if kind not in POINT_KINDS or task not in TASKS:
        raise RuleError(_("Choose a kind from the list."), "kind")
    count = int(values.get("count") or 1)
    if not 1 <= count <= MAX_BULK:
        raise RuleError(_("Between 1 and %(n)d points at once.", n=MAX_BULK), "count")
    windows = (values.get("windows") or "").strip()
    if windows:
        windows = ",".join(label for label, *_rest in parse_windows(windows))
    prefix = (values.get("name") or "").strip() or str(KIND_LABELS[kind])
    if compound is not None:
        community_id, place_name = compound.grid.community_id, ""
    else:
        community_id = community.id
        place_name = (values.get("place_name") or "").strip()
        if not place_name:
            raise RuleError(_("Name the public place."), "place_name")
    points = []
    for i in range(1, count + 1):
        name = prefix if count == 1 else f"{prefix} {i}"
        points.append(DisinfectionPoint(community_id=community_id, compound_id=getattr(compound, "id", None),
                                        place_name=place_name, name=name[:100], kind=kind, task=task,
                                        windows=windows, active=True, created_at=now))
    db.session.add_all(points)
    db.session.flush()
    record("disinfection_points_created", compound or community, actor=actor,
           summary=f"disinfection points: {kind} × {count} ({task})")
    _regenerate([p.id for p in points], now)
    return points


def update_point(actor, point: DisinfectionPoint, values: dict, now: datetime | None = None) -> None:
    now = now or utcnow()
    windows = (values.get("windows") or "").strip()
    if windows:
        windows = ",".join(label for label, *_rest in parse_windows(windows))
    before = {"name": point.name, "windows": point.windows, "active": point.active}
    point.name = (values.get("name") or point.name).strip()[:100]
    point.windows = windows
    point.active = bool(values.get("active"))

    record("disinfection_point_updated", point, actor=actor,
           summary=describe_changes(before, {"name": point.name, "windows": point.windows, "active": point.active}))
    db.session.flush()
    if point.active:
        _regenerate([point.id], now)
    else:
        _drop_future_pending([point.id], now)


def tier_of(compound: Compound) -> str:
    return _tiers([compound.id]).get(compound.id, "normal")


def set_risk(actor, compound: Compound, tier: str, now: datetime | None = None) -> None:
    """Raises (or lowers) the rounds of every point of the compound from the next window on."""
    if tier not in RISK_TIERS:
        raise RuleError(_("Choose a risk tier from the list."), "tier")
    now = now or utcnow()
    before = tier_of(compound)
    stmt = _insert(CompoundRisk).values(compound_id=compound.id, tier=tier, updated_at=now)
    db.session.execute(stmt.on_conflict_do_update(index_elements=["compound_id"],
                                                  set_={"tier": tier, "updated_at": now}))
    record("disinfection_risk_set", compound, actor=actor, summary=f"disinfection risk tier: {before} → {tier}")
    ids = db.session.scalars(select(DisinfectionPoint.id).where(DisinfectionPoint.compound_id == compound.id,
                                                                DisinfectionPoint.active.is_(True))).all()
    if ids:
        _regenerate(ids, now)


def points_of(compound: Compound | None = None, community: Community | None = None):
    stmt = select(DisinfectionPoint).order_by(DisinfectionPoint.place_name, DisinfectionPoint.id)
    if compound is not None:
        stmt = stmt.where(DisinfectionPoint.compound_id == compound.id)
    else:
        stmt = stmt.where(DisinfectionPoint.community_id == community.id, DisinfectionPoint.compound_id.is_(None))
    return list(db.session.scalars(stmt))


def load_point(point_id: int) -> DisinfectionPoint | None:
    return db.session.scalars(
        select(DisinfectionPoint).where(DisinfectionPoint.id == point_id)
        .options(joinedload(DisinfectionPoint.compound).joinedload(Compound.grid),
                 joinedload(DisinfectionPoint.community))
    ).first()


# --- ticking --------------------------------------------------------------------------------------

@dataclass
class TickResult:
    outcome: str  # on_time, late, extra, duplicate (the same tap again), taken (someone else's tick)
    slot: DisinfectionSlot | None = None
    round: DisinfectionRound | None = None

    @property
    def recorded(self) -> bool:
        return self.outcome in ("on_time", "late", "extra")


def new_tick_token() -> str:
    return secrets.token_urlsafe(16)


def open_slot(point_id: int, now: datetime) -> DisinfectionSlot | None:
    """The slot a tick now counts for: a window that is open, or closed less than the grace ago;
    the pending one first, and within the window before a late one."""
    stmt = (select(DisinfectionSlot)
            .where(DisinfectionSlot.point_id == point_id, DisinfectionSlot.starts_at <= now,
                   DisinfectionSlot.ends_at > now - grace(),
                   DisinfectionSlot.status != "missed")
            .order_by(case((DisinfectionSlot.status == "pending", 0), else_=1),
                      case((DisinfectionSlot.ends_at > now, 0), else_=1), DisinfectionSlot.starts_at)
            .options(joinedload(DisinfectionSlot.done_by).lazyload(User.roles)).limit(1))
    return db.session.scalars(stmt).first()


def tick(point: DisinfectionPoint, actor: User, *, disinfectant: str = "", note: str = "",
         token: str | None = None, photo: str = "", now: datetime | None = None) -> TickResult:
    """Record a round now (server time; nobody chooses it). One conditional UPDATE … WHERE
    status = 'pending' decides which of two ticks for a slot counts; the tick token makes the
    same tap sent twice one round, even outside any window."""
    now = now or utcnow()
    if not point.active:
        raise RuleError(_("This point is switched off: no rounds are recorded for it."))
    disinfectant, note = (disinfectant or "").strip()[:100], (note or "").strip()[:1000]
    if token:
        earlier = db.session.scalars(select(DisinfectionRound).where(DisinfectionRound.tick_token == token)).first()
        if earlier is not None:
            return TickResult("duplicate", round=earlier)
    today = town_today(now)
    # Yesterday too: a window that crosses midnight belongs to the day it starts.
    ensure_slots([today - timedelta(days=1), today], [point.id])
    slot = open_slot(point.id, now)
    if slot is not None:
        late = now >= slot.ends_at
        won = db.session.execute(
            update(DisinfectionSlot)
            .where(DisinfectionSlot.id == slot.id, DisinfectionSlot.status == "pending")
            .values(status="done", done_at=now, done_by_id=actor.id, late=late)
            .execution_options(synchronize_session=False)
        ).rowcount == 1
        if not won:
            db.session.refresh(slot)
            return TickResult("taken", slot=slot)
        kind = "late" if late else "on_time"
    else:
        kind = "extra"
    stmt = _insert(DisinfectionRound).values(
        point_id=point.id, slot_id=slot.id if slot else None, kind=kind, ticked_at=now, ticked_by_id=actor.id,
        disinfectant=disinfectant, note=note, photo=photo, tick_token=token)
    round_id = db.session.execute(stmt.on_conflict_do_nothing().returning(DisinfectionRound.id)).scalar()
    if round_id is None:  # the same token won a moment ago in another transaction
        return TickResult("duplicate")
    if disinfectant and disinfectant != point.last_disinfectant:
        point.last_disinfectant = disinfectant
    record("disinfection_ticked", point, actor=actor,
           summary=f"{kind}{' ' + slot.window if slot else ''}{' photo' if photo else ''}")
    if slot is not None:
        db.session.refresh(slot)
    return TickResult(kind, slot=slot, round=db.session.get(DisinfectionRound, round_id))


# --- what a person sees today ---------------------------------------------------------------------

def slot_state(slot: DisinfectionSlot, now: datetime) -> str:
    """pending slots split by time: due (window open), late (in the grace), upcoming, overdue."""
    if slot.status != "pending":
        return slot.status
    if now < slot.starts_at:
        return "upcoming"
    if now < slot.ends_at:
        return "due"
    if now < slot.ends_at + grace():
        return "late"
    return "overdue"  # closed, the sweep has not run yet


STATE_ORDER = {"due": 0, "late": 1, "overdue": 2, "upcoming": 3, "missed": 4, "done": 5}


def _state_order(now: datetime):
    """slot_state()'s order (STATE_ORDER) as SQL, so that the database sorts and pages."""
    return case(
        (DisinfectionSlot.status == "done", STATE_ORDER["done"]),
        (DisinfectionSlot.status != "pending", STATE_ORDER["missed"]),
        (DisinfectionSlot.starts_at > now, STATE_ORDER["upcoming"]),
        (DisinfectionSlot.ends_at > now, STATE_ORDER["due"]),
        (DisinfectionSlot.ends_at > now - grace(), STATE_ORDER["late"]),
        else_=STATE_ORDER["overdue"],
    )


@dataclass(frozen=True)
class TodayGroup:
    """One compound (or one community's public places) on the "today" page, counted by state."""

    kind: str  # "compound" or "places"
    id: int
    name: str
    due: int  # due or late: can be ticked now
    done: int
    missed: int  # missed, or closed and not yet swept (overdue)
    later: int  # upcoming
    by_state: tuple  # slot_state() counts, in STATE_ORDER's order

    @property
    def total(self) -> int:
        return self.due + self.done + self.missed + self.later


def state_counts(groups) -> dict:
    """today_for()'s counts by state, added up over these groups."""
    return {state: sum(g.by_state[i] for g in groups) for i, state in enumerate(STATE_ORDER)}


def _today_scope(user, today: date, group: tuple[str, int] | None = None):
    def scope(stmt):
        stmt = (stmt.join(DisinfectionSlot.point).outerjoin(Compound, Compound.id == DisinfectionPoint.compound_id)
                .where(DisinfectionSlot.day == today, DisinfectionPoint.active.is_(True),
                       policy.responsible_clause(user)))
        if group is not None:
            kind, gid = group
            if kind == "compound":
                stmt = stmt.where(DisinfectionPoint.compound_id == gid)
            else:
                stmt = stmt.where(DisinfectionPoint.compound_id.is_(None), DisinfectionPoint.community_id == gid)
        return stmt
    return scope


def _ensure_today_slots(user, today: date) -> None:
    """The first visit of a day the sweep has not reached makes the user's slots (one statement
    to look, one write when some are missing)."""
    missing = db.session.scalars(
        select(DisinfectionPoint.id).outerjoin(Compound, Compound.id == DisinfectionPoint.compound_id)
        .where(DisinfectionPoint.active.is_(True), policy.responsible_clause(user),
               ~select(DisinfectionSlot.id).where(DisinfectionSlot.point_id == DisinfectionPoint.id,
                                                  DisinfectionSlot.day == today).exists())).all()
    if missing:
        ensure_slots([today], missing)


def today_for(user, now: datetime | None = None, page: int = 1, per_page: int = 25, *,
              group: tuple[str, int] | None = None, due_only: bool = False, groups: list | None = None):
    """The user's points × today's windows, what is due now first, one page of them; only one
    compound's (or one community's public places') with `group`, only what can be ticked now
    with `due_only` (then ordered by compound, so that the page reads compound by compound).
    Returns (rows of (slot, state), counts by state, total). Three statements whatever
    the number of points, plus one write on the first visit of a day the sweep has not
    reached; one, when `groups` (today_groups(), for the same user and instant) gives the counts."""
    now = now or utcnow()
    today = town_today(now)
    scope = _today_scope(user, today, group)
    order = _state_order(now)
    if groups is None:
        _ensure_today_slots(user, today)
        by_order = dict(db.session.execute(scope(select(order, func.count(DisinfectionSlot.id)).select_from(
            DisinfectionSlot)).group_by(order)).all())
        counts = {state: by_order.get(n, 0) for state, n in STATE_ORDER.items()}
    else:  # today_groups() made the day's slots and counted them: no statement again
        counts = state_counts([g for g in groups if group is None or (g.kind, g.id) == group])
    total = counts["due"] + counts["late"] if due_only else sum(counts.values())
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    place = func.coalesce(Compound.name, DisinfectionPoint.place_name)
    stmt = scope(select(DisinfectionSlot))
    if due_only:
        stmt = stmt.where(order.in_([STATE_ORDER["due"], STATE_ORDER["late"]])).order_by(
            DisinfectionPoint.compound_id.is_(None), place, DisinfectionPoint.compound_id, order,
            DisinfectionSlot.ends_at)
    else:
        stmt = stmt.order_by(order, DisinfectionSlot.ends_at, place)
    slots = db.session.scalars(
        stmt.options(contains_eager(DisinfectionSlot.point).contains_eager(DisinfectionPoint.compound),
                     joinedload(DisinfectionSlot.done_by).lazyload(User.roles))
        .order_by(DisinfectionSlot.point_id, DisinfectionSlot.id)
        .limit(per_page).offset((page - 1) * per_page)
    ).unique().all()
    return [(s, slot_state(s, now)) for s in slots], counts, total


def today_groups(user, now: datetime | None = None) -> list[TodayGroup]:
    """The user's compounds (and communities' public places) today, counted by state, those with
    rounds due now first, then those with misses: one statement whatever the number of points,
    and first the one that makes a new day's slots if the sweep has not (see today_for)."""
    now = now or utcnow()
    today = town_today(now)
    _ensure_today_slots(user, today)
    order = _state_order(now)
    public = DisinfectionPoint.compound_id.is_(None)
    key = case((public, DisinfectionPoint.community_id), else_=DisinfectionPoint.compound_id)
    # A row per place and state (the state worked out once per slot), added up here.
    rows = db.session.execute(
        _today_scope(user, today)(
            select(public, key, order, func.min(func.coalesce(Compound.name, Community.name)), func.count())
            .select_from(DisinfectionSlot))
        .join(Community, Community.id == DisinfectionPoint.community_id)
        .group_by(public, key, order)).all()
    states = list(STATE_ORDER)  # STATE_ORDER's values are 0, 1, … in its order
    by_place: dict = {}
    for is_public, gid, state, name, n in rows:
        place = by_place.setdefault((bool(is_public), gid), [name, [0] * len(states)])
        place[1][state] += n
    groups = []
    for (is_public, gid), (name, n) in by_place.items():
        c = dict(zip(states, n, strict=True))
        groups.append(TodayGroup("places" if is_public else "compound", gid, name, c["due"] + c["late"], c["done"],
                                 c["missed"] + c["overdue"], c["upcoming"], tuple(n)))
    return sorted(groups, key=lambda g: (g.due == 0, g.missed == 0, g.kind == "places", g.name, g.id))


def slots_of_point(point: DisinfectionPoint, now: datetime | None = None) -> list[tuple[DisinfectionSlot, str]]:
    now = now or utcnow()
    today = town_today(now)
    if point.active:
        ensure_slots([today], [point.id])
    slots = db.session.scalars(select(DisinfectionSlot).where(DisinfectionSlot.point_id == point.id,
                                                              DisinfectionSlot.day == today)
                               .options(joinedload(DisinfectionSlot.done_by).lazyload(User.roles))
                               .order_by(DisinfectionSlot.starts_at)).all()
    return [(s, slot_state(s, now)) for s in slots]


def recent_rounds(point: DisinfectionPoint, limit: int = 10) -> list[DisinfectionRound]:
    return list(db.session.scalars(select(DisinfectionRound).where(DisinfectionRound.point_id == point.id)
                                   .options(joinedload(DisinfectionRound.ticked_by))
                                   .order_by(DisinfectionRound.ticked_at.desc()).limit(limit)))


# --- the missed-round sweep -----------------------------------------------------------------------

def mark_missed(now: datetime | None = None) -> dict:
    """One set-based UPDATE marks every pending slot whose window (and grace) has closed as missed;
    the responsible managers hear of them at once, the secretary of a compound's third miss of a
    day. Running it twice, or two at once, marks and notifies once (RETURNING + dedupe keys)."""
    now = now or utcnow()
    missed = db.session.execute(
        update(DisinfectionSlot)
        .where(DisinfectionSlot.status == "pending", DisinfectionSlot.ends_at <= now - grace())
        .values(status="missed", missed_at=now)
        .returning(DisinfectionSlot.id)
        .execution_options(synchronize_session=False)
    ).scalars().all()
    result = {"missed": len(missed), "notified": 0, "secretaries": 0}
    if not missed:
        return result
    rows = db.session.execute(
        select(DisinfectionSlot.id, DisinfectionSlot.day, DisinfectionSlot.window, DisinfectionPoint.id,
               DisinfectionPoint.name, DisinfectionPoint.place_name, DisinfectionPoint.community_id,
               Compound.id, Compound.name, Compound.property_company_id, Compound.grid_id)
        .join(DisinfectionPoint, DisinfectionPoint.id == DisinfectionSlot.point_id)
        .outerjoin(Compound, Compound.id == DisinfectionPoint.compound_id)
        .where(DisinfectionSlot.id.in_(missed))).all()
    managers = holders("property_manager", {r[9] for r in rows if r[9]})
    secretaries = holders("secretary", {r[6] for r in rows})
    grid_members = holders("grid_member", {r[10] for r in rows if r[10] and not r[9]})
    # One notice per responsible party, place and window: "阳光小区 06:00-10:00: 电梯 1, 电梯 2".
    groups: dict[tuple, list] = {}
    for (_slot_id, day, window, point_id, name, place_name, community_id, compound_id, compound_name,
         company_id, grid_id) in rows:
        where = compound_name or place_name
        if company_id:
            recipients = managers.get(company_id, [])
        else:
            recipients = secretaries.get(community_id, []) + grid_members.get(grid_id, [])
        key = (keys.missed_place(compound_id, point_id), day, window)
        entry = groups.setdefault(key, {"where": where, "recipients": recipients, "names": [], "day": day,
                                        "window": window, "community_id": community_id})
        entry["names"].append(name)
    # One digest per sweep: each person hears once, whatever the number of places and windows.
    digest = Digest("disinfection_missed", now=now, link="/disinfection/",
                    title=lambda n, urgent: _("Missed disinfection rounds: %(n)d", n=n),
                    more=lambda n: _("and %(n)d more on the compliance board", n=n))
    for (_place_key, day, window), g in groups.items():
        if not g["recipients"]:
            continue
        digest.add(g["recipients"], _("%(where)s %(day)s %(window)s, not done: %(points)s", where=g["where"],
                                      day=day.isoformat(), window=window, points="、".join(g["names"])))
    result["notified"] = digest.send().inbox
    result["secretaries"] = _notify_secretaries(rows, now)
    return result


def _notify_secretaries(rows, now: datetime) -> int:
    compounds = {r[7] for r in rows if r[7]}
    days = {r[1] for r in rows}
    if not compounds:
        return 0
    counts = db.session.execute(
        select(DisinfectionPoint.compound_id, DisinfectionSlot.day, func.count(), Compound.name, Grid.community_id)
        .join(DisinfectionPoint, DisinfectionPoint.id == DisinfectionSlot.point_id)
        .join(Compound, Compound.id == DisinfectionPoint.compound_id)
        .join(Grid, Grid.id == Compound.grid_id)
        .where(DisinfectionSlot.status == "missed", DisinfectionPoint.compound_id.in_(compounds),
               DisinfectionSlot.day.in_(days))
        .group_by(DisinfectionPoint.compound_id, DisinfectionSlot.day, Compound.name, Grid.community_id)
        .having(func.count() >= SECRETARY_THRESHOLD)).all()
    secretaries = holders("secretary", {c[4] for c in counts})

    digest = Digest("disinfection_compound", now=now, link="/disinfection/board",
                    title=lambda n, urgent: _("Compounds with %(k)d or more missed rounds in a day: %(n)d",
                                              k=SECRETARY_THRESHOLD, n=n),
                    more=lambda n: _("and %(n)d more on the compliance board", n=n))
    for compound_id, day, n, name, community_id in counts:
        recipients = secretaries.get(community_id, [])
        if recipients:
            digest.add(recipients, _("%(compound)s missed %(n)d rounds on %(day)s", compound=name, n=n,
                                     day=day.isoformat()), once=keys.disinfection_compound(compound_id, day))
    return digest.send().inbox


def close_ended_streaks(now: datetime | None = None) -> int:
    """An open flag whose point then went a whole (past) day without a miss: that run of misses
    is over, so the flag closes by itself and a later run raises a new one."""
    now = now or utcnow()
    today = town_today(now)
    flags = db.session.execute(select(DisinfectionFlag.id, DisinfectionFlag.point_id, DisinfectionFlag.last_day)
                               .where(DisinfectionFlag.resolved_at.is_(None),
                                      DisinfectionFlag.last_day < today - timedelta(days=1))).all()
    if not flags:
        return 0
    missed_days = set(db.session.execute(
        select(DisinfectionSlot.point_id, DisinfectionSlot.day).distinct()
        .where(DisinfectionSlot.status == "missed", DisinfectionSlot.point_id.in_({f[1] for f in flags}),
               DisinfectionSlot.day > min(f[2] for f in flags), DisinfectionSlot.day < today)).all())
    ended = [fid for fid, pid, last in flags
             if any((pid, last + timedelta(days=k)) not in missed_days for k in range(1, (today - last).days))]
    if not ended:
        return 0
    return db.session.execute(update(DisinfectionFlag)
                              .where(DisinfectionFlag.id.in_(ended), DisinfectionFlag.resolved_at.is_(None))
                              .values(resolved_at=now).execution_options(synchronize_session=False)).rowcount


def raise_flags(now: datetime | None = None) -> dict:
    """A point with a missed round on each of the last three (closed-window) days is flagged, once
    per run of misses (no new flag while one is open), and becomes a supervision finding
    ("disinfection missed") on its compound (a public place: its community), a rectification item
    for whoever answers for it. The flag's unique point × day, inserted ON CONFLICT DO NOTHING,
    decides which of two sweeps at once raises it; the finding's dedupe key makes sure again."""

    now = now or utcnow()
    closed = close_ended_streaks(now)
    last = town_today(now)
    first = last - timedelta(days=FLAG_DAYS - 1)
    open_flag = select(DisinfectionFlag.id).where(DisinfectionFlag.point_id == DisinfectionSlot.point_id,
                                                  DisinfectionFlag.resolved_at.is_(None)).exists()
    candidates = db.session.execute(
        select(DisinfectionSlot.point_id, func.max(DisinfectionSlot.day))
        .where(DisinfectionSlot.status == "missed", DisinfectionSlot.day.between(first, last), ~open_flag)
        .group_by(DisinfectionSlot.point_id)
        .having(func.count(func.distinct(DisinfectionSlot.day)) == FLAG_DAYS)).all()
    if not candidates:
        return {"flags": 0, "findings": 0, "streaks_ended": closed}
    points = {p.id: p for p in db.session.scalars(
        select(DisinfectionPoint).where(DisinfectionPoint.id.in_([c[0] for c in candidates]))
        .options(joinedload(DisinfectionPoint.compound), joinedload(DisinfectionPoint.community)))}
    rows = [{"point_id": pid, "community_id": points[pid].community_id, "last_day": day, "created_at": now}
            for pid, day in candidates]
    stmt = _insert(DisinfectionFlag).on_conflict_do_nothing(index_elements=["point_id", "last_day"])
    created = db.session.execute(stmt.returning(DisinfectionFlag.id, DisinfectionFlag.point_id), rows).all()

    # One finding per place and sweep, naming its points: "阳光小区: 电梯 1、电梯 2".
    places: dict[tuple[str, int], list] = {}
    for flag_id, pid in sorted(created):
        p = points[pid]
        key = ("compound", p.compound_id) if p.compound_id is not None else ("community", p.community_id)
        places.setdefault(key, []).append((flag_id, p))
    findings, unowned = 0, []
    for (target_type, target_id), flagged in places.items():
        names = "、".join(p.audit_name for _fid, p in flagged)
        description = _("Disinfection or clearance rounds missed %(n)d days running (%(first)s to %(last)s): "
                        "%(points)s.", n=FLAG_DAYS, first=first.isoformat(), last=last.isoformat(), points=names)
        item, made = raise_system_finding(
            target_type, target_id, "disinfection_missed", description,
            dedupe_key=f"disinfection-streak:{target_type}:{target_id}:flag{flagged[0][0]}", now=now,
            summary=_("Raised automatically by the disinfection sweep."))
        findings += made
        if item.owner_id is None:  # nobody to address it to: the secretary hears of it instead
            unowned += [p for _fid, p in flagged]
    secretaries = holders("secretary", {p.community_id for p in unowned})
    for p in unowned:
        recipients = secretaries.get(p.community_id, [])
        if recipients:
            notify(recipients, "disinfection_flag",
                   _("%(point)s missed rounds three days running", point=p.audit_name),
                   _("Follow it up with whoever is responsible."),
                   dedupe_key=keys.disinfection_flag(p.id, last), link="/disinfection/board", now=now)
    return {"flags": len(created), "findings": findings, "streaks_ended": closed}


def open_flags(user) -> list[DisinfectionFlag]:
    return list(db.session.scalars(
        select(DisinfectionFlag).join(DisinfectionFlag.point)
        .outerjoin(Compound, Compound.id == DisinfectionPoint.compound_id)
        .where(DisinfectionFlag.resolved_at.is_(None), policy.visible_clause(user))
        .options(contains_eager(DisinfectionFlag.point).contains_eager(DisinfectionPoint.compound))
        .order_by(DisinfectionFlag.id.desc()).limit(50)))


def resolve_flag(actor, flag: DisinfectionFlag, now: datetime | None = None) -> bool:
    done = db.session.execute(update(DisinfectionFlag).where(DisinfectionFlag.id == flag.id,
                                                             DisinfectionFlag.resolved_at.is_(None))
                              .values(resolved_at=now or utcnow(), resolved_by_id=actor.id)).rowcount == 1
    if done:
        record("disinfection_flag_resolved", flag.point, actor=actor, summary=f"flag {flag.last_day.isoformat()}")
    return done


# --- boards ---------------------------------------------------------------------------------------

def _counts():
    return (func.count().label("total"),
            func.sum(case((DisinfectionSlot.status == "done", 1), else_=0)).label("done"),
            func.sum(case((DisinfectionSlot.status == "missed", 1), else_=0)).label("missed"))


def percent(done: int, total: int) -> int | None:
    return round(100 * done / total) if total else None


def board_today(user, day: date, now: datetime | None = None) -> list[dict]:
    """Compounds (and each community's public places) × one day: done, missed, of how many; the
    share done counts only the windows that have begun by `now` (closed or open), so a compound is
    not 0 % at midnight for windows still ahead; and yesterday's final share beside it."""
    now = now or utcnow()
    started = func.sum(case((DisinfectionSlot.starts_at <= now, 1), else_=0)).label("started")
    rows = db.session.execute(
        select(Community.id, Community.name, Compound.id, Compound.name, PropertyCompany.name, PropertyCompany.id,
               *_counts(), started)
        .select_from(DisinfectionSlot)
        .join(DisinfectionPoint, DisinfectionPoint.id == DisinfectionSlot.point_id)
        .join(Community, Community.id == DisinfectionPoint.community_id)
        .outerjoin(Compound, Compound.id == DisinfectionPoint.compound_id)
        .outerjoin(PropertyCompany, PropertyCompany.id == Compound.property_company_id)
        .where(DisinfectionSlot.day == day, policy.visible_clause(user))
        .group_by(Community.id, Community.name, Compound.id, Compound.name, PropertyCompany.name, PropertyCompany.id)
        .order_by(Community.id, Compound.id)).all()
    yesterday = {(r[0], r[1]): (int(r.done or 0), int(r.missed or 0), r.total) for r in db.session.execute(
        select(DisinfectionPoint.community_id, DisinfectionPoint.compound_id, *_counts())
        .select_from(DisinfectionSlot)
        .join(DisinfectionPoint, DisinfectionPoint.id == DisinfectionSlot.point_id)
        .outerjoin(Compound, Compound.id == DisinfectionPoint.compound_id)
        .where(DisinfectionSlot.day == day - timedelta(days=1), policy.visible_clause(user))
        .group_by(DisinfectionPoint.community_id, DisinfectionPoint.compound_id))}
    out = []
    for r in rows:
        done, missed, begun = int(r.done or 0), int(r.missed or 0), int(r.started or 0)
        y_done, y_missed, y_total = yesterday.get((r[0], r[2]), (0, 0, 0))
        out.append({"community_id": r[0], "community": r[1], "compound_id": r[2], "compound": r[3],
                    "company": r[4], "company_id": r[5], "total": r.total, "started": begun, "done": done,
                    "missed": missed, "percent": percent(done, begun),
                    "yesterday_missed": y_missed, "yesterday_percent": percent(y_done, y_total)})
    return out


def board_points(user, day: date, *, compound: Compound | None = None, community: Community | None = None):
    """One compound's (or a community's public places') points × one day's slots."""
    stmt = (select(DisinfectionSlot).join(DisinfectionSlot.point)
            .outerjoin(Compound, Compound.id == DisinfectionPoint.compound_id)
            .where(DisinfectionSlot.day == day, policy.visible_clause(user))
            .options(contains_eager(DisinfectionSlot.point), joinedload(DisinfectionSlot.done_by).lazyload(User.roles))
            .order_by(DisinfectionPoint.place_name, DisinfectionPoint.id, DisinfectionSlot.starts_at))
    if compound is not None:
        stmt = stmt.where(DisinfectionPoint.compound_id == compound.id)
    else:
        stmt = stmt.where(DisinfectionPoint.community_id == community.id, DisinfectionPoint.compound_id.is_(None))
    by_point: dict[int, dict] = {}
    for slot in db.session.scalars(stmt).unique():
        by_point.setdefault(slot.point_id, {"point": slot.point, "slots": []})["slots"].append(slot)
    return list(by_point.values())


TALLY_DAYS = 30  # how far back the sweep tallies closed days (the chart's longest period)


def tally_closed_days(today: date) -> int:
    """Sum each closed day of the last TALLY_DAYS per compound (and per community for its public
    places) into DisinfectionDayTally, once: a day is closed when none of its slots is pending
    (the sweep has marked every window that ended); its slots never change after that. Two
    sweeps at once: the day's primary key lets one of them write it. Returns the days written."""
    first = today - timedelta(days=TALLY_DAYS)
    tallied = select(DisinfectionTalliedDay.day).where(DisinfectionTalliedDay.day >= first)
    pending = select(DisinfectionSlot.day).where(DisinfectionSlot.day.between(first, today - timedelta(days=1)),
                                                  DisinfectionSlot.status == "pending").distinct()
    done_days = set(db.session.scalars(tallied)) | set(db.session.scalars(pending))
    days = [first + timedelta(days=i) for i in range(TALLY_DAYS) if first + timedelta(days=i) not in done_days]
    written = 0
    for day in days:
        claimed = db.session.execute(_insert(DisinfectionTalliedDay).values(day=day, tallied_at=utcnow())
                                     .on_conflict_do_nothing(index_elements=["day"])
                                     .returning(DisinfectionTalliedDay.day)).scalar()
        if claimed is None:
            continue
        db.session.execute(DisinfectionDayTally.__table__.insert().from_select(
            ["day", "community_id", "compound_id", "slots", "done"],
            select(DisinfectionSlot.day, DisinfectionPoint.community_id, DisinfectionPoint.compound_id,
                   func.count(), func.sum(case((DisinfectionSlot.status == "done", 1), else_=0)))
            .join(DisinfectionPoint, DisinfectionPoint.id == DisinfectionSlot.point_id)
            .where(DisinfectionSlot.day == day)
            .group_by(DisinfectionSlot.day, DisinfectionPoint.community_id, DisinfectionPoint.compound_id)))
        written += 1
    return written


def company_compliance(user, today: date, today_rows: list[dict] | None = None) -> list[dict]:
    """Per property company (community-run as one more row): share of closed slots done over the
    last 7 and 30 days. Tallied days are read from the day tallies (a few rows per compound and
    day), the rest — today, and any day the sweep has not closed yet — from the slots; today may
    come from board_today's rows (the board has them already). Three statements (two with
    today_rows), whatever the size of the town."""
    first7 = today - timedelta(days=6)
    first30 = today - timedelta(days=29)
    tallied = set(db.session.scalars(select(DisinfectionTalliedDay.day)
                                     .where(DisinfectionTalliedDay.day.between(first30, today))))
    live = [first30 + timedelta(days=i) for i in range(30) if first30 + timedelta(days=i) not in tallied]
    if today_rows is not None:
        live.remove(today)
    company = (PropertyCompany.id, PropertyCompany.name)
    sums: dict = {}

    def add(rows):
        for company_id, name, c7, d7, c30, d30 in rows:
            acc = sums.setdefault(company_id, {"name": name, "c7": 0, "d7": 0, "c30": 0, "d30": 0})
            for key, value in (("c7", c7), ("d7", d7), ("c30", c30), ("d30", d30)):
                acc[key] += int(value or 0)

    t = DisinfectionDayTally
    in7 = t.day >= first7
    add(db.session.execute(
        select(*company, func.sum(case((in7, t.slots), else_=0)), func.sum(case((in7, t.done), else_=0)),
               func.sum(t.slots), func.sum(t.done))
        .select_from(t)
        .outerjoin(Compound, Compound.id == t.compound_id)
        .outerjoin(PropertyCompany, PropertyCompany.id == Compound.property_company_id)
        .where(t.day.in_(sorted(tallied)), policy.visible_clause(user, t.community_id, t.compound_id))
        .group_by(*company)))

    if today_rows is not None:
        add((r["company_id"], r["company"], r["done"] + r["missed"], r["done"], r["done"] + r["missed"], r["done"])
            for r in today_rows)
    closed = DisinfectionSlot.status != "pending"
    done = DisinfectionSlot.status == "done"
    in7 = DisinfectionSlot.day >= first7
    add(db.session.execute(
        select(*company,
               func.sum(case((and_(closed, in7), 1), else_=0)),
               func.sum(case((and_(done, in7), 1), else_=0)),
               func.sum(case((closed, 1), else_=0)),
               func.sum(case((done, 1), else_=0)))
        .select_from(DisinfectionSlot)
        .join(DisinfectionPoint, DisinfectionPoint.id == DisinfectionSlot.point_id)
        .outerjoin(Compound, Compound.id == DisinfectionPoint.compound_id)
        .outerjoin(PropertyCompany, PropertyCompany.id == Compound.property_company_id)
        .where(DisinfectionSlot.day.in_(live), policy.visible_clause(user))
        .group_by(*company)))

    out = []
    # Companies by name, the community-run row last.
    for company_id, acc in sorted(sums.items(), key=lambda kv: (kv[0] is None, kv[1]["name"] or "")):
        out.append({"company_id": company_id, "name": acc["name"], "closed7": acc["c7"], "done7": acc["d7"],
                    "p7": percent(acc["d7"], acc["c7"]), "closed30": acc["c30"], "done30": acc["d30"],
                    "p30": percent(acc["d30"], acc["c30"])})
    return out


# --- export ---------------------------------------------------------------------------------------

def export_rows(user, first: date, last: date):
    """Every slot of the period within the user's sight, with how it was done (for Excel): named rows."""
    stmt = (select(DisinfectionSlot.day, DisinfectionSlot.window, DisinfectionSlot.status, DisinfectionSlot.late,
                   DisinfectionSlot.done_at, User.display_name.label("done_by"), Community.name.label("community"),
                   Compound.name.label("compound"), DisinfectionPoint.place_name,
                   DisinfectionPoint.name.label("point"), DisinfectionPoint.kind, DisinfectionPoint.task,
                   DisinfectionRound.disinfectant, DisinfectionRound.note, DisinfectionRound.id.label("round_id"),
                   DisinfectionRound.photo)
            .select_from(DisinfectionSlot)
            .join(DisinfectionPoint, DisinfectionPoint.id == DisinfectionSlot.point_id)
            .join(Community, Community.id == DisinfectionPoint.community_id)
            .outerjoin(Compound, Compound.id == DisinfectionPoint.compound_id)
            .outerjoin(User, User.id == DisinfectionSlot.done_by_id)
            .outerjoin(DisinfectionRound, DisinfectionRound.slot_id == DisinfectionSlot.id)
            .where(DisinfectionSlot.day.between(first, last), policy.visible_clause(user))
            .order_by(DisinfectionSlot.day, Community.id, DisinfectionPoint.compound_id, DisinfectionPoint.id,
                      DisinfectionSlot.starts_at))
    return db.session.execute(stmt.execution_options(yield_per=1000))


def extra_rounds(user, first: date, last: date):
    """The extra rounds ticked in the period within the user's sight (for Excel): named rows."""
    zone_first, _x = window_bounds(first, time(0), None)
    _y, zone_last = window_bounds(last, time(0), None)
    return db.session.execute(
        select(DisinfectionRound.ticked_at, User.display_name.label("done_by"), Community.name.label("community"),
               Compound.name.label("compound"), DisinfectionPoint.place_name, DisinfectionPoint.name.label("point"),
               DisinfectionRound.disinfectant, DisinfectionRound.note, DisinfectionRound.id.label("round_id"),
               DisinfectionRound.photo)
        .join(DisinfectionPoint, DisinfectionPoint.id == DisinfectionRound.point_id)
        .join(Community, Community.id == DisinfectionPoint.community_id)
        .outerjoin(Compound, Compound.id == DisinfectionPoint.compound_id)
        .join(User, User.id == DisinfectionRound.ticked_by_id)
        .where(DisinfectionRound.kind == "extra", DisinfectionRound.ticked_at >= zone_first,
               DisinfectionRound.ticked_at < zone_last, policy.visible_clause(user))
        .order_by(DisinfectionRound.ticked_at))

