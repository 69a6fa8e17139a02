"""A point missed three days running becomes a supervision finding and a rectification item for the
place's responsible person: once per run of misses, even with two sweeps at once."""
import threading
from datetime import date, timedelta

from sqlalchemy import func, select

from gridapp.auth.models import User
from gridapp.disinfection import services
from gridapp.disinfection.models import DisinfectionFlag
from gridapp.extensions import db
from gridapp.notifications.models import Notification
from gridapp.supervision.automatic import SYSTEM_USERNAME, raise_system_finding
from gridapp.supervision.models import Finding, Inspection, RectificationItem
from jobs.disinfection import sweep_disinfection
from tests.disinfection.factories import at, make_point

DAY = date(2026, 3, 2)
T0 = at(DAY, "00:00")
DAYS = [DAY + timedelta(days=i) for i in range(8)]


def _count(model):
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def _notices(user, kind):
    db.session.expire_all()
    return db.session.scalars(select(Notification).where(Notification.user_id == user.id,
                                                         Notification.kind == kind)).all()


def _sweep_days(days):
    for d in days:
        sweep_disinfection(at=at(d, "12:00").isoformat())


def _one_window_point(compound=None, **kw):
    p = make_point(compound, windows="06:00-10:00", now=T0, **kw)
    services.ensure_slots(DAYS, [p.id])
    db.session.commit()
    return p


def test_three_days_of_misses_raise_one_finding_and_item_for_the_property_manager(world):
    p = _one_window_point(world.k1, name="电梯 1")
    _sweep_days(DAYS[:2])
    assert _count(Finding) == 0 and _count(RectificationItem) == 0
    sweep_disinfection(at=at(DAYS[2], "12:00").isoformat())
    sweep_disinfection(at=at(DAYS[2], "12:05").isoformat())  # the same sweep again: nothing more
    sweep_disinfection(at=at(DAYS[3], "12:00").isoformat())  # the same run of misses goes on
    assert (_count(Inspection), _count(Finding), _count(RectificationItem)) == (1, 1, 1)
    item = db.session.scalars(select(RectificationItem)).one()
    assert (item.target_type, item.target_id, item.category, item.status) == (
        "compound", world.k1.id, "disinfection_missed", "issued")
    assert item.owner_id == world.pm1.id and item.community_id == world.c1.id
    assert "电梯 1" in item.description
    finding = item.finding
    system = db.session.get(User, finding.recorded_by_id)
    assert system.username == SYSTEM_USERNAME and not system.active
    notices = _notices(world.pm1, "supervision_item")
    assert len(notices) == 1 and notices[0].link == f"/supervision/items/{item.id}"
    # The owner was told; the secretary is not sent the old flag notice as well.
    assert _notices(world.sec1, "disinfection_flag") == []
    assert [(f.point_id, f.last_day) for f in db.session.scalars(select(DisinfectionFlag))] == [(p.id, DAYS[2])]


def test_a_point_done_on_one_of_the_days_raises_nothing(world):
    p = _one_window_point(world.k1)
    services.tick(p, world.pm1, token="t", now=at(DAYS[1], "07:00"))
    db.session.commit()
    _sweep_days(DAYS[:4])
    assert _count(Finding) == 0


def test_a_new_run_of_misses_after_a_good_day_raises_a_new_finding(world):
    p = _one_window_point(world.k1)
    _sweep_days(DAYS[:3])
    assert _count(RectificationItem) == 1
    services.tick(p, world.pm1, token="good", now=at(DAYS[3], "07:00"))  # the run ends
    db.session.commit()
    _sweep_days(DAYS[3:6])
    assert _count(RectificationItem) == 1  # days 5 and 6 missed: only two in a row so far
    flag = db.session.scalars(select(DisinfectionFlag)).one()
    assert flag.resolved_at is not None  # closed by itself when the run ended
    _sweep_days(DAYS[6:7])  # days 5, 6, 7 missed
    assert _count(RectificationItem) == 2
    assert len(_notices(world.pm1, "supervision_item")) == 2


def test_a_public_place_is_a_finding_on_its_community_for_the_secretary(world):
    _one_window_point(community=world.c2, kind="shop", name="收银台", place_name="惠民超市")
    _sweep_days(DAYS[:3])
    item = db.session.scalars(select(RectificationItem)).one()
    assert (item.target_type, item.target_id, item.owner_id) == ("community", world.c2.id, world.sec2.id)
    assert "惠民超市" in item.description
    assert len(_notices(world.sec2, "supervision_item")) == 1


def test_points_of_one_compound_flagged_together_make_one_finding(world):
    a = _one_window_point(world.k1, name="电梯 1")
    b = _one_window_point(world.k1, name="电梯 2")
    _sweep_days(DAYS[:3])
    item = db.session.scalars(select(RectificationItem)).one()
    assert a.name in item.description and b.name in item.description
    assert _count(DisinfectionFlag) == 2


def test_raising_the_same_key_again_returns_the_first_finding(world):
    item, made = raise_system_finding("compound", world.k2.id, "disinfection_missed", "x", "key-1", now=T0)
    again, made_again = raise_system_finding("compound", world.k2.id, "disinfection_missed", "x", "key-1", now=T0)
    db.session.commit()
    assert made and not made_again and again.id == item.id
    assert item.owner_id == world.pm2.id
    assert _count(RectificationItem) == 1


def test_the_system_account_cannot_log_in(make_client, world):
    raise_system_finding("compound", world.k1.id, "disinfection_missed", "x", "key-2", now=T0)
    db.session.commit()
    c = make_client()
    for password in ("", "!", "system"):
        resp = c.post("/login", {"username": SYSTEM_USERNAME, "password": password})
        assert resp.status_code != 302


def _at_once(app, n, work):
    barrier = threading.Barrier(n)
    errors = []

    def run(i):
        with app.app_context():
            try:
                barrier.wait()
                work(i)
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors


def test_two_sweeps_at_once_raise_one_finding(app, world):
    _one_window_point(world.k1)
    _sweep_days(DAYS[:2])
    _at_once(app, 2, lambda i: sweep_disinfection(at=at(DAYS[2], "12:00").isoformat()))
    assert (_count(Finding), _count(RectificationItem), _count(DisinfectionFlag)) == (1, 1, 1)
    assert len(_notices(world.pm1, "supervision_item")) == 1


def test_the_same_key_raised_at_once_makes_one_finding(app, world):
    """Without the flags in front: the lock on the place and the dedupe key alone suffice."""
    compound_id = world.k1.id
    db.session.commit()

    def work(i):
        raise_system_finding("compound", compound_id, "disinfection_missed", f"thread {i}", "same-key", now=T0)
        db.session.commit()

    _at_once(app, 4, work)
    assert (_count(Inspection), _count(Finding), _count(RectificationItem)) == (1, 1, 1)
    assert db.session.scalar(select(func.count()).select_from(User).where(User.username == SYSTEM_USERNAME)) == 1


def test_the_item_and_its_inspection_show_in_supervision(make_client, world):
    _one_window_point(world.k1)
    _sweep_days(DAYS[:3])
    item = db.session.scalars(select(RectificationItem)).one()
    pm1 = make_client()
    pm1.login("pm1")
    assert pm1.get(f"/supervision/items/{item.id}").status_code == 200
    sup = make_client()
    sup.login("sup1")
    assert sup.get(f"/supervision/items/{item.id}").status_code == 200
    assert sup.get("/supervision/inspections").status_code == 200
    assert sup.get(f"/supervision/inspections/{item.finding.inspection_id}").status_code == 200
    other = make_client()
    other.login("pm2")
    assert other.get(f"/supervision/items/{item.id}").status_code in (403, 404)
