"""The rules of home observation: starting, extending and ending one; the day's checks made by a
sweep; recording a check (staff, or the person through the personal link); the fever alert and its
follow-up; the missed-check ladder; the automatic end, never on a day without a successful check.
No request, no HTML."""
import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, Integer, String, and_, false, func, literal, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import contains_eager, joinedload

from gridapp.audit.services import record
from gridapp.auth import invitations
from gridapp.auth.models import User
from gridapp.auth.services import holder, holders, town_leaders
from gridapp.core.rules import Conflict, RuleError
from gridapp.extensions import db
from gridapp.grid.models import Compound, Grid, Household
from gridapp.notifications.group import GroupText
from gridapp.notifications.kinds import kind
from gridapp.notifications.services import notify, send_to_phone
from gridapp.observation.models import METHODS, OUTCOMES, FeverFollowUp, Observation, ObservationCheck
from gridapp.observation.policy import OBSERVATION
from gridapp.people.models import Person
from gridapp.timeutil import UTCDateTime, to_local, town_today, town_zone, utcnow

NOTICE_KINDS = (
    kind("observation_fever", _l("Fever or symptoms in home observation"), channels=("email", "sms"), urgent=True,
         roles={"grid_member", "secretary", "town_leader"}),
    kind("observation_missed", _l("Missed home-observation checks"), channels=("email", "sms"),
         roles={"building_head", "grid_member", "secretary"}),
    kind("observation_ended", _l("Home observations ended"), channels=("email",),
         roles={"building_head", "grid_member"}),
    kind("observation_link", _l("Personal health-check links"), channels=("sms",), secret=True),
    kind("observation_over", _l("End of home observation, to the person"), channels=("sms",), secret=True),
)

METHOD_LABELS = {"in_person": _l("In person"), "phone": _l("By phone"), "self": _l("Self-report")}
OUTCOME_LABELS = {"referred": _l("Referred to the fever clinic"), "resolved": _l("Resolved")}
SYMPTOM_LABELS = {"cough": _l("Cough"), "fever": _l("Feeling feverish"), "fatigue": _l("Fatigue"),
                  "other": _l("Other symptom")}
assert set(METHOD_LABELS) == set(METHODS) and set(OUTCOME_LABELS) == set(OUTCOMES)

FEVER_AT = Decimal("37.3")
LOWEST, HIGHEST = Decimal("35.0"), Decimal("42.0")
MAX_DAYS = 60
LADDER_ROLES = {1: "building_head", 2: "grid_member", 3: "secretary"}


# --- settings -------------------------------------------------------------------------------------

def observation_days() -> int:
    return int(current_app.config.get("OBSERVATION_DAYS", 14))


def check_times() -> list[time]:
    return list(current_app.config.get("OBSERVATION_CHECK_TIMES", (time(8, 0), time(18, 0))))


def ladder_delay(level: int) -> timedelta:
    """How long after its time a check not recorded reaches `level` of the ladder."""
    first = int(current_app.config.get("OBSERVATION_REMIND_MINUTES", 60))
    step = int(current_app.config.get("OBSERVATION_ESCALATE_MINUTES", 60))
    return timedelta(minutes=first + step * (level - 1))


def health_contacts() -> list[User]:
    """The town's health contacts: the accounts OBSERVATION_HEALTH_CONTACTS names, else the town leaders."""
    names = list(current_app.config.get("OBSERVATION_HEALTH_CONTACTS", ()))
    if not names:
        return town_leaders()
    return list(db.session.scalars(select(User).where(User.username.in_(names), User.active.is_(True))
                                   .order_by(User.id)))


def _insert(model):
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model)


def _reason(text) -> str:
    text = (text or "").strip()
    if not text:
        raise RuleError(_("Give a reason."), "reason")
    return text[:1000]


# --- starting, extending, ending ------------------------------------------------------------------

def staff_choices(compound: Compound) -> tuple[list[User], list[User]]:
    """The building heads of the compound and the grid members of its grid, who may answer for it."""
    heads = holders("building_head", [compound.id]).get(compound.id, [])
    members = holders("grid_member", [compound.grid_id]).get(compound.grid_id, [])
    return heads, members


def active_observation(person: Person) -> Observation | None:
    return db.session.scalars(select(Observation).where(Observation.person_id == person.id,
                                                        Observation.status == "active")).first()


def sync_until(household_ids) -> None:
    """households.observation_until, derived: the latest last day of the household's active
    observations, else empty. One statement; every change of an observation's status or last day
    calls it, so the household list's badge and filter read one column."""
    ids = list({i for i in household_ids if i is not None})
    if not ids:
        return
    latest = (select(func.max(Observation.ends_on)).join(Person, Person.id == Observation.person_id)
              .where(Person.household_id == Household.id, Observation.status == "active")
              .correlate(Household).scalar_subquery())
    db.session.execute(update(Household).where(Household.id.in_(ids)).values(observation_until=latest)
                       .execution_options(synchronize_session=False))


def _household_of(obs: Observation) -> int | None:
    return db.session.scalar(select(Person.household_id).where(Person.id == obs.person_id))


def start_observation(person: Person, actor, values: dict, now: datetime | None = None) -> Observation:
    """values: starts_on (default today), days (default OBSERVATION_DAYS), building_head_id and
    grid_member_id (default the compound's and grid's first holders), reason."""
    now = now or utcnow()
    today = town_today(now)
    # Serialise starts for one person: the second of two at once finds the first.
    db.session.execute(select(Person.id).where(Person.id == person.id).with_for_update())
    if active_observation(person) is not None:
        raise Conflict(_("This person is already under home observation."))
    starts_on = values.get("starts_on") or today
    if starts_on > today or starts_on < today - timedelta(days=MAX_DAYS):
        raise RuleError(_("The start cannot be in the future or long past."), "starts_on")
    days = values.get("days") or observation_days()
    if not 1 <= days <= MAX_DAYS:
        raise RuleError(_("Between 1 and %(n)d days.", n=MAX_DAYS), "days")
    compound = person.household.compound
    heads, members = staff_choices(compound)
    head_id = values.get("building_head_id") or (heads[0].id if heads else None)
    member_id = values.get("grid_member_id") or (members[0].id if members else None)
    if head_id is not None and head_id not in {u.id for u in heads}:
        raise RuleError(_("Choose a building head of this compound."), "building_head_id")
    if member_id is not None and member_id not in {u.id for u in members}:
        raise RuleError(_("Choose a grid member of this grid."), "grid_member_id")
    obs = Observation(person_id=person.id, compound_id=compound.id, starts_on=starts_on,
                      ends_on=starts_on + timedelta(days=days - 1), status="active",
                      reason=(values.get("reason") or "").strip()[:1000], building_head_id=head_id,
                      grid_member_id=member_id, started_by_id=actor.id, started_at=now)
    obs.person = person
    db.session.add(obs)
    db.session.flush()
    record("observation_started", obs, summary=f"{obs.starts_on.isoformat()} – {obs.ends_on.isoformat()}",
           actor=actor)
    ensure_checks([today], [obs.id], not_before=now)
    sync_until([person.household_id])
    return obs


def extend_observation(obs: Observation, actor, ends_on: date, reason: str, now: datetime | None = None) -> None:
    reason = _reason(reason)
    if ends_on is None or ends_on <= obs.ends_on or ends_on > obs.starts_on + timedelta(days=MAX_DAYS):
        raise RuleError(_("Choose a later last day, within %(n)d days of the start.", n=MAX_DAYS), "ends_on")
    old = obs.ends_on
    OBSERVATION.apply(obs, "extend", {"ends_on": ends_on}, Observation.ends_on == old)
    # The reason is kept on the observation (purged with it); the audit trail, kept for years, keeps
    # no word about a person's health.
    record("observation_extended", obs, summary=f"{old.isoformat()} → {ends_on.isoformat()}; reason: given",
           actor=actor)
    ensure_checks([town_today(now or utcnow())], [obs.id])
    sync_until([_household_of(obs)])


def close_observation(obs: Observation, actor, action: str, reason: str, now: datetime | None = None) -> None:
    """End early ("end_early") or mark lost to follow-up ("lose"), with a reason (audited)."""
    if action not in ("end_early", "lose"):
        raise ValueError(action)
    reason = _reason(reason)
    now = now or utcnow()
    OBSERVATION.apply(obs, action, {"ended_at": now, "ended_by_id": actor.id, "reason": reason,
                                    "link_hash": None})
    record("observation_ended_early" if action == "end_early" else "observation_lost", obs, summary="reason: given",
           actor=actor)
    sync_until([_household_of(obs)])


# --- the day's checks -----------------------------------------------------------------------------

def check_due_at(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=town_zone()).astimezone(UTC)


def ensure_checks(days, observation_ids=None, not_before: datetime | None = None) -> int:
    """The checks of these town days for the observations under way (all, or these) whose days they
    are: one per check time, idempotent (the unique observation × day × time, ON CONFLICT DO
    NOTHING). On an observation's first day, a time that had passed (by more than the reminder's
    delay) when it was registered is never owed: started at noon, no morning check that day,
    whichever sweep comes. With not_before, times before it are left out as well. One INSERT … SELECT per day and time,
    however many observations are under way. Returns the number of rows added."""
    columns = ["observation_id", "day", "slot", "due_at", "status", "method", "cough", "fever", "fatigue", "other",
               "other_text", "reminder_level"]
    added = 0
    for day in days:
        for at in check_times():
            due = check_due_at(day, at)
            if not_before is not None and due < not_before - ladder_delay(1):
                continue
            rows = select(Observation.id, literal(day, Date), literal(f"{at:%H:%M}", String),
                          literal(due, UTCDateTime), literal("pending", String), literal("", String), false(),
                          false(), false(), false(), literal("", String), literal(0, Integer)).where(
                Observation.status == "active", Observation.starts_on <= day, Observation.ends_on >= day,
                ~and_(Observation.starts_on == day, Observation.started_at > due + ladder_delay(1)))
            if observation_ids is not None:
                rows = rows.where(Observation.id.in_(list(observation_ids)))
            stmt = (_insert(ObservationCheck).from_select(columns, rows)
                    .on_conflict_do_nothing(index_elements=["observation_id", "day", "slot"]))
            added += len(db.session.execute(stmt.returning(ObservationCheck.id)).all())
    return added


def checks_of(obs: Observation) -> list[ObservationCheck]:
    return list(db.session.scalars(select(ObservationCheck).where(ObservationCheck.observation_id == obs.id)
                                   .order_by(ObservationCheck.due_at.desc())))


def current_check(obs: Observation, now: datetime | None = None) -> ObservationCheck | None:
    """The check a recording now goes to: the latest of today whose time has come and that is not
    recorded, else today's next one; None when today's are all recorded (or it is not under way)."""
    now = now or utcnow()
    if obs.status != "active":
        return None
    today = town_today(now)
    ensure_checks([today], [obs.id])
    pending = list(db.session.scalars(select(ObservationCheck).where(
        ObservationCheck.observation_id == obs.id, ObservationCheck.day == today,
        ObservationCheck.status == "pending").order_by(ObservationCheck.due_at)))
    come = [c for c in pending if c.due_at <= now]
    return come[-1] if come else (pending[0] if pending else None)


def _checked_values(values: dict, method: str) -> dict:
    if method not in METHODS:
        raise RuleError(_("Choose how the person was reached."), "method")
    temperature = values.get("temperature")
    if temperature is None:
        raise RuleError(_("Give the temperature."), "temperature")
    temperature = Decimal(str(temperature)).quantize(Decimal("0.1"))
    if not LOWEST <= temperature <= HIGHEST:
        raise RuleError(_("Give a temperature between 35.0 and 42.0 ℃."), "temperature")
    v = {"method": method, "temperature": temperature,
         **{s: bool(values.get(s)) for s in ("cough", "fever", "fatigue", "other")},
         "other_text": (values.get("other_text") or "").strip()[:200]}
    if v["other_text"]:
        v["other"] = True
    return v


def record_check(check: ObservationCheck, actor, values: dict, method: str,
                 now: datetime | None = None) -> ObservationCheck:
    """Record a check once (a conditional UPDATE: a double tap, or the person and the grid member at
    once, records one); actor None is the person through the personal link. A fever (37.3 ℃ or
    more) or any symptom opens a follow-up and alerts the staff at once."""
    now = now or utcnow()
    v = _checked_values(values, method)
    done = db.session.execute(
        update(ObservationCheck).where(ObservationCheck.id == check.id, ObservationCheck.status == "pending")
        .where(ObservationCheck.observation_id.in_(select(Observation.id).where(Observation.status == "active")))
        .values(status="done", done_at=now, done_by_id=actor.id if actor is not None else None, **v)
        .execution_options(synchronize_session=False)).rowcount
    db.session.refresh(check)
    if done != 1:
        raise Conflict(_("This check is already recorded."))
    obs = check.observation
    record("observation_checked", obs, summary=f"{check.day.isoformat()} {check.slot} {method}",
           actor=actor)
    if check.temperature >= FEVER_AT or check.symptomatic:
        _fever_alert(check, now)
    return check


def _fever_alert(check: ObservationCheck, now: datetime) -> FeverFollowUp | None:
    obs = check.observation
    added = db.session.execute(_insert(FeverFollowUp).values(
        observation_id=obs.id, check_id=check.id, opened_at=now, outcome="", note="")
        .on_conflict_do_nothing(index_elements=["check_id"]).returning(FeverFollowUp.id)).scalar()
    if added is None:
        return None
    followup = db.session.get(FeverFollowUp, added)
    compound = obs.compound
    grid = compound.grid
    recipients = [u for u in (obs.grid_member, holder("grid_member", grid.id)) if u is not None]
    recipients += holders("secretary", [grid.community_id]).get(grid.community_id, [])
    recipients += health_contacts()
    symptoms = "、".join(str(SYMPTOM_LABELS[s]) for s in ("cough", "fever", "fatigue", "other") if getattr(check, s))
    body = _("%(where)s, %(who)s: %(t)s ℃ %(symptoms)s (%(day)s %(slot)s). Call them and close the follow-up.",
             where=obs.person.household.label, who=obs.person.name, t=check.temperature,
             symptoms=symptoms, day=check.day.isoformat(), slot=check.slot)
    notify(recipients, "observation_fever", _("Home observation: fever or symptoms"), body,
           dedupe_key=f"observation-fever:{check.id}", link=f"/observation/{obs.id}", urgent=True, now=now,
           places=[grid.community, grid],
           group_text=GroupText(_l("Home observation: %(n)d new report of fever or symptoms in %(place)s."),
                                n=1, place=grid.community))
    return followup


def _note(old: str, new: str) -> str:
    new = (new or "").strip()
    return ("\n".join(n for n in (old, new) if n))[:1000]


def mark_called(followup: FeverFollowUp, actor, note: str = "", now: datetime | None = None) -> None:
    """The step on the way: someone called the person. Once per follow-up (a conditional update);
    the follow-up stays open until it is referred or resolved."""
    now = now or utcnow()
    changed = db.session.execute(
        update(FeverFollowUp).where(FeverFollowUp.id == followup.id, FeverFollowUp.closed_at.is_(None),
                                    FeverFollowUp.called_at.is_(None))
        .values(called_at=now, called_by_id=actor.id, note=_note(followup.note, note))
        .execution_options(synchronize_session=False)).rowcount
    db.session.refresh(followup)
    if changed != 1:
        if followup.closed_at is not None:
            raise Conflict(_("This follow-up is already closed."))
        raise Conflict(_("%(name)s already called at %(time)s.",
                         name=followup.called_by.display_name if followup.called_by else _("Someone"),
                         time=to_local(followup.called_at).strftime("%H:%M")))
    record("observation_followup_called", followup, actor=actor)


def close_followup(followup: FeverFollowUp, actor, outcome: str, note: str = "",
                   now: datetime | None = None) -> None:
    """Referred to the fever clinic, or resolved: the follow-up is closed, once."""
    if outcome not in OUTCOMES:
        raise RuleError(_("Choose what was done."), "outcome")
    now = now or utcnow()
    closed = db.session.execute(
        update(FeverFollowUp).where(FeverFollowUp.id == followup.id, FeverFollowUp.closed_at.is_(None))
        .values(outcome=outcome, note=_note(followup.note, note), closed_at=now, closed_by_id=actor.id)
        .execution_options(synchronize_session=False)).rowcount
    db.session.refresh(followup)
    if closed != 1:
        raise Conflict(_("This follow-up is already closed."))
    record("observation_followup_closed", followup, actor=actor)  # the outcome is a health detail


@dataclass(frozen=True)
class Listed:
    """One observation under way as the list shows it. Read as plain columns: a town's list is
    hundreds of people, and five ORM objects for each (observation, person, household, compound,
    grid) cost more than the rest of the page."""

    id: int
    person_name: str
    compound_id: int
    compound_name: str
    community_id: int
    building: str | None
    unit: str | None
    room: str | None
    starts_on: date
    ends_on: date

    label = property(Household.label.fget)  # the household's "3-2-501", as Household writes it


def under_observation(user_clause) -> list[Listed]:
    """The observations under way of the households the clause admits (policy.household_clause(user)),
    the soonest to end first."""
    return [Listed(*row) for row in db.session.execute(
        select(Observation.id, Person.name, Compound.id, Compound.name, Grid.community_id, Household.building,
               Household.unit, Household.room, Observation.starts_on, Observation.ends_on)
        .join(Person, Person.id == Observation.person_id)
        .join(Household, Household.id == Person.household_id)
        .join(Compound, Compound.id == Household.compound_id).join(Grid, Grid.id == Compound.grid_id)
        .where(Observation.status == "active", user_clause)
        .order_by(Observation.ends_on, Observation.id))]


def person(person_id: int) -> Person | None:
    return db.session.get(Person, person_id)


def open_followups(user_clause) -> list[FeverFollowUp]:
    """The open follow-ups of the households the clause admits (policy.household_clause(user)); their
    check, observation, person, household, compound and grid loaded with them."""
    return list(db.session.scalars(
        select(FeverFollowUp).join(Observation, Observation.id == FeverFollowUp.observation_id)
        .join(Person, Person.id == Observation.person_id).join(Household, Household.id == Person.household_id)
        .join(Compound, Compound.id == Household.compound_id).join(Grid, Grid.id == Compound.grid_id)
        .where(FeverFollowUp.closed_at.is_(None), user_clause)
        .options(contains_eager(FeverFollowUp.observation).contains_eager(Observation.person)
                 .contains_eager(Person.household).contains_eager(Household.compound).contains_eager(Compound.grid),
                 joinedload(FeverFollowUp.check))
        .order_by(FeverFollowUp.opened_at)))


# --- the sweep: the missed-check ladder and the automatic end -------------------------------------

def remind_missed(now: datetime | None = None) -> dict:
    """Each level of the ladder once per check, never lowered: a conditional UPDATE from the level
    below (RETURNING the checks it moved) tells the building head, then the grid member, then the
    secretary. Two sweeps at once: the second moves nothing and tells nobody."""
    now = now or utcnow()
    result = {}
    for level, role in LADDER_ROLES.items():
        moved = db.session.execute(
            update(ObservationCheck)
            .where(ObservationCheck.status == "pending", ObservationCheck.reminder_level == level - 1,
                   ObservationCheck.due_at <= now - ladder_delay(level),
                   ObservationCheck.observation_id.in_(select(Observation.id).where(Observation.status == "active")))
            .values(reminder_level=level).returning(ObservationCheck.id)
            .execution_options(synchronize_session=False)).scalars().all()
        result[f"level{level}"] = len(moved)
        if moved:
            _tell_missed(moved, level, role, now)
    return result


def _tell_missed(check_ids, level: int, role: str, now: datetime) -> None:
    rows = db.session.execute(
        select(ObservationCheck.id, ObservationCheck.day, ObservationCheck.slot, Observation.id,
               Observation.building_head_id, Observation.grid_member_id, Compound.id, Grid.id, Grid.community_id)
        .join(Observation, Observation.id == ObservationCheck.observation_id)
        .join(Compound, Compound.id == Observation.compound_id).join(Grid, Grid.id == Compound.grid_id)
        .where(ObservationCheck.id.in_(check_ids))).all()
    if role == "building_head":
        chosen = {r[4] for r in rows if r[4]}
        by_place = holders(role, {r[6] for r in rows if not r[4]})
    elif role == "grid_member":
        chosen = {r[5] for r in rows if r[5]}
        by_place = holders(role, {r[7] for r in rows if not r[5]})
    else:
        chosen, by_place = set(), holders(role, {r[8] for r in rows})
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(chosen), User.active.is_(True)))}
    for check_id, day, slot, obs_id, head_id, member_id, compound_id, grid_id, community_id in rows:
        if role == "building_head":
            recipients = [users[head_id]] if head_id in users else by_place.get(compound_id, [])
        elif role == "grid_member":
            recipients = [users[member_id]] if member_id in users else by_place.get(grid_id, [])
        else:
            recipients = by_place.get(community_id, [])
        if not recipients:
            continue
        notify(recipients, "observation_missed", _("Home observation check not recorded"),
               _("The %(day)s %(slot)s check of observation #%(id)d is not recorded.", day=day.isoformat(),
                 slot=slot, id=obs_id),
               dedupe_key=f"observation-missed:{check_id}:{level}", link=f"/observation/{obs_id}", now=now)


def end_due(now: datetime | None = None) -> dict:
    """Observations past their last day end, their staff told; one whose last day had no recorded
    check is extended by a day instead (the reason on the record). Conditional updates: two
    sweeps at once end or extend each once."""
    now = now or utcnow()
    today = town_today(now)
    due = db.session.scalars(select(Observation).where(Observation.status == "active",
                                                       Observation.ends_on < today)).all()
    result = {"ended": 0, "extended": 0}
    changed_people = set()
    # Which of them had a check recorded on their last day: one statement for all.
    seen = set(db.session.scalars(
        select(ObservationCheck.observation_id).join(Observation, Observation.id == ObservationCheck.observation_id)
        .where(ObservationCheck.observation_id.in_([o.id for o in due]), ObservationCheck.day == Observation.ends_on,
               ObservationCheck.status == "done"))) if due else set()
    for obs in due:
        old = obs.ends_on
        if obs.id in seen:
            changed = db.session.execute(
                update(Observation).where(Observation.id == obs.id, Observation.status == "active",
                                          Observation.ends_on == old)
                .values(status="ended", ended_at=now, link_hash=None)
                .execution_options(synchronize_session=False)).rowcount
            if changed:
                db.session.refresh(obs)
                record("observation_ended", obs, summary=old.isoformat(), actor=None)
                staff = [u for u in (obs.building_head, obs.grid_member) if u is not None]
                notify(staff, "observation_ended", _("Home observation ended"),
                       _("Observation #%(id)d ended after its last day, %(day)s.", id=obs.id, day=old.isoformat()),
                       dedupe_key=f"observation-ended:{obs.id}", link=f"/observation/{obs.id}", now=now)
                send_to_phone(obs.person.phone, "observation_over", _("Home observation over"),
                              _("Your home observation ended after %(day)s. Thank you for staying home.",
                                day=old.isoformat()),
                              dedupe_key=f"observation-over:{obs.id}", now=now)
                result["ended"] += 1
                changed_people.add(obs.person_id)
        else:
            new = max(old + timedelta(days=1), today)
            changed = db.session.execute(
                update(Observation).where(Observation.id == obs.id, Observation.status == "active",
                                          Observation.ends_on == old)
                .values(ends_on=new).execution_options(synchronize_session=False)).rowcount
            if changed:
                db.session.refresh(obs)
                record("observation_extended", obs, actor=None,
                       summary=f"{old.isoformat()} → {new.isoformat()}: no recorded check on the last day")
                result["extended"] += 1
                changed_people.add(obs.person_id)
    if changed_people:
        sync_until(db.session.scalars(select(Person.household_id).where(Person.id.in_(changed_people))))
    return result


def sweep(now: datetime | None = None) -> dict:
    now = now or utcnow()
    today = town_today(now)
    result = {**end_due(now)}
    result["checks"] = ensure_checks([today])
    result.update(remind_missed(now))
    return result


# --- the personal link ----------------------------------------------------------------------------

def _hash(token: str) -> str | None:
    raw = invitations.normalised(token)
    return hashlib.sha256(raw.encode()).hexdigest() if raw is not None else None


def make_link(obs: Observation, actor, now: datetime | None = None) -> str:
    """A new personal link for the person (any earlier one stops working); its token is returned
    once and kept only as its hash."""
    if obs.status != "active":
        raise Conflict(_("Only an observation under way has a personal link."))
    token = invitations.new_token()
    obs.link_hash = _hash(token)
    obs.link_created_at = now or utcnow()
    db.session.flush()
    record("observation_link_made", obs, actor=actor)
    return token


def send_link(obs: Observation, actor, url_for_token, now: datetime | None = None) -> tuple[str, list[str]]:
    """Make a link and text it to the person's phone (an outbox message of a secret kind): the token
    (to show once) and the channels it went out on (none: SMS off, or no phone on record)."""
    now = now or utcnow()
    token = make_link(obs, actor, now)
    if not obs.person.phone:
        return token, []
    body = _("Please report your temperature twice a day here: %(link)s (until %(day)s)",
             link=url_for_token(token), day=obs.ends_on.isoformat())
    return token, send_to_phone(obs.person.phone, "observation_link", _("Health check link"), body,
                                dedupe_key=f"observation-link:{obs.id}:{obs.link_hash[:16]}", now=now)


def revoke_link(obs: Observation, actor) -> None:
    if obs.link_hash is None:
        raise Conflict(_("There is no personal link to revoke."))
    obs.link_hash = None
    db.session.flush()
    record("observation_link_revoked", obs, actor=actor)


def by_token(token: str, now: datetime | None = None) -> Observation | None:
    """The observation of a personal link that still works (under way, not revoked, not past its last
    day), or None, whatever the reason."""
    digest = _hash(token)
    if digest is None:
        return None
    today = town_today(now or utcnow())
    return db.session.scalars(select(Observation).where(
        Observation.link_hash == digest, Observation.status == "active",
        and_(Observation.starts_on <= today, Observation.ends_on >= today))).first()


# --- the ledger (居家留观人员台账) -------------------------------------------------------------------

LEDGER_DAYS = 60  # observations that ended longer ago than this are off the ledger


def ledger(community_id: int, now: datetime | None = None) -> list:
    """The community's observations under way or ended in the last LEDGER_DAYS days, each with its
    person and household, its staff, its checks recorded and missed, its last temperature and its
    open follow-ups: one statement (correlated counts, the compounds' grids loaded with them), under way
    first, then by last day."""
    now = now or utcnow()
    since = town_today(now) - timedelta(days=LEDGER_DAYS)
    check = ObservationCheck
    mine = check.observation_id == Observation.id
    done = select(func.count(check.id)).where(mine, check.status == "done").scalar_subquery()
    missed = select(func.count(check.id)).where(mine, check.status == "pending",
                                                check.due_at <= now - ladder_delay(1)).scalar_subquery()
    last_t = (select(check.temperature).where(mine, check.status == "done")
              .order_by(check.done_at.desc(), check.id.desc()).limit(1).scalar_subquery())
    open_f = select(func.count(FeverFollowUp.id)).where(FeverFollowUp.observation_id == Observation.id,
                                                        FeverFollowUp.closed_at.is_(None)).scalar_subquery()
    rows = db.session.execute(
        select(Observation, Person, Household, Compound, done, missed, last_t, open_f)
        .join(Person, Person.id == Observation.person_id).join(Household, Household.id == Person.household_id)
        .join(Compound, Compound.id == Household.compound_id).join(Grid, Grid.id == Compound.grid_id)
        .where(Grid.community_id == community_id, Observation.ends_on >= since)
        .options(contains_eager(Compound.grid))  # the grid of each compound, for the record of the look
        .order_by(Observation.status != "active", Observation.ends_on.desc(), Compound.name, Household.building,
                  Household.unit, Household.room, Observation.id)).all()
    return [LedgerRow(o, p, h, k, int(d or 0), int(m or 0), t, int(f or 0)) for o, p, h, k, d, m, t, f in rows]


class LedgerRow:
    __slots__ = ("obs", "person", "household", "compound", "done", "missed", "last_temperature", "open_followups")

    def __init__(self, obs, person, household, compound, done, missed, last_temperature, open_followups):
        self.obs, self.person, self.household, self.compound = obs, person, household, compound
        self.done, self.missed, self.last_temperature, self.open_followups = done, missed, last_temperature, \
            open_followups
