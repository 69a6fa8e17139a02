"""Closing the emergency: the town leader or the administrator says the epidemic emergency is over
(after a confirmation and the password typed again); a job then erases every household's health flags
(housebound, living alone, home observation), its people's phones, notes and journeys from outside,
and its phone and notes, except the phone and notes of a
household with an errand still open: the nightly purge clears those once its last open errand closes.
Who closed it and when goes into the audit trail and purge_runs, whose counts are the report.

Nothing reopens. Closing is an erasure, not a mode: the app works as before afterwards, so if the
epidemic comes back, households are flagged and their phones entered again, and the emergency is closed
again when it is over (each closing erases what was gathered since). What was erased does not come back
(only the backups kept under BACKUP_KEEP still hold it, until they are rotated out).
"""
import time
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update

from gridapp.audit.services import record
from gridapp.extensions import db
from gridapp.grid.models import Household
from gridapp.people.models import Person
from gridapp.privacy.models import PurgeRun
from gridapp.privacy.retention import BATCH, clear_phones, in_batches, open_errand, with_contact
from gridapp.timeutil import utcnow

JOB = "jobs.privacy.purge_after_emergency"  # enqueued by name: the domain does not import jobs/
JOB_TIMEOUT = 1800
# A purge started this long ago and still not finished died with its worker: another may take it over.
STALE = timedelta(seconds=JOB_TIMEOUT + 600)


def flagged():
    """A clause on Household: it has a health flag."""
    return or_(Household.housebound.is_(True), Household.living_alone.is_(True),
               Household.observation_until.is_not(None))


def people_held():
    """A clause on Person: a phone, notes, or a journey from outside is held about them."""
    return or_(Person.phone != "", Person.notes != "", Person.from_outside.is_(True), Person.came_from != "",
               Person.arrived_on.is_not(None), Person.travel_mode != "")


def preview() -> dict[str, int]:
    """What closing the emergency now would erase, and what it would keep for open errands."""
    row = db.session.execute(select(
        func.count().filter(flagged()),
        func.count().filter(and_(with_contact(), ~open_errand())),
        func.count().filter(and_(with_contact(), open_errand()))).select_from(Household)).one()
    people = db.session.scalar(select(func.count(Person.id)).where(people_held()))
    return {"health_flags": row[0], "phones": row[1], "phones_kept": row[2], "people": people}


def latest() -> PurgeRun | None:
    """The last closing of the emergency (its purge's report), or None."""
    return db.session.scalar(select(PurgeRun).where(PurgeRun.trigger == "emergency").order_by(PurgeRun.id.desc())
                             .limit(1))


def close(actor, now: datetime | None = None) -> PurgeRun:
    """Record that `actor` closed the emergency (audited); the caller commits, then enqueues JOB
    with the run's id (job_id() keeps it to one job)."""
    now = now or utcnow()
    run = PurgeRun(trigger="emergency", requested_at=now, requested_by_id=actor.id, counts={})
    db.session.add(run)
    db.session.flush()
    ahead = preview()
    record("emergency_closed", run, actor=actor,
           summary=f"health_flags: {ahead['health_flags']}; phones: {ahead['phones']}; "
                   f"phones_kept: {ahead['phones_kept']}; people: {ahead['people']}")
    return run


def job_id(run: PurgeRun) -> str:
    return f"purge-emergency-{run.id}"


def _claim(run_id: int, now: datetime) -> bool:
    """Take the run: one conditional UPDATE, so that of two jobs (or a job and the nightly purge)
    only one erases and counts; a run left unfinished by a dead worker is taken over."""
    taken = db.session.execute(
        update(PurgeRun).where(PurgeRun.id == run_id, PurgeRun.trigger == "emergency", PurgeRun.finished_at.is_(None),
                               or_(PurgeRun.started_at.is_(None), PurgeRun.started_at < now - STALE))
        .values(started_at=now).execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return taken == 1


def clear_health_flags(batch: int = BATCH) -> int:
    def apply(rows):
        return db.session.execute(
            update(Household).where(Household.id.in_([r[0] for r in rows]), flagged())
            .values(housebound=False, living_alone=False, observation_until=None)
            .execution_options(synchronize_session=False)).rowcount

    return in_batches(select(Household.id).where(flagged()), Household.id, apply, batch)


def clear_people(batch: int = BATCH) -> int:
    """The phones, notes and journeys from outside of households' people (their names, relations,
    sexes and years of birth stay, as the households' heads do)."""
    def apply(rows):
        return db.session.execute(
            update(Person).where(Person.id.in_([r[0] for r in rows]), people_held())
            .values(phone="", notes="", from_outside=False, came_from="", arrived_on=None, travel_mode="")
            .execution_options(synchronize_session=False)).rowcount

    return in_batches(select(Person.id).where(people_held()), Person.id, apply, batch)


def run_purge(run_id: int, now: datetime | None = None, batch: int = BATCH) -> dict[str, int] | None:
    """The purge of a closing: health flags, then phones and notes not needed for an open errand;
    its counts, or None when the run is done or another worker is at it."""
    now = now or utcnow()
    if not _claim(run_id, now):
        return None
    began = time.monotonic()
    counts = {"health_flags": clear_health_flags(batch),
              "phones": clear_phones(and_(with_contact(), ~open_errand()), batch),
              "people": clear_people(batch)}
    counts["phones_kept"] = db.session.scalar(select(func.count(Household.id))
                                              .where(with_contact(), open_errand()))
    run = db.session.get(PurgeRun, run_id)
    run.counts = counts
    run.finished_at = now + timedelta(seconds=time.monotonic() - began)  # `now` may be a job's --at
    db.session.commit()
    return counts


def waiting(now: datetime | None = None) -> list[int]:
    """Closings whose purge never ran or died (the job queue was away): the nightly purge runs them."""
    now = now or utcnow()
    return list(db.session.scalars(
        select(PurgeRun.id).where(PurgeRun.trigger == "emergency", PurgeRun.finished_at.is_(None),
                                  or_(PurgeRun.started_at.is_(None), PurgeRun.started_at < now - STALE))
        .order_by(PurgeRun.id)))
