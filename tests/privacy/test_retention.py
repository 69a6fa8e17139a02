"""The nightly purge of personal data past its retention: what goes, what stays just inside the limit,
photo files gone from disk with their rows, nothing the second time, in batches, two purges at once."""
import threading

import pytest
from sqlalchemy import func, select

from gridapp import uploads
from gridapp.audit.models import AuditEvent
from gridapp.config import ConfigError, load_config
from gridapp.disinfection.models import DisinfectionRound
from gridapp.errands.models import ContactView, Errand, ErrandEvent
from gridapp.extensions import db
from gridapp.grid.models import Household
from gridapp.notifications.models import NoticeMark, Notification, OutboxMessage
from gridapp.privacy import retention
from gridapp.privacy.models import AccessRecord, PurgeRun
from gridapp.supervision.models import Photo
from gridapp.timeutil import town_today
from tests.errands.factories import make_errand
from tests.privacy.retention_factories import (
    D,
    T,
    bulk_closed_errands,
    closed_errand,
    item_with_photo,
    notice_mark,
    notifications,
    on_disk,
    outbox,
    records,
    round_with_photo,
)


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def fresh(model, id_):
    db.session.expire_all()
    return db.session.get(model, id_)


def test_what_has_outlived_its_retention_goes_and_what_is_just_inside_stays(app, world, clock):
    old = closed_errand(world, clock, T - 31 * D)
    edge = closed_errand(world, clock, T - 29 * D)
    cancelled = closed_errand(world, clock, T - 35 * D, cancelled=True)
    clock.set(T - 100 * D)
    still_open = make_errand(world, now=T - 100 * D)
    old_photos = [old.receipt_photo, old.delivery_photo]
    edge_photos = [edge.receipt_photo, edge.delivery_photo]
    assert all(on_disk(n) for n in old_photos + edge_photos)

    old_round, new_round = round_with_photo(world, T - 181 * D), round_with_photo(world, T - 179 * D)
    round_photos = [old_round.photo, new_round.photo]
    old_item, new_item = item_with_photo(world, T - 366 * D), item_with_photo(world, T - 364 * D)
    open_item = item_with_photo(world)  # issued long ago, never verified: its photo stays
    item_photos = {i.id: db.session.scalar(select(Photo.stored_name).where(Photo.item_id == i.id))
                   for i in (old_item, new_item, open_item)}

    notifications(world, T - 91 * D, n=3)
    notifications(world, T - 89 * D, n=2, start=10)
    outbox(world, T - 91 * D, "sent", "sent-old")
    outbox(world, T - 91 * D, "pending", "pending-old")  # never sent yet: not the purge's to drop
    outbox(world, T - 89 * D, "sent", "sent-new")

    today = town_today(T)
    world.h2.observation_until = today - 31 * D
    world.h3.observation_until = today - 30 * D
    records(world, old, T - 1096 * D, "old")
    records(world, old, T - 1094 * D, "new")
    notice_mark("mark:old", T - 31 * D)
    notice_mark("mark:new", T - 29 * D)
    db.session.execute(Notification.__table__.update().values(created_at=T - 91 * D)
                       .where(Notification.dedupe_key.not_like("test:%")))  # the errands' own notices
    db.session.commit()
    notices_before = count(Notification)
    clock.set(T)

    run = retention.nightly()

    counts = run.counts
    assert counts["errands"] == 2 and counts["errand_photos"] == 2
    erased = fresh(Errand, old.id)
    assert erased.household_id is None and erased.erased_at == T
    assert (erased.items, erased.notes, erased.delivery_note, erased.receipt_photo, erased.delivery_photo) == (
        "", "", "", None, None)
    # What the statistics need stays.
    assert (erased.compound_id, erased.category, erased.status, erased.actual_cost_cents) == (
        world.k1.id, "medicine", "confirmed", 3000)
    assert erased.confirmed_at == T - 31 * D and erased.filed_at == T - 33 * D
    assert not any(on_disk(n) for n in old_photos)
    assert set(db.session.scalars(select(ErrandEvent.note).where(ErrandEvent.errand_id == old.id))) == {""}
    assert fresh(Errand, cancelled.id).cancel_reason == "" and fresh(Errand, cancelled.id).household_id is None
    kept = fresh(Errand, edge.id)
    assert kept.household_id == world.h1.id and kept.items and kept.erased_at is None
    assert all(on_disk(n) for n in edge_photos)
    assert fresh(Errand, still_open.id).household_id == world.h1.id

    assert counts["disinfection_photos"] == 1
    assert fresh(DisinfectionRound, old_round.id).photo == "" and not on_disk(round_photos[0])
    assert fresh(DisinfectionRound, new_round.id).photo == round_photos[1] and on_disk(round_photos[1])

    assert counts["supervision_photos"] == 1
    assert not on_disk(item_photos[old_item.id]) and count(Photo, Photo.item_id == old_item.id) == 0
    assert on_disk(item_photos[new_item.id]) and on_disk(item_photos[open_item.id])

    assert counts["notifications"] == notices_before - 2 and count(Notification) == 2
    assert counts["outbox"] == 1
    assert sorted(db.session.scalars(select(OutboxMessage.dedupe_key))) == ["pending-old", "sent-new"]

    assert counts["observation"] == 1
    assert fresh(Household, world.h2.id).observation_until is None
    assert fresh(Household, world.h3.id).observation_until == today - 30 * D

    assert counts["contact_views"] == 1 and count(ContactView) == 1
    assert counts["access_records"] == 1 and count(AccessRecord) == 1
    assert counts["audit_events"] == 1 and count(AuditEvent, AuditEvent.summary == "old") == 0
    assert count(AuditEvent, AuditEvent.summary == "new") == 1
    assert counts["notice_marks"] == 1 and db.session.scalars(select(NoticeMark.key)).all() == ["mark:new"]
    assert counts["phones"] == 0  # the emergency was never closed

    recorded = db.session.scalars(select(PurgeRun)).one()
    assert (recorded.trigger, recorded.started_at, recorded.requested_by_id) == ("nightly", T, None)
    assert recorded.finished_at >= T and recorded.counts == counts


def test_a_second_purge_removes_nothing(app, world, clock):
    closed_errand(world, clock, T - 40 * D)
    notifications(world, T - 100 * D, n=4)
    clock.set(T)
    first = retention.nightly().counts
    assert first["errands"] == 1 and first["notifications"] >= 4
    second = retention.nightly().counts
    assert set(second.values()) == {0}
    assert count(PurgeRun) == 2


def test_a_missing_photo_file_is_no_error(app, world, clock):
    errand = closed_errand(world, clock, T - 40 * D)
    receipt, delivery = errand.receipt_photo, errand.delivery_photo
    (uploads.upload_dir() / receipt).unlink()
    clock.set(T)
    counts = retention.nightly().counts
    assert counts["errands"] == 1 and counts["errand_photos"] == 2
    assert not on_disk(delivery) and fresh(Errand, errand.id).receipt_photo is None


def test_more_rows_than_a_batch_in_a_bounded_number_of_statements(app, world, clock, count_queries):
    bulk_closed_errands(world, 23, T - 40 * D)
    notifications(world, T - 100 * D, n=23)
    clock.set(T)
    with count_queries() as q:
        counts = retention.purge_expired(T, batch=5)
    assert counts["errands"] == 23 and counts["notifications"] == 23
    assert count(Errand, Errand.erased_at.is_(None)) == 0 and count(Notification) == 0
    # 5 batches of each (5 + 5 + 5 + 5 + 3): an errands batch is a select, an update and the timeline's
    # update; a notices batch a select and a delete; each with its BEGIN (SQLite) — plus one select
    # for each of the other categories and the emergency's last closing.
    errands = [s for s in q["sql"] if "errand" in s.split("WHERE")[0].lower() and "erased_at" in s]
    assert len(errands) == 10
    assert q["n"] <= 5 * 4 + 5 * 3 + 2 * len(retention.CATEGORIES), q["sql"]


def test_two_purges_at_once_share_the_work_without_counting_twice(app, world, clock):
    bulk_closed_errands(world, 40, T - 40 * D)
    notifications(world, T - 100 * D, n=60)
    clock.set(T)
    db.session.commit()
    results, errors = [], []

    def purge():
        try:
            with app.app_context():
                results.append(retention.purge_expired(T, batch=7))
                db.session.remove()
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=purge) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == [] and len(results) == 2
    assert sum(r["errands"] for r in results) == 40
    assert sum(r["notifications"] for r in results) == 60
    assert count(Errand, Errand.erased_at.is_(None)) == 0 and count(Notification) == 0


def test_the_settings_move_the_limits(app, world, clock):
    app.config["RETENTION_NOTIFICATION_DAYS"] = 7
    notifications(world, T - 8 * D, n=1)
    notifications(world, T - 6 * D, n=1, start=5)
    clock.set(T)
    assert retention.purge_expired(T)["notifications"] == 1


def test_the_settings_come_from_the_environment_and_refuse_less_than_a_day(monkeypatch, tmp_path):
    monkeypatch.setenv("RETENTION_ERRAND_DAYS", "45")
    monkeypatch.setenv("RETENTION_RECORD_DAYS", "730")
    cfg = load_config(tmp_path)
    assert (cfg["RETENTION_ERRAND_DAYS"], cfg["RETENTION_RECORD_DAYS"], cfg["RETENTION_NOTIFICATION_DAYS"]) == (
        45, 730, 90)
    monkeypatch.setenv("RETENTION_NOTIFICATION_DAYS", "0")
    with pytest.raises(ConfigError, match="RETENTION_NOTIFICATION_DAYS"):
        load_config(tmp_path)
