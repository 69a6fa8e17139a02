"""Factories for the retention and emergency tests: rows of a given age, photos really on disk."""
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, update

from gridapp import uploads
from gridapp.audit.models import AuditEvent
from gridapp.disinfection.models import DisinfectionRound
from gridapp.errands import services as errands
from gridapp.errands.models import ContactView, Errand
from gridapp.extensions import db
from gridapp.notifications.models import NoticeMark, Notification, OutboxMessage
from gridapp.privacy.models import AccessRecord
from gridapp.supervision.models import RectificationItem
from tests.disinfection.factories import make_point
from tests.errands.factories import make_errand
from tests.supervision.factories import make_item, stored_photo

T = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)  # 10:00 in the town: "now" when the purge runs
D = timedelta(days=1)


def on_disk(name: str) -> bool:
    return (uploads.upload_dir() / name).is_file()


def closed_errand(world, clock, closed_at, *, cancelled=False):
    """An errand filed two days before `closed_at` and closed then: cancelled with a reason, or bought
    (receipt photo), delivered (photo, note) and confirmed. The clock is left at `closed_at`."""
    clock.set(closed_at - 2 * D)
    errand = make_errand(world, now=closed_at - 2 * D)
    if cancelled:
        clock.set(closed_at)
        errands.cancel(errand, world.head1, "住户已住院", now=closed_at)
    else:
        errands.claim(errand, world.vol1, now=closed_at - 2 * D)
        errands.purchase(errand, world.vol1, "30", stored_photo(), now=closed_at - D)
        errands.deliver(errand, world.vol1, "交给张三本人", stored_photo(), now=closed_at - D)
        clock.set(closed_at)
        errands.confirm(errand, world.head1, True, "钱已结清", now=closed_at)
    db.session.commit()
    return errand


def round_with_photo(world, ticked_at) -> DisinfectionRound:
    point = make_point(world.k1)
    r = DisinfectionRound(point_id=point.id, kind="extra", ticked_at=ticked_at, ticked_by_id=world.pm1.id,
                          photo=stored_photo())
    db.session.add(r)
    db.session.commit()
    return r


def item_with_photo(world, verified_at=None) -> RectificationItem:
    """A rectification item with one photo on disk; verified at `verified_at` (None: still open)."""
    item = make_item(world, photos=1)
    if verified_at is not None:
        db.session.execute(update(RectificationItem).where(RectificationItem.id == item.id)
                           .values(status="verified", verified_at=verified_at))
        db.session.commit()
    return item


def notifications(world, created_at, n=1, start=0):
    db.session.execute(insert(Notification), [
        {"user_id": world.vol1.id, "kind": "errand_update", "title": f"张三 {i}", "body": "建设路1号 1-1-101",
         "link": "", "urgent": False, "dedupe_key": f"test:{start + i}", "created_at": created_at}
        for i in range(start, start + n)])
    db.session.commit()


def outbox(world, created_at, status="sent", key="o"):
    db.session.add(OutboxMessage(dedupe_key=key, kind="errand_update", channel="sms", user_id=world.vol1.id,
                                 address="13900000001", subject="张三", body="建设路1号", status=status,
                                 not_before=created_at, created_at=created_at))
    db.session.commit()


def records(world, errand, at, tag):
    """A contact view, an access record and an audit event, all made at `at`."""
    db.session.add_all([
        ContactView(errand_id=errand.id, household_id=world.h1.id, user_id=world.vol1.id, viewed_at=at),
        AccessRecord(at=at, user_id=world.sec1.id, kind="household", what="household", household_id=world.h1.id,
                     scope="阳光小区"),
        AuditEvent(created_at=at, actor_id=world.admin.id, actor_name="admin", action="household_updated",
                   summary=tag),
    ])
    db.session.commit()


def notice_mark(key, at):
    db.session.add(NoticeMark(key=key, created_at=at))
    db.session.commit()


def bulk_closed_errands(world, n, confirmed_at):
    """n errands confirmed at `confirmed_at`, in a few statements (each with a note, no photo)."""
    rows = [{"household_id": world.h1.id, "compound_id": world.k1.id, "grid_id": world.g1.id,
             "community_id": world.c1.id, "category": "medicine", "items": f"布洛芬 {i}盒",
             "estimated_cost_cents": 100, "needed_by_at": confirmed_at, "urgent": False, "notes": "放门口",
             "pay_on_delivery": True, "status": "confirmed", "filed_by_id": world.head1.id,
             "filed_at": confirmed_at - D, "opened_at": confirmed_at - D, "delivery_note": "交给本人",
             "delivered_at": confirmed_at, "confirmed_at": confirmed_at, "confirmed_by_id": world.head1.id,
             "money_settled": True, "cancel_reason": ""} for i in range(n)]
    for i in range(0, n, 2000):
        db.session.execute(insert(Errand), rows[i:i + 2000])
    db.session.commit()
