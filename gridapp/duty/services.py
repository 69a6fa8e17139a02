"""The rules of the duty roster: shift patterns, idempotent shift generation, sign-ups that never
over-book, withdrawal cut-offs, check-in/out, no-shows, reminders and gap alerts. No request, no HTML."""
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask import current_app
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from icalendar import Calendar, Event
from sqlalchemy import and_, bindparam, case, delete, exists, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import contains_eager, joinedload

from gridapp.audit.models import AuditEvent
from gridapp.audit.services import describe_changes, record
from gridapp.auth.models import RoleAssignment, User
from gridapp.auth.services import people_holding
from gridapp.core import xlsx
from gridapp.core.http import ListPage
from gridapp.core.rules import RuleError
from gridapp.core.statements import kept
from gridapp.duty import keys, policy
from gridapp.duty.models import (
    ACTIVE_SIGNUP,
    CHECKPOINT_KINDS,
    DEFAULT_PATTERN,
    Checkpoint,
    FeedToken,
    Shift,
    Signup,
)
from gridapp.duty.policy import CHECK_IN_EARLY, SHIFT, SIGNUP, STATUS_LABELS, cutoff
from gridapp.extensions import db
from gridapp.grid.models import Community, Compound, Grid
from gridapp.notifications.digest import Digest
from gridapp.notifications.group import GroupText, Window
from gridapp.notifications.kinds import kind
from gridapp.notifications.services import notify
from gridapp.policy import can
from gridapp.timeutil import TimeRangeError, parse_daily_ranges, to_local, town_today, town_zone, utcnow

# The notices this feature sends (registered by create_app).
# roles: who is sent each. The signed-up (volunteers: sign_up() takes only those serving in the
# community) hear of their own shifts; grid_staff() is the grid members and, for gaps, the secretary.
NOTICE_KINDS = (
    kind("duty_reminder", _l("Reminders of my duty shifts"), channels=("sms",), roles={"volunteer"}),
    kind("duty_gap", _l("Duty shifts short of people"), channels=("email", "sms"), urgent=True,
         roles={"grid_member", "secretary"}),
    kind("duty_removed", _l("Changes to my duty shifts"), channels=("sms",), roles={"volunteer"}),
    kind("duty_late_withdrawal", _l("Late withdrawals from duty shifts"), channels=("email",), roles={"grid_member"}),
    kind("duty_no_show", _l("Duty sign-ups to confirm as no-shows"), channels=(), roles={"grid_member"}),
)

# A gap as group robots hear it: the checkpoint, the shift and the numbers (never who signed up).
GAP_GROUP_LINE = _l("%(checkpoint)s %(day)s %(shift)s: %(filled)d of at least %(min)d")
GAP_GROUP_LINE_NOW = _l("%(checkpoint)s %(day)s %(shift)s: %(filled)d of at least %(min)d · running now")

KIND_LABELS = {"gate": _l("Gate checkpoint"), "vanguard": _l("Vanguard post"), "other": _l("Other")}
DAYS_AHEAD = 14
MAX_SHIFTS = 6


def reminder_lead() -> timedelta:
    return timedelta(hours=float(current_app.config.get("DUTY_REMINDER_HOURS", 2)))


def _insert(model):
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


def _hhmm(moment) -> str:
    return format_datetime(to_local(moment), "MM-dd HH:mm")


def shift_name(shift: Shift) -> str:
    return f"{shift.checkpoint.name} {shift.day.isoformat()} {shift.label}"


# --- patterns ----------------------------------------------------------------------------------

def parse_pattern(text: str) -> list[tuple[str, time, time | None]]:
    """'08:00-16:00,16:00-24:00,00:00-08:00' → [(label, start, end)], by start time. A shift whose
    end is at or before its start crosses midnight and belongs to the day it starts."""
    try:
        out = parse_daily_ranges(text)
    except TimeRangeError as exc:
        message = (_("Write shifts as 08:00-16:00, separated by commas.") if exc.kind == "format"
                   else _("A shift must not start and end at the same time."))
        raise RuleError(message, "pattern") from None
    if not out:
        raise RuleError(_("Give at least one shift."), "pattern")
    if len(out) > MAX_SHIFTS:
        raise RuleError(_("At most %(n)d shifts a day.", n=MAX_SHIFTS), "pattern")
    out.sort(key=lambda s: s[1])
    if len({label for label, *_rest in out}) != len(out):
        raise RuleError(_("The same shift is listed twice."), "pattern")
    # Shifts of one day must not overlap each other (one person could not serve both).
    spans = [shift_bounds(date(2020, 1, 6), start, end, UTC) for _label, start, end in out]
    spans += [(a + timedelta(days=1), b + timedelta(days=1)) for a, b in spans[:1]]
    for (_a1, b1), (a2, _b2) in zip(spans, spans[1:], strict=False):
        if a2 < b1:
            raise RuleError(_("Shifts of a day must not overlap."), "pattern")
    return out


# Every shift comes from a pattern (parse_pattern, shift_bounds): it ends less than a day of the town's
# clock after it starts, 25 hours at most where a clock goes back. A shift going on now therefore
# started within that much: a bound that lets the index on starts_at find the shifts of now among
# months of past ones.
LONGEST_SHIFT = timedelta(hours=25)


def ending_after(instant: datetime, started_after=None):
    """The shifts that end after `instant` (a condition on Shift): such a shift started after
    instant - LONGEST_SHIFT (`started_after`, when `instant` is a bound parameter), which the
    condition says too, for the index on starts_at."""
    if started_after is None:
        started_after = instant - LONGEST_SHIFT
    return and_(Shift.ends_at > instant, Shift.starts_at > started_after)


def going_on(now: datetime, started_after=None):
    """The shifts going on at `now` (a condition on Shift; see ending_after)."""
    return and_(Shift.starts_at <= now, ending_after(now, started_after))


def shift_bounds(day: date, start: time, end: time | None, zone=None) -> tuple[datetime, datetime]:
    """A shift of a local day as UTC instants; it belongs to the day it starts."""
    zone = zone or town_zone()
    starts = datetime.combine(day, start, tzinfo=zone)
    if end is None or end <= start:
        ends = datetime.combine(day + timedelta(days=1), end or time(0), tzinfo=zone)
    else:
        ends = datetime.combine(day, end, tzinfo=zone)
    return starts.astimezone(UTC), ends.astimezone(UTC)


# --- checkpoints ---------------------------------------------------------------------------------

def _validate(values: dict) -> dict:
    pattern = ",".join(label for label, *_r in parse_pattern(values.get("pattern") or DEFAULT_PATTERN))
    lo, hi = int(values.get("min_people") or 1), int(values.get("max_people") or 1)
    if lo < 1 or hi < lo:
        raise RuleError(_("The maximum must be at least the minimum, and the minimum at least 1."), "max_people")
    if values.get("kind", "gate") not in CHECKPOINT_KINDS:
        raise RuleError(_("Choose a kind."), "kind")
    return {**values, "pattern": pattern, "min_people": lo, "max_people": hi}


def create_checkpoint(actor, *, community: Community, compound: Compound | None = None, values: dict,
                      now: datetime | None = None) -> Checkpoint:
    """A new checkpoint and its shifts for the next 14 days."""
    now = now or utcnow()
    v = _validate(values)
    cp = Checkpoint(community_id=community.id, compound_id=compound.id if compound else None,
                    work_unit_id=v.get("work_unit_id") or (compound.work_unit_id if compound else None),
                    name=v["name"], kind=v.get("kind", "gate"), location=v.get("location", ""),
                    pattern=v["pattern"], min_people=v["min_people"], max_people=v["max_people"],
                    active=True, created_at=now)
    db.session.add(cp)
    db.session.flush()
    record("duty_checkpoint_created", cp, actor=actor, summary=f"{cp.pattern}; {cp.min_people}-{cp.max_people}")
    ensure_shifts(_days_ahead(now), [cp.id])
    return cp


def update_checkpoint(actor, cp: Checkpoint, values: dict, now: datetime | None = None) -> dict:
    """Change a checkpoint; a changed pattern or size is applied to its future shifts."""
    now = now or utcnow()
    v = _validate({"pattern": cp.pattern, "min_people": cp.min_people, "max_people": cp.max_people,
                   "kind": cp.kind, **values})
    fields = ("name", "kind", "location", "pattern", "min_people", "max_people", "active", "work_unit_id")
    before = {f: getattr(cp, f) for f in fields}
    for f in fields:
        if f in v:
            setattr(cp, f, v[f])
    after = {f: getattr(cp, f) for f in fields}
    if before == after:
        return {}

    record("duty_checkpoint_updated", cp, actor=actor, summary=describe_changes(before, after))
    db.session.flush()
    if any(before[f] != after[f] for f in ("pattern", "min_people", "max_people", "active")):
        return apply_pattern(cp, now)
    return {}


def apply_pattern(cp: Checkpoint, now: datetime) -> dict:
    """Future shifts follow the checkpoint's pattern: those nobody ever signed up for are made
    again; those with sign-ups are kept (their people stay) and flagged when off the pattern."""
    future = and_(Shift.checkpoint_id == cp.id, Shift.starts_at > now)
    untouched = ~exists().where(Signup.shift_id == Shift.id)
    dropped = db.session.execute(delete(Shift).where(future, untouched, Shift.filled == 0)).rowcount
    labels = [label for label, *_r in parse_pattern(cp.pattern)] if cp.active else []
    db.session.execute(update(Shift).where(future).values(
        off_pattern=~Shift.label.in_(labels) if labels else True,
        min_people=cp.min_people,
        # Never below the people already on it: a smaller maximum never un-books anyone.
        capacity=case((Shift.filled > cp.max_people, Shift.filled), else_=cp.max_people),
    ).execution_options(synchronize_session=False))
    made = ensure_shifts(_days_ahead(now), [cp.id]) if cp.active else 0
    return {"dropped": dropped, "made": made}


def _days_ahead(now: datetime) -> list[date]:
    today = town_today(now)
    return [today + timedelta(days=i) for i in range(DAYS_AHEAD)]


def ensure_shifts(days, checkpoint_ids=None) -> int:
    """Create the missing shifts of these local days for active checkpoints (all, or these):
    idempotent (unique checkpoint × day × label, ON CONFLICT DO NOTHING). Returns rows added."""
    stmt = select(Checkpoint.id, Checkpoint.pattern, Checkpoint.min_people, Checkpoint.max_people,
                  Checkpoint.created_at).where(Checkpoint.active.is_(True))
    if checkpoint_ids is not None:
        checkpoint_ids = list(checkpoint_ids)
        if not checkpoint_ids:
            return 0
        stmt = stmt.where(Checkpoint.id.in_(checkpoint_ids))
    parsed: dict[str, list] = {}
    rows = []
    for cp in db.session.execute(stmt).all():
        if cp.pattern not in parsed:
            parsed[cp.pattern] = parse_pattern(cp.pattern)
        for day in days:
            for label, start, end in parsed[cp.pattern]:
                starts, ends = shift_bounds(day, start, end)
                if ends <= cp.created_at:
                    continue
                rows.append({"checkpoint_id": cp.id, "day": day, "label": label, "starts_at": starts,
                             "ends_at": ends, "min_people": cp.min_people, "capacity": cp.max_people,
                             "filled": 0, "status": "open", "off_pattern": False, "gap_alerted": False,
                             "gap_alerts": 0, "noshow_listed": False})
    if not rows:
        return 0
    stmt = _insert(Shift).on_conflict_do_nothing(index_elements=["checkpoint_id", "day", "label"])
    return len(db.session.execute(stmt.returning(Shift.id), rows).all())


def generate_shifts(now: datetime | None = None) -> int:
    return ensure_shifts(_days_ahead(now or utcnow()))


def cancel_shift(actor, shift: Shift, reason: str, now: datetime | None = None) -> int:
    """Staff call off a shift that has not started (nobody is needed): the shift is marked cancelled
    and emptied, its people's sign-ups end as "cancelled" with the reason, and each of them is told
    (once: dedupe key `shift-cancelled:<shift id>`). Returns how many people were on it.

    Locks the shift row first and then its sign-ups, the order every writer of both keeps
    (sign-up, withdrawal, removal), so a concurrent sign-up either lands before and is cancelled
    here, or waits and is refused as cancelled."""
    now = now or utcnow()
    reason = (reason or "").strip()
    if not reason:
        raise RuleError(_("Give a reason."), "reason")
    SHIFT.apply(shift, "cancel", {"filled": 0}, now=now, explain=lambda shift, action: (
        _("This shift has already been cancelled.") if shift.status == "cancelled"
        else _("This shift is over; it can no longer be cancelled.") if shift.ends_at <= now
        else _("This shift has already started; it can no longer be cancelled.")))
    ended = db.session.execute(
        update(Signup).where(Signup.shift_id == shift.id, Signup.status.in_(ACTIVE_SIGNUP))
        .values(status="cancelled", ended_at=now, ended_by_id=getattr(actor, "id", None), reason=reason[:500])
        .returning(Signup.user_id).execution_options(synchronize_session=False)).all()
    db.session.refresh(shift)
    record("duty_shift_cancelled", shift, actor=actor, summary=reason[:200])
    people = list(db.session.scalars(select(User).where(User.id.in_([r[0] for r in ended])))) if ended else []
    if people:
        name = shift_name(shift)
        notify(people, "duty_removed", _("Shift cancelled: %(shift)s", shift=name),
               _("%(shift)s was cancelled; you are no longer needed on it. Reason: %(reason)s",
                 shift=name, reason=reason),
               dedupe_key=f"shift-cancelled:{shift.id}", link="/duty/mine", now=now)
    return len(ended)


def cancellation(shift: Shift) -> dict | None:
    """Who cancelled this shift, when and why (from its audit event), or None."""

    if shift.status != "cancelled":
        return None
    row = db.session.execute(select(AuditEvent, User.display_name).outerjoin(User, User.id == AuditEvent.actor_id)
                             .where(AuditEvent.action == "duty_shift_cancelled", AuditEvent.object_type == "Shift",
                                    AuditEvent.object_id == shift.id)
                             .order_by(AuditEvent.id.desc()).limit(1)).first()
    if row is None:
        return None
    event, name = row
    return {"by": name or event.actor_name, "at": event.created_at, "reason": event.summary}


COVERAGE_LABELS = {
    "low": _l("Below minimum"), "ok": _l("Minimum met, room for more"), "full": _l("Full"),
    "cancelled": _l("Cancelled"),
}


def coverage(shift: Shift) -> str:
    """A shift's coverage for the colours: cancelled, below minimum, at least the minimum, full."""
    if shift.status == "cancelled":
        return "cancelled"
    if shift.filled < shift.min_people:
        return "low"
    return "full" if shift.filled >= shift.capacity else "ok"


def short_label(label: str) -> str:
    """'08:00-16:00' → '08–16' (whole hours); other labels unchanged."""
    start, _sep, end = label.partition("-")
    if start.endswith(":00") and end.endswith(":00"):
        return f"{start[:2]}–{end[:2]}"
    return label.replace("-", "–")


def _lock_shift(shift_id: int) -> None:
    """Lock the shift row before touching its sign-ups (a no-op on SQLite, which serialises writes):
    every writer takes the shift first, so none waits for another in the opposite order."""
    db.session.execute(select(Shift.id).where(Shift.id == shift_id).with_for_update())


# --- sign-ups: the one place a shift's count changes -----------------------------------------------

def load_shift(shift_id: int) -> Shift | None:
    return db.session.scalars(select(Shift).options(joinedload(Shift.checkpoint).joinedload(Checkpoint.community))
                              .where(Shift.id == shift_id)).first()


def load_signup(signup_id: int) -> Signup | None:
    return db.session.scalars(select(Signup).options(joinedload(Signup.shift).joinedload(Shift.checkpoint),
                                                     joinedload(Signup.user).lazyload(User.roles))
                              .where(Signup.id == signup_id)).first()


def _refusal(shift: Shift, now: datetime) -> str:
    """Why a shift takes nobody now (read after the conditional UPDATE lost)."""
    db.session.refresh(shift)
    if shift.status == "cancelled":
        return _("This shift has been cancelled.")
    if shift.starts_at <= now:
        return _("This shift has already started; sign-ups are closed.")
    if shift.filled >= shift.capacity:
        return _("This shift is full (%(filled)d of %(capacity)d).", filled=shift.filled, capacity=shift.capacity)
    return _("This shift cannot take sign-ups now.")


def _clash(user_id: int, shift: Shift) -> Shift | None:
    """An active shift of this person that overlaps this one."""
    return db.session.scalars(
        select(Shift).join(Signup, Signup.shift_id == Shift.id).options(contains_eager(Shift.checkpoint))
        .join(Checkpoint, Checkpoint.id == Shift.checkpoint_id)
        .where(Signup.user_id == user_id, Signup.status.in_(ACTIVE_SIGNUP), Shift.id != shift.id,
               Shift.starts_at < shift.ends_at, Shift.ends_at > shift.starts_at)
        .limit(1)).first()


def serves_in(user: User, community_id: int) -> bool:
    return any(ra.role == "volunteer" and ra.scope_id == community_id for ra in user.roles)


def sign_up(shift: Shift, user: User, *, actor: User | None = None, now: datetime | None = None) -> Signup:
    """Put `user` on the shift (themselves, or assigned by staff). The capacity is guarded by one
    conditional UPDATE of the shift's counter in the same transaction as the sign-up row, and the
    unique shift × person forbids a double sign-up. Raises RuleError; the caller then rolls back."""
    now = now or utcnow()
    actor = actor or user
    if not serves_in(user, shift.checkpoint.community_id):
        if actor.id == user.id:
            raise RuleError(_("This checkpoint belongs to %(community)s, where you do not serve as a volunteer.",
                              community=shift.checkpoint.community.name))
        raise RuleError(_("%(name)s does not serve as a volunteer in %(community)s.", name=user.display_name,
                          community=shift.checkpoint.community.name))
    # One sign-up of a person at a time (a no-op on SQLite, whose transactions are serialised):
    # the overlap check below cannot race with the same person's other sign-up.
    db.session.execute(select(User.id).where(User.id == user.id).with_for_update())
    existing = db.session.scalars(select(Signup).where(Signup.shift_id == shift.id, Signup.user_id == user.id,
                                                       Signup.status.in_(ACTIVE_SIGNUP))).first()
    if existing is not None:
        raise RuleError(_("Already signed up for this shift."))
    clash = _clash(user.id, shift)
    if clash is not None:
        raise RuleError(_("This overlaps %(shift)s, which you are already signed up for.", shift=shift_name(clash)))
    won = db.session.execute(
        update(Shift).where(Shift.id == shift.id, Shift.status == "open", Shift.filled < Shift.capacity,
                            Shift.starts_at > now)
        .values(filled=Shift.filled + 1,
                # Back at its minimum: a later drop below it is a new gap worth an alert.
                gap_alerted=case((Shift.filled + 1 >= Shift.min_people, False), else_=Shift.gap_alerted))
        .execution_options(synchronize_session=False)).rowcount
    if not won:
        raise RuleError(_refusal(shift, now))
    values = {"shift_id": shift.id, "user_id": user.id, "status": "signed_up", "signed_up_at": now,
              "assigned_by_id": actor.id if actor.id != user.id else None, "reason": ""}
    stmt = _insert(Signup).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["shift_id", "user_id"],
        set_={"status": "signed_up", "signed_up_at": now, "assigned_by_id": values["assigned_by_id"],
              "ended_at": None, "ended_by_id": None, "reason": "", "reminded_at": None,
              "checked_in_at": None, "checked_out_at": None},
        where=Signup.status.in_(("withdrawn", "removed")))
    signup_id = db.session.execute(stmt.returning(Signup.id)).scalar()
    if signup_id is None:  # a concurrent sign-up of the same person won
        raise RuleError(_("Already signed up for this shift."))
    signup = db.session.get(Signup, signup_id, populate_existing=True)
    record("duty_signed_up" if actor.id == user.id else "duty_assigned", shift, actor=actor,
           summary=user.username)
    return signup


def _release(shift_id: int) -> None:
    db.session.execute(update(Shift).where(Shift.id == shift_id, Shift.filled > 0)
                       .values(filled=Shift.filled - 1).execution_options(synchronize_session=False))


def _state_message(signup: Signup) -> str:
    """What a sign-up's state is now, and who put it there."""
    if signup.status == "cancelled":
        return _("This shift has been cancelled.")
    label = STATUS_LABELS.get(signup.status, signup.status)
    who = signup.ended_by_id and db.session.get(User, signup.ended_by_id)
    if who and signup.ended_at:
        return _("This sign-up is already %(state)s (by %(name)s at %(time)s).", state=label,
                 name=who.display_name, time=_hhmm(signup.ended_at))
    return _("This sign-up is already %(state)s.", state=label)


def _explain(still_signed_up: str | None = None):
    """A refusal of a sign-up's transition (policy.SIGNUP): its state now, or, while it is still
    signed up, why the time does not allow the action."""
    return lambda signup, action: (_state_message(signup) if signup.status != "signed_up"
                                   else still_signed_up or _state_message(signup))


def withdraw(signup: Signup, user: User, now: datetime | None = None) -> None:
    """The volunteer takes themselves off, until the cut-off before the shift starts."""
    now = now or utcnow()
    shift = signup.shift
    if shift.starts_at - cutoff() <= now and signup.status == "signed_up":
        raise RuleError(_("Withdrawals close %(hours)d h before the shift starts; ask your grid member to "
                          "take you off.", hours=int(cutoff().total_seconds() // 3600)))
    _lock_shift(shift.id)
    SIGNUP.apply(signup, "withdraw", {"ended_at": now, "ended_by_id": user.id}, Signup.user_id == user.id,
                 now=now, explain=_explain())
    _release(shift.id)
    record("duty_withdrawn", shift, actor=user, summary=user.username)


def remove(signup: Signup, actor: User, reason: str, now: datetime | None = None) -> None:
    """Staff take someone off a shift (with a reason). After the cut-off the shift's grid members
    hear of it (a late withdrawal); the person always does."""
    now = now or utcnow()
    reason = (reason or "").strip()
    if not reason:
        raise RuleError(_("Give a reason."), "reason")
    shift = signup.shift
    _lock_shift(shift.id)
    SIGNUP.apply(signup, "remove", {"ended_at": now, "ended_by_id": actor.id, "reason": reason[:500]}, now=now,
                 explain=_explain(_("This shift is over; mark a no-show instead.")))
    _release(shift.id)
    record("duty_removed", shift, actor=actor, summary=f"{signup.user.username}: {reason[:200]}")
    name = shift_name(shift)
    notify([signup.user], "duty_removed", _("You were taken off %(shift)s", shift=name), reason,
           dedupe_key=f"shift-removed:{signup.id}:{now.isoformat()}", link="/duty/mine", now=now)
    if shift.starts_at - cutoff() <= now:
        notify(grid_staff(shift.checkpoint, secretaries=False), "duty_late_withdrawal",
               _("Late withdrawal: %(shift)s", shift=name),
               _("%(person)s was taken off by %(actor)s: %(reason)s", person=signup.user.display_name,
                 actor=actor.display_name, reason=reason),
               dedupe_key=f"shift-late-withdrawal:{signup.id}:{now.isoformat()}",
               link=f"/duty/roster?day={shift.day.isoformat()}", now=now)


def check_in_open(signup: Signup, now: datetime) -> bool:
    """Whether the person may check in now: signed up, from CHECK_IN_EARLY before the start until
    the end (policy.SIGNUP, which check_in's UPDATE also obeys)."""
    return SIGNUP.state_allows(signup, "check_in") and SIGNUP["check_in"].when(signup, now)


def check_in(signup: Signup, user: User, now: datetime | None = None) -> None:
    now = now or utcnow()
    early = signup.shift.starts_at - CHECK_IN_EARLY > now
    SIGNUP.apply(signup, "check_in", {"checked_in_at": now}, Signup.user_id == user.id, now=now, explain=_explain(
        _("Check-in opens 30 minutes before the shift (%(time)s).", time=_hhmm(signup.shift.starts_at - CHECK_IN_EARLY))
        if early else _("This shift is over.")))
    record("duty_checked_in", signup.shift, actor=user, summary=user.username)


def check_out(signup: Signup, user: User, now: datetime | None = None) -> None:
    now = now or utcnow()
    SIGNUP.apply(signup, "check_out", {"checked_out_at": now}, Signup.user_id == user.id, now=now,
                 explain=_explain(_("Check in first.")))
    record("duty_checked_out", signup.shift, actor=user, summary=user.username)


def mark_no_show(signup: Signup, actor: User, now: datetime | None = None) -> None:
    now = now or utcnow()
    SIGNUP.apply(signup, "mark_no_show", {"ended_at": now, "ended_by_id": actor.id}, now=now,
                 explain=_explain(_("The shift is not over yet.")))
    record("duty_no_show", signup.shift, actor=actor, summary=signup.user.username)


def volunteers_on_duty(community_id: int, now: datetime) -> list[User]:
    """The volunteers of this community signed up for one of its shifts going on now (those an
    urgent errand there asks first)."""
    return list(db.session.scalars(
        select(User).join(Signup, Signup.user_id == User.id).join(Shift, Shift.id == Signup.shift_id)
        .join(Checkpoint, Checkpoint.id == Shift.checkpoint_id)
        .join(RoleAssignment, and_(RoleAssignment.user_id == User.id, RoleAssignment.role == "volunteer",
                                   RoleAssignment.scope_id == community_id))
        .where(Checkpoint.community_id == community_id, going_on(now),
               Signup.status.in_(("signed_up", "checked_in")), User.active.is_(True))
        .distinct().order_by(User.id)))


# --- who hears about a checkpoint ----------------------------------------------------------------

def grid_staff(cp: Checkpoint, secretaries: bool = True) -> list[User]:
    """The grid members of the checkpoint's compound's grid (every grid of the community for a
    community-level checkpoint), and the community's secretaries."""
    grants = {"grid_member": [cp.compound.grid_id] if cp.compound_id
              else select(Grid.id).where(Grid.community_id == cp.community_id)}
    if secretaries:
        grants["secretary"] = [cp.community_id]
    return people_holding(grants)


# --- the jobs' sweeps ----------------------------------------------------------------------------

def send_reminders(now: datetime | None = None) -> int:
    """Remind each signed-up person once, `reminder_lead()` before their shift: one conditional
    UPDATE … RETURNING claims the reminders, so two sweeps at once remind once (and the dedupe key
    `shift-reminder:<signup id>` holds even if a claim were lost)."""
    now = now or utcnow()
    due = select(Shift.id).where(Shift.status == "open", Shift.starts_at > now,
                                 Shift.starts_at <= now + reminder_lead())
    ids = [r[0] for r in db.session.execute(
        update(Signup).where(Signup.status == "signed_up", Signup.reminded_at.is_(None), Signup.shift_id.in_(due))
        .values(reminded_at=now).returning(Signup.id).execution_options(synchronize_session=False)).all()]
    if not ids:
        return 0
    rows = db.session.execute(select(Signup, Shift, Checkpoint).join(Shift, Shift.id == Signup.shift_id)
                              .join(Checkpoint, Checkpoint.id == Shift.checkpoint_id)
                              .options(joinedload(Signup.user).lazyload(User.roles)).where(Signup.id.in_(ids))).all()
    sent = 0
    for signup, shift, cp in rows:
        where = cp.location or cp.name
        res = notify([signup.user], "duty_reminder",
                     _("Duty at %(place)s at %(time)s", place=cp.name, time=_hhmm(shift.starts_at)),
                     _("Your shift %(label)s at %(where)s starts at %(time)s. Check in on arrival.",
                       label=shift.label, where=where, time=_hhmm(shift.starts_at)),
                     dedupe_key=keys.shift_reminder(signup.id), link="/duty/mine", now=now)
        sent += res.inbox
    return sent


def gap_urgent_lead() -> timedelta:
    return timedelta(hours=float(current_app.config.get("DUTY_GAP_URGENT_HOURS", 2)))


def gap_alerts(now: datetime | None = None) -> int:
    """Shifts running now or starting within 24 h below their minimum: the grid members and
    secretary hear once per shift, in one digest per sweep (see gridapp/notifications/digest.py);
    a shift that reached its minimum and fell below it again is told again. A gap is urgent while
    its shift runs or starts within gap_urgent_lead(); the others wait for the end of quiet hours."""
    now = now or utcnow()
    rows = db.session.execute(
        update(Shift).where(Shift.status == "open", ending_after(now), Shift.starts_at <= now + timedelta(hours=24),
                            Shift.filled < Shift.min_people, Shift.gap_alerted.is_(False))
        .values(gap_alerted=True, gap_alerts=Shift.gap_alerts + 1)
        .returning(Shift.id, Shift.gap_alerts).execution_options(synchronize_session=False)).all()
    if not rows:
        return 0
    shifts = db.session.scalars(select(Shift).options(joinedload(Shift.checkpoint).joinedload(Checkpoint.compound),
                                                      joinedload(Shift.checkpoint).joinedload(Checkpoint.community))
                                .where(Shift.id.in_([r[0] for r in rows])).order_by(Shift.starts_at)).unique().all()
    digest = Digest("duty_gap", now=now, link="/duty/roster",
                    title=lambda n, urgent: (_("Shifts short of people: %(n)d, %(urgent)d of them now or soon",
                                               n=n, urgent=urgent) if urgent
                                             else _("Shifts short of people: %(n)d", n=n)),
                    more=lambda n: _("and %(n)d more on the roster", n=n))
    staff_of: dict[int, list] = {}
    for shift in shifts:
        cp = shift.checkpoint
        if cp.id not in staff_of:
            staff_of[cp.id] = grid_staff(cp)
        line = _("%(shift)s: %(filled)d of at least %(min)d", shift=shift_name(shift), filled=shift.filled,
                 min=shift.min_people)
        if shift.starts_at <= now:
            line += " · " + _("running now")
        group_line = GroupText(GAP_GROUP_LINE_NOW if shift.starts_at <= now else GAP_GROUP_LINE, checkpoint=cp,
                               day=shift.day, shift=Window.between(shift.starts_at, shift.ends_at),
                               filled=shift.filled, min=shift.min_people)
        digest.add(staff_of[cp.id], line, urgent=shift.starts_at <= now + gap_urgent_lead(),
                   places=[cp.community], group_line=group_line)
    return digest.send().inbox


def list_no_shows(now: datetime | None = None) -> int:
    """Shifts that ended with people who never checked in: staff are asked (once per shift) to
    confirm them as no-shows on the roster."""
    now = now or utcnow()
    pending = exists().where(Signup.shift_id == Shift.id, Signup.status == "signed_up")
    ids = [r[0] for r in db.session.execute(
        update(Shift).where(Shift.ends_at <= now, Shift.noshow_listed.is_(False), pending)
        .values(noshow_listed=True).returning(Shift.id).execution_options(synchronize_session=False)).all()]
    for shift in db.session.scalars(select(Shift).options(joinedload(Shift.checkpoint))
                                    .where(Shift.id.in_(ids))).all() if ids else ():
        notify(grid_staff(shift.checkpoint, secretaries=False), "duty_no_show",
               _("Confirm no-shows: %(shift)s", shift=shift_name(shift)),
               _("Some people never checked in. Mark them on the roster."),
               dedupe_key=keys.shift_noshow(shift.id), link=f"/duty/roster?day={shift.day.isoformat()}", now=now)
    return len(ids)


# --- pages' queries --------------------------------------------------------------------------------

def volunteer_communities(user) -> set:
    return policy.scope_of(user).volunteer_communities


# The volunteers' list's statements, kept (gridapp/core/statements.py): every value is a parameter
# given when they run, so one set serves every volunteer.
COMMUNITIES, SHIFT_IDS = bindparam("communities", expanding=True), bindparam("shift_ids", expanding=True)


def _checkpoints_for_volunteer():
    return (select(Checkpoint).where(Checkpoint.community_id.in_(COMMUNITIES), Checkpoint.active.is_(True))
            .order_by(Checkpoint.name))


def checkpoints_for_volunteer(user) -> list[Checkpoint]:
    ids = volunteer_communities(user)
    if not ids:
        return []
    stmt = kept(("duty.checkpoints_for_volunteer",), _checkpoints_for_volunteer)
    return list(db.session.scalars(stmt, {"communities": sorted(ids)}))


def _volunteer_shifts(one_checkpoint: bool, one_day: bool, needs_people: bool):
    stmt = (select(Shift).join(Checkpoint, Checkpoint.id == Shift.checkpoint_id)
            .options(contains_eager(Shift.checkpoint))
            .where(Checkpoint.community_id.in_(COMMUNITIES), Checkpoint.active.is_(True),
                   Shift.ends_at > bindparam("now")))
    if one_checkpoint:
        stmt = stmt.where(Checkpoint.id == bindparam("checkpoint"))
    if one_day:
        stmt = stmt.where(Shift.day == bindparam("day"))
    if needs_people:
        stmt = stmt.where(Shift.filled < Shift.capacity, Shift.status == "open")
    return stmt.order_by(Shift.day, Checkpoint.name, Checkpoint.id, Shift.starts_at)


def volunteer_shifts(user, *, day: date | None, checkpoint_id: int | None, needs_people: bool,
                     now: datetime | None = None) -> list[Shift]:
    """Upcoming shifts of the volunteer's communities: one day (or all 14 of one checkpoint). Cancelled
    shifts are listed (as cancelled) unless only those needing people are asked for."""
    now = now or utcnow()
    ids = volunteer_communities(user)
    if not ids:
        return []
    shape = (bool(checkpoint_id), day is not None, bool(needs_people))
    stmt = kept(("duty.volunteer_shifts", *shape), lambda: _volunteer_shifts(*shape))
    return list(db.session.scalars(stmt, {"communities": sorted(ids), "now": now, "checkpoint": checkpoint_id,
                                          "day": day}))


def _my_signups_on():
    return select(Signup).where(Signup.user_id == bindparam("user"), Signup.shift_id.in_(SHIFT_IDS),
                                Signup.status.in_(ACTIVE_SIGNUP))


def my_signups_on(user, shift_ids) -> dict[int, Signup]:
    shift_ids = list(shift_ids)
    if not shift_ids:
        return {}
    rows = db.session.scalars(kept(("duty.my_signups_on",), _my_signups_on), {"user": user.id, "shift_ids": shift_ids})
    return {s.shift_id: s for s in rows}


@dataclass
class MyShifts:
    upcoming: list  # Signup objects (shift and checkpoint loaded): their actions are checked on them
    past: list  # rows (checkpoint, day, label, status): shown, never acted on
    hours: float


def my_shifts(user, now: datetime | None = None, past_limit: int = 50) -> MyShifts:
    now = now or utcnow()
    base = (select(Signup).join(Shift, Shift.id == Signup.shift_id)
            .join(Checkpoint, Checkpoint.id == Shift.checkpoint_id)
            .options(contains_eager(Signup.shift).contains_eager(Shift.checkpoint)).where(Signup.user_id == user.id))
    # Cancelled shifts stay in view (with the reason) until they would have ended.
    upcoming = list(db.session.scalars(base.where(Shift.ends_at > now,
                                                  Signup.status.in_(ACTIVE_SIGNUP + ("cancelled",)))
                                       .order_by(Shift.starts_at)))
    past = db.session.execute(
        select(Checkpoint.name.label("checkpoint"), Shift.day, Shift.label, Signup.status)
        .select_from(Signup).join(Shift, Shift.id == Signup.shift_id)
        .join(Checkpoint, Checkpoint.id == Shift.checkpoint_id)
        .where(Signup.user_id == user.id, Shift.ends_at <= now, Signup.status.in_(ACTIVE_SIGNUP + ("no_show",)))
        .order_by(Shift.starts_at.desc()).limit(past_limit)).all()
    return MyShifts(upcoming, past, hours_served(user.id, now))


def _served():
    """A sign-up counts as served once checked in; the hours are the shift's scheduled length."""
    return Signup.status.in_(("checked_in", "checked_out"))


def hours_served(user_id: int, now: datetime) -> float:
    rows = db.session.execute(select(Shift.starts_at, Shift.ends_at).join(Signup, Signup.shift_id == Shift.id)
                              .where(Signup.user_id == user_id, _served(), Shift.starts_at <= now)).all()
    return round(sum((e - s).total_seconds() for s, e in rows) / 3600, 1)


def roster_checkpoints(user, community_id: int | None = None, days: tuple[date, date] | None = None
                       ) -> list[Checkpoint]:
    """The checkpoints of the user's roster; with `days` (first, last), only the active ones and the
    inactive ones that still have shifts in those days."""
    stmt = (select(Checkpoint).outerjoin(Compound, Compound.id == Checkpoint.compound_id)
            .options(contains_eager(Checkpoint.compound)).where(policy.roster_clause(user))
            .order_by(Checkpoint.community_id, Checkpoint.name, Checkpoint.id))
    if community_id:
        stmt = stmt.where(Checkpoint.community_id == community_id)
    if days:
        stmt = stmt.where(or_(Checkpoint.active.is_(True), select(Shift.id).where(
            Shift.checkpoint_id == Checkpoint.id, Shift.day >= days[0], Shift.day <= days[1]).exists()))
    return list(db.session.scalars(stmt))


def roster_day(user, day: date, community_id: int | None = None):
    """The roster of one local day: [(checkpoint, [(shift, [signups])])] in three queries."""
    checkpoints = roster_checkpoints(user, community_id)
    ids = [c.id for c in checkpoints]
    shifts = list(db.session.scalars(select(Shift).where(Shift.day == day, Shift.checkpoint_id.in_(ids))
                                     .order_by(Shift.starts_at))) if ids else []
    people: dict[int, list] = {}
    if shifts:
        for s in db.session.scalars(select(Signup).options(joinedload(Signup.user).lazyload(User.roles))
                                    .where(Signup.shift_id.in_([s.id for s in shifts]),
                                           Signup.status.in_(ACTIVE_SIGNUP + ("no_show",)))
                                    .order_by(Signup.signed_up_at)):
            people.setdefault(s.shift_id, []).append(s)
    by_cp: dict[int, list] = {}
    for s in shifts:
        by_cp.setdefault(s.checkpoint_id, []).append((s, people.get(s.id, [])))
    return [(c, by_cp.get(c.id, [])) for c in checkpoints if c.id in by_cp or c.active]


def roster_grid(user, first: date, last: date, community_id: int | None = None, page: int = 1,
                per_page: int = 20):
    """One page of the roster of several local days as a grid: (ListPage of checkpoints, [(checkpoint,
    [[shift] per day])]), the shifts of each day in start order. The checkpoints are the active ones and
    the inactive ones that still have shifts in these days, a page of `per_page` at a time (a community
    can have 100+; a phone gets 20 rows, not the whole town). Two queries. No people: the day view and
    the shift page show them. The shifts are rows (id, checkpoint_id, day, label, ends_at, status,
    filled, capacity, min_people), not objects."""

    checkpoints = roster_checkpoints(user, community_id, days=(first, last))
    listed = ListPage(checkpoints, per_page=per_page, page=max(page, 1))
    ids = [c.id for c in listed.items]
    ndays = (last - first).days + 1
    cells: dict[int, list] = {i: [[] for _i in range(ndays)] for i in ids}
    if ids:
        # Rows of the columns a cell shows, not Shift objects: a page has 400+ shifts.
        for s in db.session.execute(select(Shift.id, Shift.checkpoint_id, Shift.day, Shift.label, Shift.ends_at,
                                           Shift.status, Shift.filled, Shift.capacity, Shift.min_people)
                                    .where(Shift.day >= first, Shift.day <= last, Shift.checkpoint_id.in_(ids))
                                    .order_by(Shift.checkpoint_id, Shift.starts_at)):
            cells[s.checkpoint_id][(s.day - first).days].append(s)
    return listed, [(c, cells[c.id]) for c in listed.items]


WEEK = 7


def roster_page(user, *, day: date | None = None, start: date | None = None, community_id: int | None = None,
                page: int = 1, per_page: int = 20, now: datetime | None = None) -> dict:
    """What the staff roster shows: the community chosen (if any), either one local day with its people
    (`day`: rows, days) or a week's grid from `start` (clamped to the week before today … the last week
    of shifts: start, week, grid, listed, prev_start, next_start), the gaps of the next 24 and 48 hours,
    the no-shows to confirm, the communities to choose from (town-wide staff) and those a checkpoint
    may be added to."""
    now = now or utcnow()
    today = town_today(now)
    community = db.session.get(Community, community_id) if community_id else None
    cid = community.id if community else None
    first_day, last_start = today - timedelta(days=WEEK), today + timedelta(days=DAYS_AHEAD - WEEK)
    view: dict = {"day": day, "today": today, "now": now, "community": community}
    if day is not None:
        view.update(rows=roster_day(user, day, cid), days=[today + timedelta(days=i) for i in range(-1, DAYS_AHEAD)])
    else:
        start = min(max(start or today, first_day), last_start)
        week = [start + timedelta(days=i) for i in range(WEEK)]
        listed, grid = roster_grid(user, week[0], week[-1], cid, page=page, per_page=per_page)
        view.update(start=start, week=week, grid=grid, listed=listed,
                    prev_start=max(start - timedelta(days=WEEK), first_day) if start > first_day else None,
                    next_start=min(start + timedelta(days=WEEK), last_start) if start < last_start else None)
    soon = gaps(user, now, 48, cid)
    scope = policy.scope_of(user)
    view.update(
        gaps24=[g for g in soon if g.starts_at <= now + timedelta(hours=24)],
        gaps48=[g for g in soon if g.starts_at > now + timedelta(hours=24)],
        confirm=to_confirm(user, now),
        communities=db.session.scalars(select(Community).order_by(Community.id)).all()
        if scope.admin or scope.town_wide else [],
        add_to=db.session.scalars(select(Community).where(Community.id.in_(policy.addable_communities(user)))
                                  .order_by(Community.id)).all() if can(user, "add_checkpoint") else [])
    return view


def gaps(user, now: datetime | None = None, hours: int = 48, community_id: int | None = None) -> list[Shift]:
    """Open shifts below their minimum that are running now or start in the next `hours`, soonest
    first (one query): a checkpoint short of people at this very moment comes first."""
    now = now or utcnow()
    stmt = (select(Shift).join(Checkpoint, Checkpoint.id == Shift.checkpoint_id)
            .outerjoin(Compound, Compound.id == Checkpoint.compound_id)
            .options(contains_eager(Shift.checkpoint).contains_eager(Checkpoint.compound))  # can_manage reads it
            .where(policy.roster_clause(user), Shift.status == "open", Shift.filled < Shift.min_people,
                   ending_after(now), Shift.starts_at <= now + timedelta(hours=hours)))
    if community_id:
        stmt = stmt.where(Checkpoint.community_id == community_id)
    return list(db.session.scalars(stmt.order_by(Shift.starts_at, Checkpoint.name)))


def to_confirm(user, now: datetime | None = None, limit: int = 100) -> list[Signup]:
    """Sign-ups of ended shifts never checked in: the no-shows for staff to confirm."""
    now = now or utcnow()
    return list(db.session.scalars(
        select(Signup).join(Shift, Shift.id == Signup.shift_id).join(Checkpoint, Checkpoint.id == Shift.checkpoint_id)
        .outerjoin(Compound, Compound.id == Checkpoint.compound_id)
        .options(contains_eager(Signup.shift).contains_eager(Shift.checkpoint).contains_eager(Checkpoint.compound),
                 joinedload(Signup.user).lazyload(User.roles))
        .where(policy.managed_clause(user), Signup.status == "signed_up", Shift.ends_at <= now,
               Shift.ends_at > now - timedelta(days=DAYS_AHEAD))
        .order_by(Shift.ends_at.desc()).limit(limit)))


def candidates(shift: Shift) -> list[User]:
    """Volunteers of the shift's community who are not on it."""
    on = select(Signup.user_id).where(Signup.shift_id == shift.id, Signup.status.in_(ACTIVE_SIGNUP))
    return list(db.session.scalars(
        select(User).join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(RoleAssignment.role == "volunteer", RoleAssignment.scope_id == shift.checkpoint.community_id,
               User.active.is_(True), User.id.not_in(on)).order_by(User.display_name)))


def hours_report(user, first: date, last: date) -> list[dict]:
    """Attendance and hours per volunteer on the checkpoints this user sees, between two local days."""
    hours = func.sum(case((_served(), func.coalesce(_seconds(), 0)), else_=0))
    rows = db.session.execute(
        select(User.id, User.display_name, User.username,
               func.count(Signup.id).label("shifts"),
               func.sum(case((_served(), 1), else_=0)).label("served"),
               func.sum(case((Signup.status == "no_show", 1), else_=0)).label("no_shows"),
               hours.label("seconds"))
        .select_from(Signup).join(User, User.id == Signup.user_id).join(Shift, Shift.id == Signup.shift_id)
        .join(Checkpoint, Checkpoint.id == Shift.checkpoint_id)
        .outerjoin(Compound, Compound.id == Checkpoint.compound_id)
        .where(policy.roster_clause(user), Shift.day >= first, Shift.day <= last,
               Signup.status.in_(ACTIVE_SIGNUP + ("no_show",)))
        .group_by(User.id, User.display_name, User.username).order_by(User.display_name)).all()
    return [{"name": r.display_name, "username": r.username, "shifts": r.shifts, "served": r.served or 0,
             "no_shows": r.no_shows or 0, "hours": round(float(r.seconds or 0) / 3600, 1)} for r in rows]


def _seconds():
    """A shift's length in seconds, in SQL on either database."""
    if db.session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", Shift.ends_at - Shift.starts_at)
    return (func.julianday(Shift.ends_at) - func.julianday(Shift.starts_at)) * 86400


HOURS_PERSONAL = (_l("Volunteer"), _l("Username"))


def hours_xlsx(user, rows: list[dict], first: date, last: date, personal_reason: str = "") -> xlsx.Book:
    """The hours report as a workbook, headed with the period and the places of `user`; the people's
    names only with a reason for personal columns."""
    book = xlsx.Book(xlsx.heading(_("Duty hours"), user, first, last), personal_reason=personal_reason)
    book.sheet("duty", [
        xlsx.Column(_("Volunteer"), 14, lambda r: r["name"], personal=True),
        xlsx.Column(_("Username"), 14, lambda r: r["username"], personal=True),
        xlsx.Column(_("Shifts"), 8, lambda r: r["shifts"]),
        xlsx.Column(_("Served"), 8, lambda r: r["served"]),
        xlsx.Column(_("No-shows"), 8, lambda r: r["no_shows"]),
        xlsx.Column(_("Hours"), 8, lambda r: r["hours"]),
    ]).extend(rows)
    return book


# --- calendar feed -----------------------------------------------------------------------------------

def feed_token(user, regenerate: bool = False) -> str:
    row = db.session.get(FeedToken, user.id)
    if row is None:
        row = FeedToken(user_id=user.id, token=secrets.token_urlsafe(24))
        db.session.add(row)
    elif regenerate:
        row.token = secrets.token_urlsafe(24)
        row.created_at = utcnow()
    return row.token


FEED_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")


def user_by_feed_token(token: str) -> User | None:
    # Tokens are secrets.token_urlsafe(); anything else (a NUL byte, a megabyte) names nobody.
    if not isinstance(token, str) or not FEED_TOKEN.fullmatch(token):
        return None
    return db.session.scalars(select(User).join(FeedToken, FeedToken.user_id == User.id)
                              .where(FeedToken.token == token, User.active.is_(True))).first()


# RFC 5545 TEXT holds no control characters but tab; a line break is escaped by icalendar.
_ICS_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f]")


def _ics_text(text: str) -> str:
    return _ICS_CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def ics_feed(user, host: str, now: datetime | None = None) -> str:
    """The user's shifts of the last 30 days and ahead as an iCalendar feed (icalendar escapes
    the text and folds long lines at 75 octets)."""
    now = now or utcnow()
    rows = db.session.scalars(
        select(Signup).join(Shift, Shift.id == Signup.shift_id).join(Checkpoint, Checkpoint.id == Shift.checkpoint_id)
        .options(contains_eager(Signup.shift).contains_eager(Shift.checkpoint))
        .where(Signup.user_id == user.id, Signup.status.in_(ACTIVE_SIGNUP), Shift.ends_at > now - timedelta(days=30))
        .order_by(Shift.starts_at))
    cal = Calendar()
    cal.add("version", "2.0")
    cal.add("prodid", "-//gridapp//duty//ZH")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", _ics_text(_("My duty shifts")))
    for s in rows:
        shift = s.shift
        event = Event()
        event.add("uid", f"duty-signup-{s.id}@{_ics_text(host)}")
        event.add("dtstamp", now.astimezone(UTC).replace(microsecond=0))
        event.add("dtstart", shift.starts_at.astimezone(UTC))
        event.add("dtend", shift.ends_at.astimezone(UTC))
        event.add("summary", _ics_text(_("Duty: %(place)s", place=shift.checkpoint.name)))
        event.add("location", _ics_text(shift.checkpoint.location or shift.checkpoint.name))
        cal.add_component(event)
    return cal.to_ical().decode("utf-8")


def roster_people(shift: Shift) -> list[Signup]:
    return list(db.session.scalars(select(Signup).options(joinedload(Signup.user).lazyload(User.roles))
                                   .where(Signup.shift_id == shift.id).order_by(Signup.signed_up_at)))


def next_signup(user, now: datetime | None = None) -> Signup | None:
    """The person's next shift for the home page: their sign-up (signed up or checked in) on the
    open shift that is running now or starts soonest, with its shift and checkpoint. One statement."""
    now = now or utcnow()
    return db.session.scalars(
        select(Signup).join(Shift, Shift.id == Signup.shift_id).join(Checkpoint, Checkpoint.id == Shift.checkpoint_id)
        .options(contains_eager(Signup.shift).contains_eager(Shift.checkpoint))
        .where(Signup.user_id == user.id, Signup.status.in_(("signed_up", "checked_in")), Shift.status == "open",
               Shift.ends_at > now)
        .order_by(Shift.starts_at, Shift.id).limit(1)).first()
