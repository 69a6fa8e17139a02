"""The inbox, the unread badge, preferences and the group-robot pages, as users use them."""
import re

from sqlalchemy import select

from gridapp.extensions import db
from gridapp.notifications import services
from gridapp.notifications.models import GroupWebhook, Notification, NotificationPreference, NotificationSetting
from tests.factories import make_user


def _notices(user, n):
    for i in range(n):
        services.notify([user], "system", f"通知 {i}", f"正文 {i}", dedupe_key=f"v:{user.id}:{i}",
                        link=f"/grid/?from={i}")
    db.session.commit()


def test_inbox_newest_first_with_unread_badge(client, world):
    _notices(world.vol1, 3)
    _notices(world.head1, 2)
    client.login("vol1")
    page = client.get("/notifications/")
    body = page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    assert body.index("通知 2") < body.index("通知 1") < body.index("通知 0")
    assert body.count('class="unread"') == 3
    badge = client.htmx_get("/notifications/badge").get_data(as_text=True)
    assert ">3<" in badge and "<html" not in badge
    assert 'hx-get="/notifications/badge"' in client.get("/").get_data(as_text=True)


def test_open_one_marks_it_read_and_follows_its_link(client, world):
    _notices(world.vol1, 2)
    first = db.session.scalars(select(Notification).order_by(Notification.id)).first()
    client.login("vol1")
    resp = client.post(f"/notifications/{first.id}/read")
    assert resp.status_code == 302 and resp.headers["Location"] == "/grid/?from=0"
    db.session.expire_all()
    assert db.session.get(Notification, first.id).read_at is not None
    assert ">1<" in client.get("/notifications/badge").get_data(as_text=True)


def test_cannot_touch_someone_elses_notice(client, world):
    _notices(world.head1, 1)
    theirs = db.session.scalars(select(Notification)).one()
    client.login("vol1")
    assert client.post(f"/notifications/{theirs.id}/read").status_code == 404
    db.session.expire_all()
    assert db.session.get(Notification, theirs.id).read_at is None


def test_mark_all_read(client, world):
    _notices(world.vol1, 4)
    client.login("vol1")
    assert client.post("/notifications/read-all").status_code == 302
    assert services.unread_count(world.vol1) == 0
    assert client.get("/notifications/badge").get_data(as_text=True).strip() == ""


def test_preferences_and_quiet_hours_are_saved(client, world):
    client.login("vol1")
    page = client.get("/notifications/settings").get_data(as_text=True)
    assert 'value="system:email" aria-label' in page and "checked" in page
    resp = client.post("/notifications/settings", {"pref": ["system:sms", "urgent:email", "nope:email"],
                                                    "quiet_start": "21:30", "quiet_end": "06:45"})
    assert resp.status_code == 302
    prefs = {(p.kind, p.channel): p.enabled for p in db.session.scalars(
        select(NotificationPreference).where(NotificationPreference.user_id == world.vol1.id))}
    assert prefs[("system", "email")] is False and prefs[("system", "sms")] is True
    assert prefs[("urgent", "sms")] is False
    assert ("nope", "email") not in prefs
    setting = db.session.get(NotificationSetting, world.vol1.id)
    assert (setting.quiet_start.strftime("%H:%M"), setting.quiet_end.strftime("%H:%M")) == ("21:30", "06:45")


def _kinds_offered(client) -> set[str]:
    page = client.get("/notifications/settings").get_data(as_text=True)
    return set(re.findall(r'name="pref" value="([a-z_]+):email"', page))


# The kinds each demo role is sent (where each is sent: the NOTICE_KINDS comments).
TOWN_OFFICE = {"system", "urgent"}
VOLUNTEER_KINDS = TOWN_OFFICE | {"announcement", "duty_reminder", "duty_removed", "errand_update", "errand_urgent"}
SECRETARY_KINDS = TOWN_OFFICE | {"announcement", "daily_report", "duty_gap", "errand_update", "errand_reminder",
                                 "disinfection_missed",
                                 "disinfection_compound", "disinfection_flag", "supervision_item",
                                 "supervision_reminder", "supervision_escalation", "screening_reminder",
                                 "observation_fever", "observation_missed"}


def test_a_volunteer_is_offered_only_the_kinds_volunteers_are_sent(client, world):
    client.login("vol1")
    page = client.get("/notifications/settings").get_data(as_text=True)
    assert _kinds_offered(client) == VOLUNTEER_KINDS
    # The kinds' labels, in the town's language.
    assert "我的值班提醒" in page and "镇政府消息" in page and "通知公告" in page
    assert "漏做的消毒" not in page and "升级给我的逾期整改" not in page


def test_a_secretary_is_offered_hers(client, world):
    client.login("secretary1")
    assert _kinds_offered(client) == SECRETARY_KINDS


def test_an_administrator_is_offered_what_administrators_are_sent(client, world):
    client.login("admin")
    assert _kinds_offered(client) == TOWN_OFFICE


def test_several_roles_are_offered_the_kinds_of_each(client, world):
    make_user("both", ("volunteer", world.c1), ("property_manager", world.hzo))
    client.login("both")
    assert _kinds_offered(client) == VOLUNTEER_KINDS | {"disinfection_missed", "supervision_item",
                                                       "supervision_reminder"}


def test_someone_without_roles_reads_why_there_is_nothing_to_choose(client, world):
    client.login("nobody")
    page = client.get("/notifications/settings").get_data(as_text=True)
    assert 'id="no-kinds"' in page and "暂无发给您所任角色的消息类型。" in page and 'name="pref"' not in page
    assert 'name="quiet_start"' in page


def test_saving_leaves_the_kinds_not_offered_as_they_were(client, world):
    """A preference of a kind the person is not offered (kept from a role they no longer hold, or
    posted by hand) is neither changed nor added."""
    vol = world.vol1.id
    db.session.add_all([
        NotificationPreference(user_id=vol, kind="disinfection_compound", channel="email", enabled=False),
        NotificationPreference(user_id=vol, kind="supervision_escalation", channel="sms", enabled=True)])
    db.session.commit()
    client.login("vol1")
    resp = client.post("/notifications/settings", {
        "pref": ["disinfection_compound:sms", "duty_gap:email", "duty_reminder:email"],
        "quiet_start": "22:00", "quiet_end": "07:00"})
    assert resp.status_code == 302
    db.session.expire_all()
    prefs = {(p.kind, p.channel): p.enabled for p in db.session.scalars(
        select(NotificationPreference).where(NotificationPreference.user_id == vol))}
    assert prefs[("disinfection_compound", "email")] is False and prefs[("supervision_escalation", "sms")] is True
    assert ("disinfection_compound", "sms") not in prefs and not any(k == "duty_gap" for k, _c in prefs)
    # The kinds offered are saved as ticked: the reminder by e-mail on, by SMS (on by default) off.
    assert prefs[("duty_reminder", "email")] is True and prefs[("duty_reminder", "sms")] is False


def test_bad_quiet_hours_show_the_form_again(client, world):
    client.login("vol1")
    resp = client.post("/notifications/settings", {"quiet_start": "25:99", "quiet_end": "06:45"})
    assert resp.status_code == 200
    assert db.session.get(NotificationSetting, world.vol1.id) is None


def test_secretary_registers_a_robot_for_their_community(client, world):
    client.login("secretary1")
    page = client.get("/notifications/webhooks").get_data(as_text=True)
    assert f'value="community:{world.c1.id}"' in page and f'value="community:{world.c2.id}"' not in page
    resp = client.post("/notifications/webhooks", {
        "place": f"community:{world.c1.id}", "provider": "wecom", "name": "城关社区志愿者群",
        "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc"})
    assert resp.status_code == 302
    wh = db.session.scalars(select(GroupWebhook)).one()
    assert wh.community_id == world.c1.id
    body = client.get("/notifications/webhooks").get_data(as_text=True)
    assert "城关社区志愿者群" in body and "key=abc" not in body  # the address is a secret too


def test_plain_http_robot_refused_with_message_and_input_kept(client, world):
    client.login("secretary1")
    resp = client.post("/notifications/webhooks", {
        "place": f"community:{world.c1.id}", "provider": "wecom", "name": "群",
        "url": "http://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc"})
    assert resp.status_code == 200
    body = resp.get_data(as_text=True)
    assert "https://" in body and 'value="群"' in body
    assert db.session.scalars(select(GroupWebhook)).all() == []


def test_secretary_cannot_register_or_remove_another_communitys_robot(client, world):
    other = GroupWebhook(community_id=world.c2.id, provider="wecom", name="东城群", url="https://a.example/x")
    db.session.add(other)
    db.session.commit()
    client.login("secretary1")
    resp = client.post("/notifications/webhooks", {
        "place": f"community:{world.c2.id}", "provider": "wecom", "name": "群", "url": "https://a.example/y"})
    assert resp.status_code == 200  # not a choice this user has: the form refuses it
    assert client.post(f"/notifications/webhooks/{other.id}/delete").status_code == 403
    assert client.post(f"/notifications/webhooks/{other.id}/test").status_code == 403
    assert len(db.session.scalars(select(GroupWebhook)).all()) == 1


def test_volunteer_has_no_robot_page(client, world):
    client.login("vol1")
    assert client.get("/notifications/webhooks").status_code == 403


def test_test_notice_goes_to_that_robot_only(client, world):
    from gridapp.notifications.models import OutboxMessage

    a = GroupWebhook(community_id=world.c1.id, provider="wecom", name="甲群", url="https://a.example/a")
    b = GroupWebhook(community_id=world.c1.id, provider="wecom", name="乙群", url="https://a.example/b")
    db.session.add_all([a, b])
    db.session.commit()
    client.login("secretary1")
    assert client.post(f"/notifications/webhooks/{a.id}/test").status_code == 302
    rows = db.session.scalars(select(OutboxMessage)).all()
    assert [r.webhook_id for r in rows] == [a.id]
    assert client.post(f"/notifications/webhooks/{a.id}/delete").status_code == 302
    assert [w.name for w in db.session.scalars(select(GroupWebhook))] == ["乙群"]


def test_the_layout_badge_is_counted_with_the_login_session(client, world, count_queries):
    """Every page shows the unread badge: the count comes in the login-session statement, not a
    statement of its own, and is right after notices arrive and after one is read."""
    client.login("vol1")
    _notices(world.vol1, 3)
    with count_queries() as q:
        page = client.get("/notifications/settings").get_data(as_text=True)
    assert re.search(r'id="unread-badge"[^>]*><span class="badge unread" aria-label="[^"]+">3</span>', page)
    counts = [s for s in q["sql"] if "count(notifications.id)" in s.lower()]
    assert len(counts) == 1 and "login_sessions" in counts[0], q["sql"]
    first = db.session.scalars(select(Notification).where(Notification.user_id == world.vol1.id)
                               .order_by(Notification.id)).first()
    client.post(f"/notifications/{first.id}/read")
    assert re.search(r'class="badge unread" aria-label="[^"]+">2<', client.get("/notifications/settings").get_data(
        as_text=True))
    _notices(world.head1, 2)  # someone else's notices are not counted
    client.post("/notifications/read-all")
    assert 'class="badge unread"' not in client.get("/notifications/settings").get_data(as_text=True)
