"""Kept only as long as needed: how long each kind of personal data stays (the RETENTION_* settings),
and the nightly purge that erases what has outlived it, in bounded batches, recorded in purge_runs.

This module is the one place that knows the retention of every table that holds personal data (the
"kept" column of docs/PRIVACY.md), so it reads those features' tables itself, as the inventory does.

Each category is erased batch by batch: select up to BATCH ids of expired rows in id order (rows
another purge holds are skipped: PostgreSQL's SKIP LOCKED; SQLite runs one writer at a time), then one
conditional UPDATE or DELETE that repeats the expiry test, whose row count is what this run removed;
photo files go with their rows, before the batch commits (a missing file is no error, and a file is
never left behind by a row that is gone). A second run finds nothing; two at once share the work.
"""
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, delete, exists, or_, select, update

from gridapp import uploads
from gridapp.audit.models import AuditEvent
from gridapp.disinfection.models import DisinfectionRound
from gridapp.errands.models import ContactView, Errand, ErrandEvent
from gridapp.extensions import db
from gridapp.grid.models import Household
from gridapp.notifications.models import NoticeMark, Notification, OutboxMessage
from gridapp.observation.models import FeverFollowUp, Observation, ObservationCheck
from gridapp.privacy.models import AccessRecord, PurgeRun
from gridapp.supervision.models import Photo, RectificationItem
from gridapp.timeutil import town_today, utcnow

BATCH = 500  # ids per statement: each batch is one short transaction, whatever has piled up
# An errand not yet closed: its household's phone is still needed (see gridapp/privacy/emergency.py).
UNFINISHED = ("open", "claimed", "purchased", "delivered")
TRIGGER_LABELS = {"nightly": _l("Nightly"), "emergency": _l("Emergency closed")}


@dataclass(frozen=True)
class Category:
    """A kind of personal data and its retention: the key of its count in purge_runs.counts, the
    setting that holds its days (None: erased when the emergency is closed), and for the pages its
    short name, what it is, from when the days count and what the purge does."""

    key: str
    setting: str | None
    name: object
    what: object
    since: object
    done: object


CATEGORIES = [
    Category("errands", "RETENTION_ERRAND_DAYS", _l("Errand details"),
             _l("An errand's household (address and phone), items, notes, delivery note and cancel reason"),
             _l("after the errand was confirmed or cancelled"),
             _l("erased; the errand's compound, category, costs and times stay for the statistics")),
    Category("errand_photos", "RETENTION_ERRAND_DAYS", _l("Errand photos"),
             _l("Receipt and delivery photos of errands"),
             _l("after the errand was confirmed or cancelled"), _l("files deleted")),
    Category("notifications", "RETENTION_NOTIFICATION_DAYS", _l("Inbox notices"), _l("Notices in people's inboxes"),
             _l("after they were written"), _l("deleted")),
    Category("outbox", "RETENTION_NOTIFICATION_DAYS", _l("Sent messages"),
             _l("E-mails, text messages and group-robot messages (address, subject and text)"),
             _l("after they were written; never before they were sent or failed"), _l("deleted")),
    Category("disinfection_photos", "RETENTION_DISINFECTION_PHOTO_DAYS", _l("Disinfection photos"),
             _l("Photos of disinfection rounds"), _l("after the round"), _l("files deleted; the round stays")),
    Category("supervision_photos", "RETENTION_SUPERVISION_PHOTO_DAYS", _l("Supervision photos"),
             _l("Photos of supervision findings and rectification evidence"),
             _l("after the item was verified; never while it is open"), _l("files deleted")),
    Category("observation", "RETENTION_OBSERVATION_DAYS", _l("Home observations"),
             _l("A household's home observation (until a date)"), _l("after the observation ended"), _l("cleared")),
    Category("observation_records", "RETENTION_OBSERVATION_DAYS", _l("Home observation records"),
             _l("Home observations with their daily checks (temperatures, symptoms) and fever follow-ups"),
             _l("after the observation ended; never while a fever follow-up is open"), _l("deleted")),
    Category("contact_views", "RETENTION_RECORD_DAYS", _l("Looks at errand contacts"),
             _l("Records of volunteers shown a household's address and phone"), _l("after the look"),
             _l("deleted")),
    Category("access_records", "RETENTION_RECORD_DAYS", _l("Access records"),
             _l("Records of staff looks at residents' data and exports"), _l("after the look"), _l("deleted")),
    Category("audit_events", "RETENTION_RECORD_DAYS", _l("Audit events"), _l("The audit trail"),
             _l("after the event"), _l("deleted")),
    Category("purge_runs", "RETENTION_RECORD_DAYS", _l("Purge records"), _l("This page's record of purges"),
             _l("after the purge"), _l("deleted")),
    Category("notice_marks", "RETENTION_NOTICE_MARK_DAYS", _l("Digest marks"),
             _l("Marks that a digest already told an item"), _l("after the item was told"), _l("deleted")),
    Category("health_flags", None, _l("Health flags"),
             _l("Households' housebound, living alone and home observation flags"),
             _l("when the emergency is closed"), _l("cleared")),
    Category("phones", None, _l("Phones and notes"), _l("Households' phones and notes"),
             _l("when the emergency is closed; for a household with an errand still open, once its last one "
                "closes"), _l("cleared")),
]
BY_KEY = {c.key: c for c in CATEGORIES}


def days(category: Category) -> int | None:
    return int(current_app.config[category.setting]) if category.setting else None


def _cutoff(now: datetime, setting: str) -> datetime:
    """Rows older than this have outlived the setting's days."""
    return now - timedelta(days=int(current_app.config[setting]))


# --- the batches ----------------------------------------------------------------------------------

def in_batches(query, key, apply: Callable[[list], int], batch: int = BATCH) -> int:
    """Run `apply(rows)` on the rows `query` selects (`key` first), `batch` at a time in `key` order,
    committing after each batch; the sum of what `apply` says it removed."""
    removed, last = 0, None
    while True:
        stmt = query if last is None else query.where(key > last)
        rows = db.session.execute(stmt.order_by(key).limit(batch).with_for_update(skip_locked=True)).all()
        if rows:
            removed += apply(rows)
        db.session.commit()  # also when there was nothing: SQLite's write lock, PostgreSQL's row locks
        if len(rows) < batch:
            return removed
        last = rows[-1][0]


def _deleted(model, key, expired, batch: int) -> int:
    """Delete the rows of `model` that `expired` selects; how many this run deleted."""
    def apply(rows):
        result = db.session.execute(delete(model.__table__).where(key.in_([r[0] for r in rows]), expired))
        return result.rowcount
    return in_batches(select(key).where(expired), key, apply, batch)


def _delete_files(names) -> int:
    """Delete stored photos (a file already gone is no error); how many names were given."""
    names = [n for n in names if n]
    for name in names:
        uploads.delete_image(name)
    return len(names)


def _no_sync(stmt):
    return stmt.execution_options(synchronize_session=False)


# --- each category --------------------------------------------------------------------------------

def erase_errands(now: datetime, batch: int = BATCH) -> tuple[int, int]:
    """Errands confirmed or cancelled before the cutoff lose their household link, items, notes,
    photos and reasons (and their timeline's notes); (errands, photos) erased."""
    cutoff = _cutoff(now, "RETENTION_ERRAND_DAYS")
    expired = and_(Errand.erased_at.is_(None),
                   or_(and_(Errand.status == "confirmed", Errand.confirmed_at < cutoff),
                       and_(Errand.status == "cancelled", Errand.cancelled_at < cutoff)))
    photos = 0

    def apply(rows):
        nonlocal photos
        won = set(db.session.scalars(_no_sync(
            update(Errand).where(Errand.id.in_([r.id for r in rows]), expired)
            .values(household_id=None, items="", notes="", delivery_note="", cancel_reason="",
                    receipt_photo=None, delivery_photo=None, erased_at=now)
            .returning(Errand.id))).all())
        if won:
            db.session.execute(_no_sync(update(ErrandEvent).values(note="")
                                        .where(ErrandEvent.errand_id.in_(won), ErrandEvent.note != "")))
        photos += _delete_files([name for r in rows if r.id in won for name in (r.receipt_photo, r.delivery_photo)])
        return len(won)

    erased = in_batches(select(Errand.id, Errand.receipt_photo, Errand.delivery_photo).where(expired), Errand.id,
                        apply, batch)
    return erased, photos


def erase_disinfection_photos(now: datetime, batch: int = BATCH) -> int:
    cutoff = _cutoff(now, "RETENTION_DISINFECTION_PHOTO_DAYS")
    expired = and_(DisinfectionRound.photo != "", DisinfectionRound.ticked_at < cutoff)

    def apply(rows):
        won = set(db.session.scalars(_no_sync(
            update(DisinfectionRound).where(DisinfectionRound.id.in_([r.id for r in rows]), expired)
            .values(photo="").returning(DisinfectionRound.id))).all())
        return _delete_files([r.photo for r in rows if r.id in won])

    return in_batches(select(DisinfectionRound.id, DisinfectionRound.photo).where(expired), DisinfectionRound.id,
                      apply, batch)


def erase_supervision_photos(now: datetime, batch: int = BATCH) -> int:
    """Photos of items verified before the cutoff; an item still open keeps its photos, however old."""
    cutoff = _cutoff(now, "RETENTION_SUPERVISION_PHOTO_DAYS")
    verified = select(RectificationItem.id).where(RectificationItem.status == "verified",
                                                  RectificationItem.verified_at < cutoff)
    expired = Photo.item_id.in_(verified)

    def apply(rows):
        gone = db.session.execute(delete(Photo.__table__).where(Photo.id.in_([r.id for r in rows]), expired)
                                  .returning(Photo.stored_name)).scalars().all()
        return _delete_files(gone)

    return in_batches(select(Photo.id).where(expired), Photo.id, apply, batch)


def clear_observation(now: datetime, batch: int = BATCH) -> int:
    """Home observations that ended more than RETENTION_OBSERVATION_DAYS (town days) ago."""
    ended_before = town_today(now) - timedelta(days=int(current_app.config["RETENTION_OBSERVATION_DAYS"]))
    expired = Household.observation_until < ended_before

    def apply(rows):
        return db.session.execute(_no_sync(update(Household).where(Household.id.in_([r[0] for r in rows]), expired)
                                           .values(observation_until=None))).rowcount

    return in_batches(select(Household.id).where(expired), Household.id, apply, batch)


def erase_observation_records(now: datetime, batch: int = BATCH) -> int:
    """Home observations (gridapp/observation) that ended more than RETENTION_OBSERVATION_DAYS ago,
    with their daily checks (temperatures, symptoms) and fever follow-ups; never one whose follow-up
    is still open. How many observations went."""
    expired = and_(Observation.status != "active", Observation.ended_at.is_not(None),
                   Observation.ended_at < _cutoff(now, "RETENTION_OBSERVATION_DAYS"),
                   ~exists().where(FeverFollowUp.observation_id == Observation.id, FeverFollowUp.closed_at.is_(None)))

    def apply(rows):
        ids = [r[0] for r in rows]  # locked by in_batches: no follow-up opens on an ended observation
        db.session.execute(delete(FeverFollowUp.__table__).where(FeverFollowUp.observation_id.in_(ids)))
        db.session.execute(delete(ObservationCheck.__table__).where(ObservationCheck.observation_id.in_(ids)))
        return db.session.execute(delete(Observation.__table__).where(Observation.id.in_(ids))).rowcount

    return in_batches(select(Observation.id).where(expired), Observation.id, apply, batch)


def held_back_households(closed_at: datetime):
    """The households the emergency's purge left their phones to (an errand was still open when it
    was closed) whose errands have all closed since: a clause on Household."""
    closed_since = exists().where(Errand.household_id == Household.id, Errand.filed_at < closed_at,
                                  or_(Errand.confirmed_at >= closed_at, Errand.cancelled_at >= closed_at))
    return and_(with_contact(), closed_since, ~open_errand())


def open_errand():
    """A clause on Household: it has an errand not yet closed."""
    return exists().where(Errand.household_id == Household.id, Errand.status.in_(UNFINISHED))


def with_contact():
    """A clause on Household: it has a phone or notes (free text, where health details end up)."""
    return or_(Household.phone != "", Household.notes != "")


def clear_held_back_phones(now: datetime, batch: int = BATCH) -> int:
    """After the emergency was closed, the phones (and notes) it kept for errands then open, once the
    household's last one closed; nothing when it was never closed."""
    closed_at = db.session.scalar(select(PurgeRun.requested_at).where(PurgeRun.trigger == "emergency")
                                  .order_by(PurgeRun.requested_at.desc()).limit(1))
    if closed_at is None:
        return 0
    return clear_phones(held_back_households(closed_at), batch)


def clear_phones(which, batch: int = BATCH) -> int:
    """Clear the phone and notes of the households `which` selects; how many were changed."""
    def apply(rows):
        return db.session.execute(_no_sync(update(Household).where(Household.id.in_([r[0] for r in rows]), which)
                                           .values(phone="", notes=""))).rowcount

    return in_batches(select(Household.id).where(which), Household.id, apply, batch)


def purge_expired(now: datetime | None = None, batch: int = BATCH) -> dict[str, int]:
    """Everything past its retention, category by category; {category key: removed}."""
    now = now or utcnow()
    counts = {}
    counts["errands"], counts["errand_photos"] = erase_errands(now, batch)
    counts["notifications"] = _deleted(Notification, Notification.id,
                                       Notification.created_at < _cutoff(now, "RETENTION_NOTIFICATION_DAYS"), batch)
    counts["outbox"] = _deleted(OutboxMessage, OutboxMessage.id,
                                and_(OutboxMessage.status.in_(("sent", "failed")),
                                     OutboxMessage.created_at < _cutoff(now, "RETENTION_NOTIFICATION_DAYS")), batch)
    counts["disinfection_photos"] = erase_disinfection_photos(now, batch)
    counts["supervision_photos"] = erase_supervision_photos(now, batch)
    counts["observation"] = clear_observation(now, batch)
    counts["observation_records"] = erase_observation_records(now, batch)
    records = _cutoff(now, "RETENTION_RECORD_DAYS")
    counts["contact_views"] = _deleted(ContactView, ContactView.id, ContactView.viewed_at < records, batch)
    counts["access_records"] = _deleted(AccessRecord, AccessRecord.id, AccessRecord.at < records, batch)
    # The audit trail is append-only for the app (gridapp/audit/models.py refuses an ORM delete);
    # its retention is the one deletion, a plain DELETE of the table's oldest rows.
    counts["audit_events"] = _deleted(AuditEvent, AuditEvent.id, AuditEvent.created_at < records, batch)
    counts["purge_runs"] = _deleted(PurgeRun, PurgeRun.id, PurgeRun.requested_at < records, batch)
    counts["notice_marks"] = _deleted(NoticeMark, NoticeMark.key,
                                      NoticeMark.created_at < _cutoff(now, "RETENTION_NOTICE_MARK_DAYS"), batch)
    counts["phones"] = clear_held_back_phones(now, batch)
    return counts


def nightly(now: datetime | None = None, batch: int = BATCH) -> PurgeRun:
    """The nightly purge, recorded: a purge_runs row (started, finished, its counts)."""
    now = now or utcnow()
    began = time.monotonic()
    run = PurgeRun(trigger="nightly", requested_at=now, started_at=now, counts={})
    db.session.add(run)
    db.session.commit()
    run.counts = purge_expired(now, batch)
    # Measured, not read from the clock again: `now` may be a job's --at, and tests pin the clock.
    run.finished_at = now + timedelta(seconds=time.monotonic() - began)
    db.session.commit()
    return run


# --- the retention page ---------------------------------------------------------------------------

def recent_runs(limit: int = 10) -> list[PurgeRun]:
    return list(db.session.scalars(select(PurgeRun).order_by(PurgeRun.id.desc()).limit(limit)))
