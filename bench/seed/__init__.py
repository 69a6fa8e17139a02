"""Benchmark datasets: `flask seed-bench tiny|town|county` (bench/cli.py) grows the demo town of
gridapp.demo to a town (or ten towns' worth, a county) with 30 days of history of every kind.

The demo town (gridapp.demo.seed) comes first, with its accounts; everything else is written
with bulk inserts (COPY on PostgreSQL), with ids allocated here so that children can point at
their parents without a round trip (bench/seed/core.py). The history follows the rules of the
feature services, one phase per feature (bench/seed/grid.py, accounts.py, duty.py, disinfection.py,
errands.py, supervision.py, screening.py, observation.py): a shift's `filled` is its active sign-ups,
one slot per point × window × day, errands and items carry the times and sweep markers their
transitions and the jobs would have set, observations their checks as the sweep made them, and the
notifications carry the services' dedupe keys, so the jobs pick up where the history ends.
"""
from dataclasses import dataclass
from datetime import timedelta
from time import perf_counter

from sqlalchemy import func, select, text

from bench.seed.accounts import AccountsPhase
from bench.seed.disinfection import DisinfectionPhase
from bench.seed.duty import DutyPhase
from bench.seed.errands import ErrandsPhase
from bench.seed.grid import GridPhase
from bench.seed.observation import ObservationPhase
from bench.seed.screening import ScreeningPhase
from bench.seed.supervision import SupervisionPhase
from gridapp.auth.models import RoleAssignment, User
from gridapp.demo import DEMO_PASSWORD, seed
from gridapp.duty.models import Checkpoint, Shift
from gridapp.errands.models import ACTIVE_CLAIM_STATES, Errand
from gridapp.extensions import db
from gridapp.grid.models import Community
from gridapp.timeutil import utcnow

HISTORY_DAYS = 30


@dataclass(frozen=True)
class Level:
    name: str
    communities: int
    households: int  # per community
    points: int  # disinfection points per community, public places included
    public_places: int  # per community
    volunteers: int  # per community
    errands_per_day: int  # per community
    inspections_per_day: float  # per community
    history_days: int = HISTORY_DAYS
    waiting: int = 0  # extra open errands per community, filed in the last hours (for the claim storm)


LEVELS = {
    "tiny": Level("tiny", 4, 100, 10, 1, 30, 2, 0.2, history_days=7, waiting=25),
    "town": Level("town", 4, 5000, 500, 12, 125, 100, 1.5),
    "county": Level("county", 40, 5000, 500, 12, 125, 100, 1.5),
}


class DatasetError(RuntimeError):
    pass


class DatasetBuilder(GridPhase, AccountsPhase, DutyPhase, DisinfectionPhase, ErrandsPhase, SupervisionPhase,
                     ScreeningPhase, ObservationPhase):
    def run(self) -> dict:
        """The phases in order, each on what the ones before it built."""
        timings = {}
        for name, phase in (("places", self.places), ("accounts", self.accounts), ("duty", self.duty),
                            ("disinfection", self.disinfection), ("errands", self.errands),
                            ("supervision", self.supervision), ("screening", self.screening),
                            ("observation", self.observation)):
            t = perf_counter()
            phase()
            self.flush()
            timings[name] = round(perf_counter() - t, 2)
            self.progress(f"{name}: {timings[name]} s")
        self.fix_sequences()
        return timings


def seed_dataset(level: str, progress=print) -> dict:
    """Build the `level` dataset ("tiny", "town" or "county") in the current database, or find it
    there already. Returns the counts per table, the timings, and what the benchmark needs: the
    personas' usernames, 20 open errands and 10 open shifts of vol1's community for the claim and
    sign-up storms, and the other volunteers (all with the demo password)."""
    spec = LEVELS.get(level)
    if spec is None:
        raise DatasetError(f"unknown level {level!r}; choose one of {', '.join(LEVELS)}")

    started = perf_counter()
    timings = {}
    # The demo town has vol1 … vol30; the first volunteer beyond them means a dataset is there.
    if db.session.scalar(select(func.count(User.id)).where(User.username == "vol31")):
        _check_existing(spec)
        progress(f"A {spec.name} dataset is already in this database: nothing added.")
        out = summary(spec, existing=True)
        out["timings"] = {"total": round(perf_counter() - started, 2)}
        return out

    t = perf_counter()
    seed(scale=1)
    db.session.commit()
    timings["demo_town"] = round(perf_counter() - t, 2)
    progress(f"demo town ready ({timings['demo_town']} s)")
    builder = DatasetBuilder(spec, utcnow(), progress)
    timings.update(builder.run())
    t = perf_counter()
    db.session.commit()
    timings["commit"] = round(perf_counter() - t, 2)
    t = perf_counter()
    _analyze()
    timings["analyze"] = round(perf_counter() - t, 2)
    timings["total"] = round(perf_counter() - started, 2)
    out = summary(spec, existing=False)
    out["timings"] = timings
    out["password"] = DEMO_PASSWORD
    return out


def _check_existing(spec: Level) -> None:
    communities = db.session.scalar(select(func.count(Community.id)))
    volunteers = db.session.scalar(select(func.count(RoleAssignment.id)).where(RoleAssignment.role == "volunteer"))
    if communities != spec.communities or volunteers != spec.communities * spec.volunteers:
        raise DatasetError(f"this database already holds another dataset ({communities} communities, {volunteers} "
                           f"volunteers), not the {spec.name} one; build the {spec.name} dataset in an empty "
                           f"database")


def _analyze() -> None:
    """Fresh planner statistics after millions of rows (the pages' plans depend on them)."""
    db.session.execute(text("ANALYZE"))
    db.session.commit()


def summary(spec: Level, existing: bool) -> dict:
    """What the benchmark needs, read from the database (so it works for an existing dataset)."""
    now = utcnow()
    counts = {t.name: db.session.scalar(select(func.count()).select_from(t)) for t in db.metadata.sorted_tables}
    vol1 = db.session.scalars(select(User).where(User.username == "vol1")).one()
    community_id = db.session.scalar(select(RoleAssignment.scope_id).where(
        RoleAssignment.user_id == vol1.id, RoleAssignment.role == "volunteer").order_by(RoleAssignment.id).limit(1))
    errand_ids = list(db.session.scalars(
        select(Errand.id).where(Errand.community_id == community_id, Errand.status == "open",
                                Errand.needed_by_at > now).order_by(Errand.id).limit(20)))
    shifts = db.session.execute(
        select(Shift.id, Shift.capacity, Shift.filled, Shift.starts_at)
        .join(Checkpoint, Checkpoint.id == Shift.checkpoint_id)
        .where(Checkpoint.community_id == community_id, Checkpoint.active.is_(True), Shift.status == "open",
               Shift.starts_at > now + timedelta(hours=24), Shift.filled < Shift.capacity)
        .order_by(Shift.filled, Shift.starts_at.desc(), Shift.id).limit(10)).all()
    volunteers = list(db.session.scalars(
        select(User.username).join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(RoleAssignment.role == "volunteer", User.id != vol1.id).order_by(User.id)))
    holding = select(Errand.claimant_id).where(Errand.status.in_(ACTIVE_CLAIM_STATES), Errand.claimant_id.isnot(None))
    storm_volunteers = list(db.session.scalars(
        select(User.username).join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(RoleAssignment.role == "volunteer", RoleAssignment.scope_id == community_id, User.id != vol1.id,
               User.active.is_(True), User.id.not_in(holding)).order_by(User.id)))
    return {
        "level": spec.name,
        "existing": existing,
        "password": DEMO_PASSWORD,
        "personas": {"volunteer": "vol1", "property_manager": "pm1", "secretary": "secretary1",
                     "supervisor": "sup1", "grid_member": "gridder1", "town_leader": "leader"},
        "vol1_community_id": community_id,
        "claim_storm_errand_ids": errand_ids,
        "signup_storm_shifts": [{"id": s.id, "capacity": s.capacity, "filled": s.filled,
                                 "starts_at": s.starts_at.isoformat()} for s in shifts],
        "volunteers": volunteers,
        # Volunteers of vol1's community holding no errand: each may claim up to the claim limit.
        "storm_volunteers": storm_volunteers,
        "counts": counts,
    }
