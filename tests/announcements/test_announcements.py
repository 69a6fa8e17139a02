"""Announcements: who may address whom, published now or at a set time exactly once, read receipts
for the author, the inbox and the group robots, the picture only for the audience, and bad input
shown again with nothing lost."""
import re
import threading
from datetime import timedelta
from io import BytesIO

from sqlalchemy import func, select

from gridapp.announcements import services
from gridapp.announcements.models import Announcement, AnnouncementRecipient
from gridapp.extensions import db
from gridapp.notifications.models import GroupWebhook, Notification, OutboxMessage
from jobs.announcements import publish_announcements
from tests.errands.factories import add_volunteers
from tests.supervision.factories import image_bytes


def _as(make_client, username):
    c = make_client()
    c.login(username)
    return c


def _audience(ann_id) -> set[int]:
    return set(db.session.scalars(select(AnnouncementRecipient.user_id)
                                  .where(AnnouncementRecipient.announcement_id == ann_id)))


def test_a_secretary_tells_her_community_and_sees_who_read_it(world, make_client, clock):
    clock.town("2026-11-25 09:00")
    add_volunteers(world)
    db.session.add(GroupWebhook(community_id=world.c1.id, provider="wecom", name="城关群",
                                url="http://127.0.0.1:9/hook", active=True))
    db.session.commit()
    sec1 = _as(make_client, "secretary1")
    form = sec1.get("/announcements/new").get_data(as_text=True)
    assert f'value="community:{world.c1.id}"' in form and f'value="community:{world.c2.id}"' not in form
    assert 'value="town"' not in form
    # Her one community comes ticked; the town-wide roles, which she cannot address, are not offered.
    assert re.search(rf'<input[^>]*checked[^>]*value="community:{world.c1.id}"', form)
    assert 'value="supervisor"' not in form and 'value="town_leader"' not in form
    assert "标题（附链接）会同时由群机器人推送到发布范围内的企业微信群、钉钉群，正文不推送。" in form
    assert 'value="supervisor"' in _as(make_client, "leader").get("/announcements/new").get_data(as_text=True)
    resp = sec1.post("/announcements/new", {"title": "关于暂停集市的通知", "body": "即日起暂停集市。\n请居民配合。",
                                            "roles": ["volunteer", "grid_member"],
                                            "places": [f"community:{world.c1.id}"]})
    assert resp.status_code == 303
    ann = db.session.scalars(select(Announcement)).one()
    assert resp.headers["Location"].endswith(f"/announcements/{ann.id}")
    assert _audience(ann.id) == {world.vol1.id, world.vol2.id, world.vol3.id, world.gm1.id}
    assert ann.audience_size == 4 and ann.published_at is not None
    notices = db.session.scalars(select(Notification).where(Notification.kind == "announcement")).all()
    assert {n.user_id for n in notices} == _audience(ann.id)
    robot = db.session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "webhook")).one()
    # The group chats read its title and link (the form says so), never its text.
    assert (robot.subject, robot.body) == ("通知公告：关于暂停集市的通知", f"/announcements/{ann.id}")
    # The author sees how many have read it; a reader's opening counts, once.
    assert 'data-reads="0"' in sec1.get(f"/announcements/{ann.id}").get_data(as_text=True)
    vol1 = _as(make_client, "vol1")
    listing = vol1.get("/announcements/").get_data(as_text=True)
    assert "关于暂停集市的通知" in listing and 'class="badge warn"' in listing
    page = vol1.get(f"/announcements/{ann.id}").get_data(as_text=True)
    assert "请居民配合。" in page and "data-reads" not in page  # readers do not see the count
    vol1.get(f"/announcements/{ann.id}")
    assert 'data-reads="1"' in sec1.get(f"/announcements/{ann.id}").get_data(as_text=True)
    # Its inbox notice is read with it.
    db.session.expire_all()
    assert db.session.scalars(select(Notification).where(Notification.user_id == world.vol1.id,
                                                         Notification.kind == "announcement")).one().read_at
    # Outside the audience: not found.
    assert _as(make_client, "volc2").get(f"/announcements/{ann.id}").status_code == 404
    assert _as(make_client, "gridder3").get(f"/announcements/{ann.id}").status_code == 404


def test_the_town_leader_tells_the_whole_town(world, make_client):
    leader = _as(make_client, "leader")
    resp = leader.post("/announcements/new", {"title": "全镇防控会议", "body": "今晚八点召开。",
                                              "roles": ["secretary", "supervisor"], "places": ["town"]})
    assert resp.status_code == 303
    ann = db.session.scalars(select(Announcement)).one()
    assert _audience(ann.id) == {world.sec1.id, world.sec2.id, world.sup.id}


def test_bad_input_is_shown_again_with_nothing_lost(world, make_client, clock):
    clock.town("2026-11-25 09:00")
    sec1 = _as(make_client, "secretary1")
    base = {"title": "停水通知", "body": "明天停水。", "roles": ["volunteer"], "places": [f"community:{world.c1.id}"]}
    for change, status in (({"places": [f"community:{world.c2.id}"]}, 422), ({"roles": []}, 422),
                           ({"places": []}, 422), ({"publish_at": "2026-11-24T09:00"}, 422),
                           ({"roles": ["supervisor"]}, 422), ({"title": ""}, 422)):
        resp = sec1.post("/announcements/new", {**base, **change})
        assert resp.status_code == status, change
        html = resp.get_data(as_text=True)
        assert 'role="alert"' in html and "明天停水。" in html
    assert db.session.scalar(select(func.count(Announcement.id))) == 0
    assert _as(make_client, "vol1").get("/announcements/new").status_code == 403
    assert _as(make_client, "gridder1").post("/announcements/new", base).status_code == 403


def test_an_announcement_for_later_is_published_once_at_its_time(world, make_client, clock):
    now = clock.town("2026-11-25 09:00")
    sec1 = _as(make_client, "secretary1")
    sec1.post("/announcements/new", {"title": "明早核酸检测", "body": "七点开始。", "roles": ["volunteer"],
                                     "places": [f"community:{world.c1.id}"], "publish_at": "2026-11-25T11:00"})
    ann = db.session.scalars(select(Announcement)).one()
    assert ann.published_at is None and _audience(ann.id) == set()
    assert _as(make_client, "vol1").get(f"/announcements/{ann.id}").status_code == 404
    assert publish_announcements(at=(now + timedelta(minutes=119)).isoformat()) == 0
    # At 11:00 the sweep and a retry: published once.
    results = []
    results.append(services.publish(ann.id, now + timedelta(hours=2)))
    results.append(services.publish(ann.id, now + timedelta(hours=2)))
    db.session.commit()
    assert results.count(None) == 1 and results.count(1) == 1
    assert publish_announcements(at=(now + timedelta(hours=3)).isoformat()) == 0
    assert db.session.scalar(select(func.count(Notification.id)).where(Notification.kind == "announcement")) == 1
    assert _as(make_client, "vol1").get(f"/announcements/{ann.id}").status_code == 200


def test_concurrent_publishers_publish_once(app, world, clock):
    now = clock.town("2026-11-25 09:00")
    ann = services.create(world.sec1, {"title": "通知", "body": "正文", "roles": ["volunteer"],
                                       "places": [f"community:{world.c1.id}"],
                                       "publish_at": now + timedelta(hours=1)}, now=now)
    db.session.commit()
    ann_id = ann.id
    db.session.close()  # the test's own transaction holds no lock while the threads race
    outcomes, barrier = [], threading.Barrier(6)

    def run():
        with app.app_context():
            barrier.wait()
            try:
                outcomes.append(services.publish(ann_id, now + timedelta(hours=1)))
                db.session.commit()
            except Exception as exc:  # a lost race on SQLite's single writer is a refusal, not a double
                db.session.rollback()
                outcomes.append(type(exc).__name__)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count(1) == 1, outcomes
    assert db.session.scalar(select(func.count(Notification.id)).where(Notification.kind == "announcement")) == 1


def test_its_picture_is_only_for_its_audience(world, make_client):
    sec1 = _as(make_client, "secretary1")
    resp = sec1.post("/announcements/new", {
        "title": "防疫海报", "body": "见图。", "roles": ["volunteer"], "places": [f"community:{world.c1.id}"],
        "image": (BytesIO(image_bytes()), "poster.jpg")}, content_type="multipart/form-data")
    assert resp.status_code == 303
    ann = db.session.scalars(select(Announcement)).one()
    assert ann.image
    assert _as(make_client, "vol1").get(f"/announcements/{ann.id}/image").status_code == 200
    assert _as(make_client, "pm1").get(f"/announcements/{ann.id}/image").status_code == 404
    # Not an image: refused with the message, nothing stored.
    bad = sec1.post("/announcements/new", {
        "title": "坏图", "body": "见图。", "roles": ["volunteer"], "places": [f"community:{world.c1.id}"],
        "image": (BytesIO(b"not an image"), "x.jpg")}, content_type="multipart/form-data")
    assert bad.status_code in (413, 422) and "坏图" in bad.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Announcement.id))) == 1


def test_home_shows_an_announcement_until_it_is_read(world, make_client):
    _as(make_client, "secretary1").post("/announcements/new", {
        "title": "周末消杀安排", "body": "周六上午统一消杀。", "roles": ["volunteer"],
        "places": [f"community:{world.c1.id}"]})
    ann = db.session.scalars(select(Announcement)).one()
    vol1 = _as(make_client, "vol1")
    home = vol1.get("/").get_data(as_text=True)
    assert 'id="next-announcements"' in home and f'href="/announcements/{ann.id}"' in home
    vol1.get(f"/announcements/{ann.id}")
    assert "周末消杀安排" not in vol1.get("/").get_data(as_text=True)
    assert 'id="next-announcements"' not in _as(make_client, "pm1").get("/").get_data(as_text=True)
