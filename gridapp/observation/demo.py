"""Demo home observation for `flask seed-demo` and the launcher: a dozen returnees of 南街社区 under
observation at different days of their 14, their checks recorded (a few missed), one fever with its
follow-up open; kept alive at whatever hour the demo is opened (liven_observation)."""
import random
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select, update

from gridapp.auth.models import User
from gridapp.extensions import db
from gridapp.grid.models import Compound, Grid, Household
from gridapp.observation import services
from gridapp.observation.models import FeverFollowUp, Observation, ObservationCheck
from gridapp.people.models import Person
from gridapp.timeutil import town_today, utcnow

PEOPLE = 12
DEMO_NOTE = "演示：外地返乡人员"
PLACES = ["武汉市", "北京市", "上海市", "广州市", "西安市", "兰州市", "成都市", "深圳市"]
# The observation numbers whose checks are left unrecorded, so the ladder and the board have some.
MISSING_EVERY = 5


def _demo_people() -> list[Person]:
    return list(db.session.scalars(select(Person).where(Person.notes == DEMO_NOTE).order_by(Person.id)))


def seed_observation(now: datetime | None = None) -> dict:
    """Idempotent: the demo's people are made once (in the first community's compounds); then
    liven_observation() puts them under observation."""
    now = now or utcnow()
    if _demo_people():
        return liven_observation(now)
    rng = random.Random(19)
    first_community = db.session.scalar(select(Grid.community_id).order_by(Grid.id).limit(1))
    if first_community is None:
        return {}
    households = db.session.scalars(
        select(Household).join(Compound, Compound.id == Household.compound_id).join(Grid, Grid.id == Compound.grid_id)
        .where(Grid.community_id == first_community).order_by(Household.id)).all()
    today = town_today(now)
    for i, household in enumerate(households[::3][:PEOPLE]):
        arrived = today - timedelta(days=(i * 13) // (PEOPLE - 1))
        db.session.add(Person(household_id=household.id, name=f"{household.head_name[0]}{rng.choice('晓小子')}"
                              f"{rng.choice('明华宇涵婷杰')}", relation="child", sex=rng.choice("mf"),
                              birth_year=rng.randint(1965, 2004), phone=f"139{rng.randint(10000000, 99999999)}",
                              from_outside=True, came_from=rng.choice(PLACES), arrived_on=arrived,
                              travel_mode=rng.choice(["train", "plane", "coach", "car"]), notes=DEMO_NOTE))
    db.session.flush()
    return liven_observation(now)


def _recorder(obs: Observation) -> User | None:
    return obs.building_head or obs.grid_member


def liven_observation(now: datetime | None = None) -> dict:
    """Whatever the hour: every demo person is under observation (a new one started where the last
    ended, on the day they would have been on), today's checks that are due are recorded but for a
    few, and one fever follow-up is open."""
    now = now or utcnow()
    today = town_today(now)
    people = _demo_people()
    if not people:
        return {}
    # A demo opened after a long pause: its observations simply ended (no day without a check to
    # extend for, as the sweep would), and new ones start below, spread over the 14 days again.
    db.session.execute(update(Observation).where(Observation.status == "active", Observation.ends_on < today,
                                                 Observation.person_id.in_([p.id for p in people]))
                       .values(status="ended", ended_at=now, link_hash=None)
                       .execution_options(synchronize_session=False))
    db.session.expire_all()
    started = 0
    for i, person in enumerate(people):
        if services.active_observation(person) is not None:
            continue
        starts_on = today - timedelta(days=(i * 13) // (len(people) - 1))
        heads, members = services.staff_choices(person.household.compound)
        actor = (heads or members or [None])[0] or db.session.scalars(
            select(User).where(User.username == "admin")).first()
        if actor is None:
            continue
        obs = services.start_observation(person, actor, {"starts_on": starts_on, "reason": "外地返乡，居家留观14天"},
                                         now=now)
        _record_past(obs, starts_on, today, now)
        started += 1
    recorded = _record_today(today, now)
    fever = _keep_one_fever(today, now)
    services.sync_until({p.household_id for p in people})
    db.session.flush()
    return {"observations_started": started, "checks_recorded": recorded, "fever": fever}


def _record_past(obs: Observation, starts_on: date, today: date, now: datetime) -> None:
    """The days before today as if they were checked (the demo's history)."""
    days = [starts_on + timedelta(days=d) for d in range((today - starts_on).days)]
    if not days:
        return
    services.ensure_checks(days, [obs.id])
    rng = random.Random(obs.id)
    for check in db.session.scalars(select(ObservationCheck).where(
            ObservationCheck.observation_id == obs.id, ObservationCheck.day < today,
            ObservationCheck.status == "pending")):
        services.record_check(check, _recorder(obs), {"temperature": Decimal("36.0") + Decimal(rng.randint(0, 8)) / 10},
                              rng.choice(["in_person", "phone"]), now=check.due_at + timedelta(minutes=15))


def _record_today(today: date, now: datetime) -> int:
    services.ensure_checks([today])
    rng = random.Random(today.toordinal())
    n = 0
    for check in db.session.scalars(
            select(ObservationCheck).join(Observation, Observation.id == ObservationCheck.observation_id)
            .where(Observation.status == "active", ObservationCheck.day == today, ObservationCheck.status == "pending",
                   ObservationCheck.due_at <= now - timedelta(minutes=30)).order_by(ObservationCheck.id)).all():
        if check.observation_id % MISSING_EVERY == 0:
            continue  # left unrecorded: the board's missed checks, the ladder's reminders
        services.record_check(check, _recorder(check.observation),
                              {"temperature": Decimal("36.2") + Decimal(rng.randint(0, 6)) / 10}, "in_person",
                              now=max(check.due_at, now - timedelta(minutes=20)))
        n += 1
    return n


def _keep_one_fever(today: date, now: datetime) -> bool:
    """One open follow-up, if none is open: a fever recorded on a check due today."""
    if db.session.scalar(select(func.count(FeverFollowUp.id)).where(FeverFollowUp.closed_at.is_(None))):
        return False
    # The first observation with a check still to record today (at night, only those whose checks
    # were left unrecorded have one): the demo keeps its open fever at any hour.
    for obs in db.session.scalars(select(Observation).where(Observation.status == "active")
                                  .order_by(Observation.starts_on, Observation.id)).all():
        check = services.current_check(obs, now)
        if check is not None:
            break
    else:
        return False
    services.record_check(check, _recorder(obs), {"temperature": Decimal("37.8"), "cough": True}, "phone", now=now)
    return True
