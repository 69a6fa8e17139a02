"""The rules of errands: filing, the state machine (every transition one conditional UPDATE
whose row count decides), the claim limit, the board and staff queries, the record of who saw
a household's details, the sweeps of the jobs, and the statistics."""
import statistics
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from gridapp.audit.services import client_ip, record
from gridapp.auth.models import RoleAssignment, User
from gridapp.auth.services import holders
from gridapp.core.rules import RuleError
from gridapp.duty import services as duty
from gridapp.errands import keys, policy
from gridapp.errands.models import (
    ACTIVE_CLAIM_STATES,
    PENDING_STATES,
    ContactView,
    Errand,
    ErrandEvent,
    UrgentOptIn,
)
from gridapp.errands.policy import ERRAND, STATUS_LABELS
from gridapp.extensions import db
from gridapp.grid.models import Community, Compound, Grid, Household
from gridapp.notifications.digest import Digest
from gridapp.notifications.group import GroupText
from gridapp.notifications.kinds import kind
from gridapp.notifications.services import notify
from gridapp.policy import scope_of
from gridapp.timeutil import to_local, town_day_and_week_start, town_midnight, town_zone, utcnow

# The notices this feature sends (registered by create_app).
# roles: who is sent each. The filer (policy ACTIONS["file_errands"]) and the claimant (a volunteer)
# hear of their errands; urgent ones reach volunteers and the grid member; late ones the filer and
# the grid member.
_FILERS = {"secretary", "grid_member", "building_head"}
NOTICE_KINDS = (
    kind("errand_update", _l("Errands I filed or claimed"), channels=("email",), roles=_FILERS | {"volunteer"}),
    kind("errand_urgent", _l("Urgent errands waiting for a volunteer"), channels=("email", "sms"), urgent=True,
         roles={"volunteer", "grid_member"}),
    kind("errand_reminder", _l("Errand reminders (late, unconfirmed)"), channels=("email",), roles=_FILERS),
)

CATEGORY_LABELS = {
    "daily": _l("Daily necessities"),
    "medicine": _l("Medicine"),
    "matter": _l("Urgent matter"),
    "other": _l("Other"),
}
# An urgent errand as group robots hear it: its number, category and compound (never the
# household, its address or phone, the goods or the notes).
URGENT_GROUP_LINE = _l("Urgent errand #%(id)d (%(category)s, %(place)s) still needs a volunteer.")

EVENT_LABELS = {
    "filed": _l("filed the errand"),
    "claimed": _l("claimed it"),
    "released": _l("released it"),
    "expired": _l("claim expired (no progress in time)"),
    "purchased": _l("bought the items"),
    "delivered": _l("delivered it"),
    "confirmed": _l("confirmed the delivery"),
    "cancelled": _l("cancelled it"),
}


def _setting(name: str) -> int:
    """An ERRANDS_* setting from the app's configuration (gridapp/config.py reads the environment)."""
    return policy.setting(name)


def max_active_claims() -> int:
    return _setting("ERRANDS_MAX_ACTIVE_CLAIMS")


def claim_timeout(urgent: bool) -> timedelta:
    if urgent:
        return timedelta(minutes=_setting("ERRANDS_URGENT_CLAIM_MINUTES"))
    return timedelta(minutes=_setting("ERRANDS_CLAIM_MINUTES"))


def urgent_unclaimed_after() -> timedelta:
    """An urgent errand still open this long after it (last) opened is chased."""
    return timedelta(minutes=_setting("ERRANDS_URGENT_ALERT_MINUTES"))


def unconfirmed_after() -> timedelta:
    """A delivery unconfirmed this long reminds the filer."""
    return timedelta(hours=_setting("ERRANDS_UNCONFIRMED_REMINDER_HOURS"))


def fmt(moment: datetime | None) -> str:
    return moment.astimezone(town_zone()).strftime("%m-%d %H:%M") if moment else ""


def errand_link(errand_id: int) -> str:
    return f"/errands/{errand_id}"


def cents(amount) -> int | None:
    """A money amount in yuan (Decimal, float or str) as integer fen; None stays None."""
    if amount is None or amount == "":
        return None
    from decimal import Decimal, InvalidOperation

    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        raise RuleError(_("Enter an amount such as 35.50."), "cost") from None
    if value < 0:
        raise RuleError(_("An amount cannot be negative."), "cost")
    if value > 100000:
        raise RuleError(_("That amount is too large for an errand."), "cost")
    return int((value * 100).to_integral_value())


# --- filing ------------------------------------------------------------------------------------

PICKER_LIMIT = 30
# The filing form proposes "needed by" this long ahead, at a whole hour, and never in the night:
# a time that would fall outside DAYTIME moves to the next morning's first hour.
DEFAULT_LEAD = timedelta(hours=3)
DAYTIME = (8, 21)  # from 08:00, before 21:00 (town time)


def default_needed_by(now: datetime) -> datetime:
    """The "needed by" a new errand's form proposes (aware, UTC): three hours ahead at the whole hour,
    or 09:00 the next morning when that falls in the night."""
    local = to_local(now + DEFAULT_LEAD)
    local = local.replace(minute=0, second=0, microsecond=0) + (timedelta(hours=1) if local.minute else timedelta())
    first, last = DAYTIME
    if local.hour >= last:
        local = (local + timedelta(days=1)).replace(hour=first + 1)
    elif local.hour < first:
        local = local.replace(hour=first + 1)
    return local.astimezone(UTC)


def _like(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def households_for_filing(user, q: str = "", limit: int = PICKER_LIMIT) -> list[Household]:
    """The searchable picker: households in the filer's own places, housebound first. Every word
    of q must match the compound, the building, unit or room, the label (1-2-301), the head's
    name or the phone. One query, at most `limit` rows."""
    scope = policy.filing_clause(user)
    if scope is None:
        return []
    label = Household.building + "-" + Household.unit + "-" + Household.room
    stmt = (select(Household).join(Compound, Compound.id == Household.compound_id)
            .join(Grid, Grid.id == Compound.grid_id)
            .where(scope)
            .options(contains_eager(Household.compound))
            .order_by(Household.housebound.desc(), Compound.name, Household.building, Household.unit,
                      Household.room, Household.id).limit(limit))
    for term in (q or "").strip()[:50].split()[:5]:
        pattern = _like(term)
        stmt = stmt.where(or_(*(c.ilike(pattern, escape="\\") for c in (
            Compound.name, Household.building, Household.unit, Household.room, label, Household.head_name,
            Household.phone))))
    return list(db.session.scalars(stmt))


def household_for_filing(user, household_id) -> Household | None:
    """One household by id, only if the user may file for it (else None, whatever the id)."""
    scope = policy.filing_clause(user)
    if scope is None or not isinstance(household_id, int) or not 0 < household_id < 2**31:
        return None
    return db.session.scalars(
        select(Household).join(Compound, Compound.id == Household.compound_id)
        .join(Grid, Grid.id == Compound.grid_id).options(contains_eager(Household.compound))
        .where(Household.id == household_id, scope)).first()


def file_errand(actor: User, household: Household | None, values: dict, now: datetime | None = None) -> Errand:
    now = now or utcnow()
    if household is None or not policy.may_file_for(scope_of(actor), household):
        raise RuleError(_("Choose a household in your own area."), "household_id")
    items = "\n".join(line.strip() for line in (values.get("items") or "").splitlines() if line.strip())
    if not items:
        raise RuleError(_("List what is needed, one item per line."), "items")
    if values.get("category") not in CATEGORY_LABELS:
        raise RuleError(_("Choose a category."), "category")
    needed_by = values.get("needed_by_at")
    if needed_by is None or needed_by <= now:
        raise RuleError(_("The needed-by time must be in the future."), "needed_by_at")
    try:
        estimate = cents(values.get("estimated_cost"))
    except RuleError as exc:
        raise RuleError(str(exc), "estimated_cost") from None
    path = household.path
    errand = Errand(household_id=household.id, compound_id=path["compound"], grid_id=path["grid"],
                    community_id=path["community"], category=values["category"], items=items,
                    estimated_cost_cents=estimate, needed_by_at=needed_by, urgent=bool(values.get("urgent")),
                    notes=(values.get("notes") or "").strip(), pay_on_delivery=bool(values.get("pay_on_delivery")),
                    status="open", filed_by_id=actor.id, filed_at=now, opened_at=now)
    db.session.add(errand)
    db.session.flush()
    _event(errand, actor, "filed", now=now)
    record("errand_filed", errand, summary=f"category: {errand.category}; urgent: {errand.urgent}", actor=actor)
    if errand.urgent:
        opted_in = _opted_in_volunteers(errand.community_id)
        if opted_in:
            notify(opted_in, "errand_urgent", _("Urgent errand #%(id)d in %(place)s", id=errand.id,
                                                place=household.compound.name),
                   _public_text(errand, household.compound.name), dedupe_key=f"errand-new-urgent:{errand.id}",
                   link=errand_link(errand.id), now=now)
    return errand


def _public_text(errand: Errand, compound_name: str) -> str:
    """What anyone may read about an errand: never the address, the room or the phone."""
    return _("%(category)s at %(place)s, needed by %(when)s: %(items)s",
             category=CATEGORY_LABELS[errand.category], place=compound_name, when=fmt(errand.needed_by_at),
             items=errand.summary)


# --- the state machine ------------------------------------------------------------------------

def _event(errand, actor, action, note="", now=None) -> None:
    db.session.add(ErrandEvent(errand_id=errand.id, actor_id=getattr(actor, "id", None), action=action,
                               note=note, created_at=now or utcnow()))


def _name(user_id) -> str:
    user = db.session.get(User, user_id) if user_id else None
    return user.display_name if user else "?"


def _explain(actor: User):
    """Why a transition found no row, when there is more to say than the table's refusal
    (policy.ERRAND): who cancelled it, who has it, that the limit of claims is reached."""
    def explain(errand: Errand, attempted: str) -> str | None:
        st = errand.status
        if st == "cancelled":
            return _("This errand was cancelled by %(who)s: %(reason)s", who=_name(errand.cancelled_by_id),
                     reason=errand.cancel_reason)
        if attempted == "claim":
            if st == "open":
                if errand.community_id not in scope_of(actor).volunteer_communities:
                    return _("This errand is not in your community.")
                return _("You already hold %(n)d active errands; deliver or release one first.",
                         n=max_active_claims())
            if errand.claimant_id == actor.id:
                return _("You already hold this errand.")
            if st in ("claimed", "purchased"):
                return _("Already taken by %(who)s.", who=_name(errand.claimant_id))
            return _("This errand was already delivered by %(who)s.", who=_name(errand.claimant_id))
        if attempted in ("purchase", "deliver", "release") and errand.claimant_id != actor.id:
            return _("This errand is no longer yours (it is now “%(status)s”).", status=STATUS_LABELS[st])
        return None
    return explain


def _transition(errand, actor, action: str, values: dict, *extra_where) -> None:
    """The action's conditional UPDATE (policy.ERRAND); a refusal says what the errand's state is now."""
    ERRAND.apply(errand, action, values, *extra_where, explain=_explain(actor))


def _lock_volunteer(user_id: int) -> None:
    """Serialise one volunteer's claims, so that the count in the claim's UPDATE is current.

    Under PostgreSQL's READ COMMITTED two claims by the same person on different errands would
    each count the other's as not yet there; holding the person's row lock until commit makes the
    second wait, and its UPDATE then sees the first. (SQLite's BEGIN IMMEDIATE already serialises
    every writer; FOR UPDATE is left out there.)"""
    db.session.execute(select(User.id).where(User.id == user_id).with_for_update())


def claim(errand: Errand, user: User, now: datetime | None = None) -> None:
    """Exactly one winner: the UPDATE requires the errand open, in the volunteer's community and
    the volunteer under the limit of active claims, all in the one statement."""
    now = now or utcnow()
    communities = scope_of(user).volunteer_communities
    _lock_volunteer(user.id)
    held = aliased_active_count(user.id)
    _transition(errand, user, "claim",
                {"claimant_id": user.id, "claimed_at": now,
                 "first_claimed_at": func.coalesce(Errand.first_claimed_at, now),
                 "claim_expires_at": now + claim_timeout(errand.urgent)},
                Errand.community_id.in_(communities or [-1]), held < max_active_claims())
    _event(errand, user, "claimed", now=now)
    notify([errand.filed_by], "errand_update", _("Errand #%(id)d was claimed by %(who)s", id=errand.id,
                                                  who=user.display_name),
           _public_text(errand, errand.compound.name), dedupe_key=keys.errand_claimed(errand.id, now),
           link=errand_link(errand.id), now=now)


def aliased_active_count(user_id: int):
    """A scalar subquery: how many errands this volunteer holds now (an alias, so it can sit in
    the WHERE of an UPDATE of the same table)."""
    from sqlalchemy.orm import aliased

    held = aliased(Errand)
    return (select(func.count(held.id)).where(held.claimant_id == user_id, held.status.in_(ACTIVE_CLAIM_STATES))
            .scalar_subquery())


def _reopen_values(now) -> dict:
    return {"status": "open", "last_claimant_id": Errand.claimant_id, "claimant_id": None, "claimed_at": None,
            "claim_expires_at": None, "opened_at": now, "urgent_alerted_at": None}


def release(errand: Errand, user: User, reason: str, now: datetime | None = None) -> None:
    now = now or utcnow()
    reason = (reason or "").strip()
    if not reason:
        raise RuleError(_("Say why you are giving it back."), "reason")
    _transition(errand, user, "release", _reopen_values(now), Errand.claimant_id == user.id)
    _event(errand, user, "released", reason, now=now)
    notify([errand.filed_by], "errand_update", _("Errand #%(id)d is open again", id=errand.id),
           _("%(who)s gave it back: %(reason)s", who=user.display_name, reason=reason),
           dedupe_key=f"errand-released:{errand.id}:{now.isoformat()}", link=errand_link(errand.id), now=now)


def purchase(errand: Errand, user: User, actual_cost, receipt_photo: str | None = None,
             now: datetime | None = None) -> None:
    now = now or utcnow()
    try:
        cost = cents(actual_cost)
    except RuleError as exc:
        raise RuleError(str(exc), "actual_cost") from None
    if cost is None:
        raise RuleError(_("Enter what the items cost (0 if nothing was paid)."), "actual_cost")
    _transition(errand, user, "purchase",
                {"purchased_at": now, "actual_cost_cents": cost, "claim_expires_at": None,
                 "receipt_photo": receipt_photo},
                Errand.claimant_id == user.id)
    _event(errand, user, "purchased", f"{cost / 100:.2f}", now=now)


def deliver(errand: Errand, user: User, note: str = "", photo: str | None = None,
            now: datetime | None = None) -> None:
    now = now or utcnow()
    _transition(errand, user, "deliver",
                {"delivered_at": now, "delivery_note": (note or "").strip(),
                 "delivery_photo": photo},
                Errand.claimant_id == user.id)
    _event(errand, user, "delivered", (note or "").strip(), now=now)
    notify([errand.filed_by], "errand_update", _("Errand #%(id)d was delivered", id=errand.id),
           _("%(who)s delivered it. Please confirm, and settle the money.", who=user.display_name),
           dedupe_key=keys.errand_delivered(errand.id), link=errand_link(errand.id), now=now)


def confirm(errand: Errand, actor: User, money_settled: bool, note: str = "", now: datetime | None = None) -> None:
    now = now or utcnow()
    if (errand.actual_cost_cents or 0) > 0 and not money_settled:
        raise RuleError(_("Tick that the money was settled with the volunteer."), "money_settled")
    _transition(errand, actor, "confirm",
                {"confirmed_at": now, "confirmed_by_id": actor.id,
                 "money_settled": bool(money_settled)})
    _event(errand, actor, "confirmed", (note or "").strip(), now=now)
    record("errand_confirmed", errand, summary=f"money_settled: {bool(money_settled)}", actor=actor)
    if errand.claimant_id:
        notify([errand.claimant], "errand_update", _("Errand #%(id)d confirmed: thank you", id=errand.id),
               _public_text(errand, errand.compound.name), dedupe_key=keys.errand_confirmed(errand.id),
               link=errand_link(errand.id), now=now)


def cancel(errand: Errand, actor: User, reason: str, now: datetime | None = None) -> None:
    now = now or utcnow()
    reason = (reason or "").strip()
    if not reason:
        raise RuleError(_("Give a reason for cancelling."), "reason")
    _transition(errand, actor, "cancel",
                {"cancelled_at": now, "cancelled_by_id": actor.id, "cancel_reason": reason,
                 "claim_expires_at": None})
    _event(errand, actor, "cancelled", reason, now=now)
    # The reason is free text about a resident (it may say why they no longer need it): it stays on
    # the errand, purged with it; the audit trail, kept for years, says only that one was given.
    record("errand_cancelled", errand, summary="reason: given", actor=actor)
    if errand.claimant_id:
        notify([errand.claimant], "errand_update", _("Errand #%(id)d was cancelled", id=errand.id),
               _("Reason: %(reason)s", reason=reason), dedupe_key=f"errand-cancelled:{errand.id}",
               link=errand_link(errand.id), now=now)


# --- privacy: the record of who saw whose details ------------------------------------------------

def record_contact_view(errand: Errand, user: User, now: datetime | None = None) -> None:
    """Called when a page shows a non-staff person the household's address and phone."""
    db.session.add(ContactView(errand_id=errand.id, household_id=errand.household_id, user_id=user.id,
                               viewed_at=now or utcnow(), ip=client_ip()))


@dataclass
class ViewGroup:
    """One person's looks at a household's details within one hour of the town's clock."""

    user: User
    first_at: datetime
    last_at: datetime
    count: int


def contact_views(errand: Errand, limit: int = 200) -> list[ViewGroup]:
    """Who saw the resident's details, newest first: a volunteer who opens the page four times in a
    minute is one line (×4), grouped by person and hour."""
    rows = db.session.scalars(select(ContactView).options(joinedload(ContactView.user))
                              .where(ContactView.errand_id == errand.id)
                              .order_by(ContactView.id.desc()).limit(limit))
    groups: dict = {}
    for v in rows:
        key = (v.user_id, to_local(v.viewed_at).replace(minute=0, second=0, microsecond=0))
        group = groups.get(key)
        if group is None:
            groups[key] = ViewGroup(v.user, v.viewed_at, v.viewed_at, 1)
        else:
            group.first_at, group.count = v.viewed_at, group.count + 1
    return list(groups.values())


def timeline(errand: Errand) -> list[ErrandEvent]:
    return list(db.session.scalars(select(ErrandEvent).options(joinedload(ErrandEvent.actor))
                                   .where(ErrandEvent.errand_id == errand.id).order_by(ErrandEvent.id)))


def load(errand_id: int) -> Errand | None:
    return db.session.scalars(select(Errand).options(
        joinedload(Errand.compound), joinedload(Errand.household), joinedload(Errand.filed_by),
        joinedload(Errand.claimant)).where(Errand.id == errand_id)).first()


# --- the volunteer's board --------------------------------------------------------------------

def board(user, category: str = "", urgency: str = ""):
    """Open errands in the volunteer's communities, urgent and soonest first (a select).
    Only the compound is joined in: the board never carries an address."""
    communities = scope_of(user).volunteer_communities
    stmt = (select(Errand).join(Compound, Compound.id == Errand.compound_id)
            .options(contains_eager(Errand.compound))
            .where(Errand.status == "open", Errand.community_id.in_(communities or [-1]))
            .order_by(Errand.urgent.desc(), Errand.needed_by_at, Errand.id))
    if category in CATEGORY_LABELS:
        stmt = stmt.where(Errand.category == category)
    if urgency == "urgent":
        stmt = stmt.where(Errand.urgent.is_(True))
    elif urgency == "normal":
        stmt = stmt.where(Errand.urgent.is_(False))
    return stmt


def my_claims(user, limit: int = 20) -> list[Errand]:
    return list(db.session.scalars(
        select(Errand).options(joinedload(Errand.compound))
        .where(Errand.claimant_id == user.id, Errand.status.in_(("claimed", "purchased", "delivered")))
        .order_by(Errand.needed_by_at).limit(limit)))


def is_opted_in(user) -> bool:
    return db.session.get(UrgentOptIn, user.id) is not None


def set_opt_in(user, on: bool) -> None:
    row = db.session.get(UrgentOptIn, user.id)
    if on and row is None:
        db.session.add(UrgentOptIn(user_id=user.id))
    elif not on and row is not None:
        db.session.delete(row)


# --- staff lists, statistics, export ------------------------------------------------------------

STAFF_LISTS = ("open", "overdue", "awaiting")


@dataclass(frozen=True)
class StaffFilter:
    """The staff pages' filters (list, statistics, export alike): one community of the user's
    scope, and errands filed between two days of the town's calendar (both included)."""

    community_id: int | None = None
    since: date | None = None
    until: date | None = None

    @property
    def period(self) -> bool:
        return self.since is not None or self.until is not None

    def where(self) -> list:
        conds = []
        if self.community_id is not None:
            conds.append(Errand.community_id == self.community_id)
        if self.since is not None:
            conds.append(Errand.filed_at >= town_midnight(self.since))
        if self.until is not None:
            conds.append(Errand.filed_at < town_midnight(self.until + timedelta(days=1)))
        return conds

    def args(self) -> dict:
        """As query-string arguments, for links that keep the filter."""
        return {k: v for k, v in (("community", self.community_id),
                                  ("since", self.since and self.since.isoformat()),
                                  ("until", self.until and self.until.isoformat())) if v}


NO_FILTER = StaffFilter()


def communities_in_scope(user) -> list[Community]:
    """The communities whose errands this staff member may list (the filter's choices)."""
    s = scope_of(user)
    stmt = select(Community).order_by(Community.id)
    if not (s.admin or "town_leader" in s.roles):
        stmt = stmt.where(Community.id.in_((s.communities | s.seen_communities) or {-1}))
    return list(db.session.scalars(stmt))


def staff_list(user, which: str = "open", now: datetime | None = None, filters: StaffFilter = NO_FILTER):
    now = now or utcnow()
    stmt = (select(Errand).options(joinedload(Errand.compound), joinedload(Errand.claimant))
            .where(policy.staff_clause(user, scope_of(user)), *filters.where()))
    if which == "overdue":
        stmt = stmt.where(Errand.status.in_(PENDING_STATES), Errand.needed_by_at <= now)
    elif which == "awaiting":
        stmt = stmt.where(Errand.status == "delivered")
    elif which == "all":
        pass
    else:
        stmt = stmt.where(Errand.status.in_(PENDING_STATES))
    return stmt.order_by(Errand.urgent.desc(), Errand.needed_by_at, Errand.id)


def _stats_communities(user):
    s = scope_of(user)
    stmt = select(Community).order_by(Community.id)
    if not (s.admin or "town_leader" in s.roles):
        stmt = stmt.where(Community.id.in_(s.communities or [-1]))
    return stmt


def stats_communities(user) -> list[Community]:
    """The communities on this user's statistics page (town-wide staff: all; a secretary: theirs)."""
    return list(db.session.scalars(_stats_communities(user)))


def statistics_by_community(user, now: datetime | None = None, filters: StaffFilter = NO_FILTER) -> list[dict]:
    """Per community: filed, claimed and delivered today and this week; the week's median time
    from filing to (first) claim and to delivery.

    With a period (filters.since/until) only errands filed in it count, and each row also has the
    period's totals (filed in it; of those, claimed and delivered); the medians are then the period's."""
    now = now or utcnow()
    today, week = town_day_and_week_start(now)
    communities = _stats_communities(user)
    if filters.community_id is not None:
        communities = communities.where(Community.id == filters.community_id)
    rows = {c.id: {"community": c, "filed": [0, 0], "claimed": [0, 0], "delivered": [0, 0],
                   "period": [0, 0, 0], "to_claim": [], "to_deliver": []} for c in db.session.scalars(communities)}
    if not rows:
        return []
    columns = (Errand.community_id, Errand.filed_at, Errand.first_claimed_at, Errand.delivered_at)
    recent = or_(Errand.filed_at >= week, Errand.first_claimed_at >= week, Errand.delivered_at >= week)
    stmt = select(*columns).where(Errand.community_id.in_(rows), *filters.where())
    if not filters.period:
        stmt = stmt.where(recent)
    for community_id, filed_at, claimed_at, delivered_at in db.session.execute(stmt):
        row = rows[community_id]
        for key, moment in (("filed", filed_at), ("claimed", claimed_at), ("delivered", delivered_at)):
            if moment and moment >= week:
                row[key][1] += 1
                if moment >= today:
                    row[key][0] += 1
        if filters.period:
            row["period"][0] += 1
            row["period"][1] += claimed_at is not None
            row["period"][2] += delivered_at is not None
        # The medians: over the period when there is one, else over this week's claims and deliveries.
        if claimed_at and (filters.period or claimed_at >= week):
            row["to_claim"].append((claimed_at - filed_at).total_seconds())
        if delivered_at and (filters.period or delivered_at >= week):
            row["to_deliver"].append((delivered_at - filed_at).total_seconds())
    out = []
    for row in rows.values():
        for key in ("to_claim", "to_deliver"):
            row[key] = timedelta(seconds=round(statistics.median(row[key]))) if row[key] else None
        out.append(row)
    return out


def export_rows(user, filters: StaffFilter = NO_FILTER):
    """Every errand the user is in charge of, for the Excel export: no address, room or phone. Named rows:
    Errand, compound, community, volunteer."""
    stmt = (select(Errand, Compound.name.label("compound"), Community.name.label("community"),
                   User.display_name.label("volunteer"))
            .join(Compound, Compound.id == Errand.compound_id)
            .join(Community, Community.id == Errand.community_id)
            .outerjoin(User, User.id == Errand.claimant_id)
            .where(policy.staff_clause(user, scope_of(user)), *filters.where()).order_by(Errand.id))
    return db.session.execute(stmt.execution_options(yield_per=500))


# --- the jobs' sweeps -----------------------------------------------------------------------------

def _users(ids) -> dict[int, User]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))}


def _errands(ids) -> list[Errand]:
    if not ids:
        return []
    return list(db.session.scalars(select(Errand).options(selectinload(Errand.compound),
                                                          selectinload(Errand.filed_by))
                                   .where(Errand.id.in_(ids)).order_by(Errand.id)))


def _opted_in_volunteers(community_id: int) -> list[User]:
    return list(db.session.scalars(
        select(User).join(RoleAssignment, RoleAssignment.user_id == User.id)
        .join(UrgentOptIn, UrgentOptIn.user_id == User.id)
        .where(RoleAssignment.role == "volunteer", RoleAssignment.scope_id == community_id, User.active.is_(True))
        .order_by(User.id)))


def _claim_rows(condition, values, *returning):
    """UPDATE … WHERE condition RETURNING: the rows this sweep (and no other) moved."""
    stmt = (update(Errand).where(condition).values(**values).returning(Errand.id, *returning)
            .execution_options(synchronize_session=False))
    return db.session.execute(stmt).all()


def expire_claims(now: datetime | None = None) -> int:
    """Claims with no progress in time go back to open; the volunteer and the filer are told."""
    now = now or utcnow()
    rows = _claim_rows((Errand.status == "claimed") & (Errand.claim_expires_at <= now), _reopen_values(now),
                       Errand.last_claimant_id)
    if not rows:
        return 0
    db.session.execute(insert(ErrandEvent), [{"errand_id": i, "actor_id": None, "action": "expired",
                                               "note": _name(c), "created_at": now} for i, c in rows])
    people = _users(c for _i, c in rows)
    for errand in _errands([i for i, _c in rows]):
        volunteer = people.get(errand.last_claimant_id)
        key = f"errand-expired:{errand.id}:{errand.opened_at.isoformat()}"
        text = _public_text(errand, errand.compound.name)
        if volunteer:
            notify([volunteer], "errand_update", _("Your claim on errand #%(id)d expired", id=errand.id),
                   _("There was no progress in time, so it is open again for others.") + " " + text,
                   dedupe_key=key, link=errand_link(errand.id), now=now)
        notify([errand.filed_by], "errand_update", _("Errand #%(id)d is open again", id=errand.id),
               _("%(who)s made no progress in time; the claim expired.", who=volunteer.display_name
                 if volunteer else "?") + " " + text, dedupe_key=key, link=errand_link(errand.id), now=now)
    return len(rows)


def alert_urgent_unclaimed(now: datetime | None = None) -> int:
    """Urgent and still open 15 minutes (ERRANDS_URGENT_ALERT_MINUTES) after it (last) opened: the
    volunteers on duty in its community and its grid members hear it, and the community's group
    robots (no address)."""
    now = now or utcnow()
    rows = _claim_rows((Errand.status == "open") & Errand.urgent.is_(True) & Errand.urgent_alerted_at.is_(None)
                       & (Errand.opened_at <= now - urgent_unclaimed_after()), {"urgent_alerted_at": now})
    errands = _errands([r[0] for r in rows])
    grid_members = holders("grid_member", [e.grid_id for e in errands])
    communities = {c.id: c for c in db.session.scalars(
        select(Community).where(Community.id.in_({e.community_id for e in errands} or [-1])))}
    heard: dict[int, list[User]] = {}  # per community: the volunteers on duty (or opted in), asked once
    digest = Digest("errand_urgent", now=now, link="/errands/",
                    title=lambda n, urgent: _("Urgent errands still unclaimed: %(n)d", n=n),
                    more=lambda n: _("and %(n)d more on the errands page", n=n))
    for errand in errands:
        volunteers = heard.get(errand.community_id)
        if volunteers is None:
            volunteers = heard[errand.community_id] = (duty.volunteers_on_duty(errand.community_id, now)
                                                       or _opted_in_volunteers(errand.community_id))
        digest.add(volunteers + grid_members.get(errand.grid_id, []),
                   f"#{errand.id} " + _public_text(errand, errand.compound.name), urgent=True,
                   places=[communities[errand.community_id]],
                   group_line=GroupText(URGENT_GROUP_LINE, id=errand.id, category=CATEGORY_LABELS[errand.category],
                                        place=errand.compound))
    digest.send()
    return len(errands)


def notify_overdue(now: datetime | None = None) -> int:
    """Past its needed-by time and not delivered: the filer and the grid members hear, once."""
    now = now or utcnow()
    rows = _claim_rows(Errand.status.in_(PENDING_STATES) & (Errand.needed_by_at <= now)
                       & Errand.overdue_notified_at.is_(None), {"overdue_notified_at": now})
    errands = _errands([r[0] for r in rows])
    grid_members = holders("grid_member", [e.grid_id for e in errands])
    for errand in errands:
        notify([errand.filed_by, *grid_members.get(errand.grid_id, [])], "errand_reminder",
               _("Errand #%(id)d is past its needed-by time", id=errand.id),
               _("Status: %(status)s.", status=STATUS_LABELS[errand.status]) + " "
               + _public_text(errand, errand.compound.name),
               dedupe_key=keys.errand_overdue(errand.id), link=errand_link(errand.id), now=now)
    return len(errands)


def remind_unconfirmed(now: datetime | None = None) -> int:
    """Delivered 24 hours (ERRANDS_UNCONFIRMED_REMINDER_HOURS) ago and still not confirmed: the filer
    is reminded, once."""
    now = now or utcnow()
    rows = _claim_rows((Errand.status == "delivered") & (Errand.delivered_at <= now - unconfirmed_after())
                       & Errand.unconfirmed_reminded_at.is_(None), {"unconfirmed_reminded_at": now})
    for errand in _errands([r[0] for r in rows]):
        notify([errand.filed_by], "errand_reminder", _("Please confirm errand #%(id)d", id=errand.id),
               _("It was delivered at %(when)s and is waiting for your confirmation.",
                 when=fmt(errand.delivered_at)),
               dedupe_key=keys.errand_unconfirmed(errand.id), link=errand_link(errand.id), now=now)
    return len(rows)


def sweep(now: datetime | None = None) -> dict:
    now = now or utcnow()
    return {"expired": expire_claims(now), "urgent_alerts": alert_urgent_unclaimed(now),
            "overdue": notify_overdue(now), "unconfirmed": remind_unconfirmed(now)}


def count_by_status(user, filters: StaffFilter = NO_FILTER) -> dict[str, int]:
    """For the staff page's tabs."""
    stmt = (select(Errand.status, func.count()).where(policy.staff_clause(user, scope_of(user)), *filters.where())
            .group_by(Errand.status))
    return dict(db.session.execute(stmt).all())


def overdue_count(user, now: datetime | None = None, filters: StaffFilter = NO_FILTER) -> int:
    now = now or utcnow()
    return db.session.scalar(select(func.count(Errand.id)).where(
        policy.staff_clause(user, scope_of(user)), Errand.status.in_(PENDING_STATES),
        Errand.needed_by_at <= now, *filters.where())) or 0


def claims_to_deliver(user) -> list[Errand]:
    """The errands this volunteer holds and has not yet delivered (claimed or bought), the soonest
    needed first: at most ERRANDS_MAX_ACTIVE_CLAIMS. One statement."""
    return list(db.session.scalars(
        select(Errand).options(joinedload(Errand.compound))
        .where(Errand.claimant_id == user.id, Errand.status.in_(("claimed", "purchased")))
        .order_by(Errand.needed_by_at, Errand.id)))
