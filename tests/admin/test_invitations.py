"""Staff and invitations: who may invite whom (admins anyone; a secretary the accounts of their own
community), the invitations page, re-sending and revoking, the printable sheet of a community, and
the link going out by e-mail and SMS through the outbox."""
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from gridapp.auth import invitations
from gridapp.auth.models import Invitation
from gridapp.extensions import db
from gridapp.notifications.models import Notification, OutboxMessage
from gridapp.timeutil import utcnow
from tests.admin.helpers import events, fresh_user, logged_in
from tests.factories import make_invitation, make_invitee, make_user
from tests.notifications.servers import HTTPPeer, SMTPServer
from tests.workers import run_burst_worker

LINK = re.compile(r'id="invitation-link-text" type="text" readonly value="http://localhost(/invite/[^"]+)"')
PASSWORD = "maple-river-91"


@pytest.fixture
def people(world):
    """Accounts without a password, in and around 城关社区 (c1, secretary1's) and 东城社区 (c2)."""
    return {
        "vol": make_invitee("newvol", ("volunteer", world.c1), display_name="新志愿者", email="newvol@example.org"),
        "gridder": make_invitee("newgridder", ("grid_member", world.g2), display_name="新网格员"),
        "head": make_invitee("newhead", ("building_head", world.k1), display_name="新楼院长"),
        "other": make_invitee("othervol", ("volunteer", world.c2), display_name="东城志愿者"),
        "both": make_invitee("bothvol", ("volunteer", world.c1), ("volunteer", world.c2), display_name="两边的人"),
        "pm": make_invitee("newpm", ("property_manager", world.hzo), display_name="新物业"),
        "bare": make_invitee("bare", display_name="无角色"),
        "off": make_invitee("offvol", ("volunteer", world.c1), display_name="停用的人", active=False),
    }


def _invitations_of(user) -> list[Invitation]:
    db.session.expire_all()
    return db.session.scalars(select(Invitation).where(Invitation.user_id == user.id).order_by(Invitation.id)).all()


def _send(client, user):
    return client.post(f"/admin/users/{user.id}/invitation", {})


# --- who may -------------------------------------------------------------------------------------------

def test_an_admin_invites_any_account_without_a_password(make_client, world, people):
    admin = logged_in(make_client, "admin")
    for key in ("vol", "other", "pm", "bare"):
        resp = _send(admin, people[key])
        assert resp.status_code == 302 and resp.headers["Location"] == f"/admin/users/{people[key].id}", key
        assert [i.state(utcnow()) for i in _invitations_of(people[key])] == ["pending"], key
    # Not an account that has a password, nor a disabled one: said plainly, nothing made.
    for user, message in ((world.vol1, "has a password already: reset it instead"),
                          (people["off"], "The account is disabled")):
        resp = _send(admin, user)
        assert resp.status_code == 302 and message in admin.get(resp.headers["Location"]).get_data(as_text=True)
        assert _invitations_of(user) == []


def test_a_secretary_invites_the_accounts_of_their_own_community_only(make_client, world, people):
    sec1 = logged_in(make_client, "secretary1")
    for key in ("vol", "gridder", "head"):  # volunteer of c1, grid member of a c1 grid, building head of a c1 compound
        resp = _send(sec1, people[key])
        assert resp.status_code == 302 and resp.headers["Location"] == "/admin/invitations", key
        assert len(_invitations_of(people[key])) == 1, key
    # Another community's account, one with a role elsewhere too, a property company's, one without roles.
    for key in ("other", "both", "pm", "bare"):
        assert _send(sec1, people[key]).status_code == 403, key
        assert _invitations_of(people[key]) == [], key
    denied = events("denied")
    assert [(e.actor_name, e.summary, e.object_id) for e in denied] == [
        ("secretary1", "invite", people[k].id) for k in ("other", "both", "pm", "bare")]
    # The other community's secretary may not invite c1's volunteer, nor revoke its invitation.
    sec2 = logged_in(make_client, "secretary2")
    assert _send(sec2, people["vol"]).status_code == 403
    invitation = _invitations_of(people["vol"])[0]
    assert sec2.post(f"/admin/invitations/{invitation.id}/revoke", {}).status_code == 403
    assert _send(sec2, people["other"]).status_code == 302
    assert _invitations_of(people["vol"])[0].state(utcnow()) == "pending"


def test_others_may_not_invite_at_all(make_client, world, people):
    invitation, _token = make_invitation(people["vol"])
    for username in ("vol1", "leader", "gridder1", "pm1"):
        c = logged_in(make_client, username)
        assert _send(c, people["vol"]).status_code == 403, username
        assert c.post(f"/admin/invitations/{invitation.id}/revoke", {}).status_code == 403, username
        for url in ("/admin/invitations", f"/admin/invitations/sheet?community={world.c1.id}"):
            assert c.get(url).status_code == 403, (username, url)
        assert 'href="/admin/invitations"' not in c.get("/").get_data(as_text=True)
    assert len(_invitations_of(people["vol"])) == 1 and invitation.revoked_at is None
    assert {e.summary for e in events("denied")} == {"invite_users"}


def test_a_secretary_confirms_the_password_before_inviting(make_client, world, people):
    sec1 = logged_in(make_client, "secretary1", confirmed=False)
    resp = sec1.post(f"/admin/users/{people['vol'].id}/invitation", {},
                     headers={"Referer": "http://localhost/admin/invitations"})
    assert resp.status_code == 303 and resp.headers["Location"].startswith("/reauth?next=/admin/invitations")
    assert _invitations_of(people["vol"]) == []


# --- the invitations page ------------------------------------------------------------------------------

def test_the_secretary_sends_a_link_from_the_list_and_sees_it_once(make_client, world, people):
    sec1 = logged_in(make_client, "secretary1")
    page = sec1.get("/admin/invitations")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert 'href="/admin/invitations"' in html  # in the navigation
    listed = set(re.findall(r'id="account-(\d+)"', html))
    # c1's accounts without a password, active; not c2's, nor those with a password, nor the disabled.
    assert listed == {str(people[k].id) for k in ("vol", "gridder", "head")}
    assert "Accounts of 城关社区 without a password: 3." in html and "Not invited yet" in html
    assert sec1.get(f"/admin/invitations?community={world.c2.id}").status_code == 403
    assert sec1.get("/admin/invitations?community=99999").status_code == 404
    assert sec1.get("/admin/invitations?community=abc").status_code == 404

    sent = sec1.post(f"/admin/users/{people['vol'].id}/invitation", {"next": "/admin/invitations?page=1"})
    assert sent.status_code == 302 and sent.headers["Location"] == "/admin/invitations?page=1"
    shown = sec1.get(sent.headers["Location"]).get_data(as_text=True)
    path = LINK.search(shown).group(1)
    assert "New invitation link for 新志愿者 — shown only this once" in shown and "<svg" in shown
    vol_row = shown.split(f'id="account-{people["vol"].id}"')[1].split("</li>")[0]
    assert "Pending until" in vol_row and "Revoke" in vol_row
    assert path not in sec1.get("/admin/invitations").get_data(as_text=True)
    assert make_client().get(path).status_code == 200

    invitation = _invitations_of(people["vol"])[0]
    revoked = sec1.post(f"/admin/invitations/{invitation.id}/revoke", {"next": "/admin/invitations"})
    assert revoked.status_code == 302
    after = sec1.get("/admin/invitations").get_data(as_text=True)
    assert "The invitation of 新志愿者 is revoked" in after and "Revoked on" in after
    assert make_client().get(path).status_code == 404
    again = sec1.post(f"/admin/invitations/{invitation.id}/revoke", {})
    assert "This invitation was already revoked." in sec1.get(again.headers["Location"]).get_data(as_text=True)


def test_an_admin_sees_every_community_and_the_accounts_page_shows_the_state(make_client, world, people, clock):
    clock.town("2026-03-02 10:00")
    admin = logged_in(make_client, "admin")
    html = admin.get(f"/admin/invitations?community={world.c2.id}").get_data(as_text=True)
    assert set(re.findall(r'id="account-(\d+)"', html)) == {str(people["other"].id), str(people["both"].id)}
    assert "城关社区" in html and "东城社区" in html  # the community choice

    user_page = f"/admin/users/{people['pm'].id}"
    assert "No invitation sent yet." in admin.get(user_page).get_data(as_text=True)
    first = admin.post(f"/admin/users/{people['pm'].id}/invitation", {})
    first_path = LINK.search(admin.get(first.headers["Location"]).get_data(as_text=True)).group(1)
    page = admin.get(user_page).get_data(as_text=True)
    assert "Invitation pending until 2026-03-09 10:00." in page and "No password yet" in page
    # Re-send: a new link, the earlier one stops working.
    second = admin.post(f"/admin/users/{people['pm'].id}/invitation", {})
    second_page = admin.get(second.headers["Location"]).get_data(as_text=True)
    second_path = LINK.search(second_page).group(1)
    assert second_path != first_path and "any earlier link no longer works" in second_page
    assert make_client().get(first_path).status_code == 404
    assert make_client().get(second_path).status_code == 200
    clock.advance(invitations.lifetime())
    assert "The invitation expired on 2026-03-09 10:00." in admin.get(user_page).get_data(as_text=True)
    assert "No password yet" in admin.get("/admin/users").get_data(as_text=True)


def test_invitation_pages_hold_the_strict_csp(make_client, world, people):
    admin = logged_in(make_client, "admin")
    created = admin.post("/admin/users/new", {"username": "newbie", "display_name": "新来的"})
    pages = [admin.get(created.headers["Location"]), admin.get(f"/admin/invitations?community={world.c1.id}"),
             admin.get(f"/admin/invitations/sheet?community={world.c1.id}"),
             admin.post(f"/admin/invitations/sheet?community={world.c1.id}", {})]
    path = re.search(r'class="address">localhost(/invite/[^<]+)<', pages[-1].get_data(as_text=True)).group(1)
    pages += [make_client().get(path), make_client().get("/invite/nothing")]
    for resp in pages:
        html = resp.get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)", html)
        assert not re.search(r"\sstyle=", html) and not re.search(r"\son[a-z]+=", html)


# --- the printable sheet -------------------------------------------------------------------------------

def test_the_sheet_of_a_community_issues_fresh_links_for_everyone_without_a_password(make_client, world, people):
    _old, old_token = make_invitation(people["vol"])
    make_user("haspw", ("volunteer", world.c1))  # has a password: not on the sheet
    sec1 = logged_in(make_client, "secretary1")
    confirm = sec1.get(f"/admin/invitations/sheet?community={world.c1.id}")
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200
    assert "Accounts of 城关社区 without a password: 3." in html
    assert "links sent or printed for them before stop working at once" in html
    for name in ("新志愿者", "新网格员", "新楼院长"):
        assert name in html
    for name in ("东城志愿者", "两边的人", "停用的人", "Haspw"):
        assert name not in html
    assert f'action="/admin/invitations/sheet?community={world.c1.id}"' in html and 'name="csrf_token"' in html

    # A GET changes nothing; a POST without the form's token is refused.
    assert sec1.post(f"/admin/invitations/sheet?community={world.c1.id}", {}, csrf=False).status_code == 400
    assert len(_invitations_of(people["vol"])) == 1 and make_client().get(f"/invite/{old_token}").status_code == 200

    sheet = sec1.post(f"/admin/invitations/sheet?community={world.c1.id}", {})
    html = sheet.get_data(as_text=True)
    assert sheet.status_code == 200 and sheet.headers["Cache-Control"] == "no-store"
    assert re.search(r'<link rel="stylesheet" href="/static/css/sheet\.[0-9a-f]{12}\.css">', html)
    slips = dict(re.findall(r'id="slip-(\d+)">(.*?)</li>', html, re.S))
    assert set(slips) == {str(people[k].id) for k in ("vol", "gridder", "head")}
    expires_at = _invitations_of(people["vol"])[-1].expires_at
    expiry_day = expires_at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d")
    for key in ("vol", "gridder", "head"):
        slip = slips[str(people[key].id)]
        assert people[key].display_name in slip and f'class="username">{people[key].username}<' in slip
        assert "<svg" in slip and "<title>" in slip
        assert re.search(r'class="address">localhost/invite/([0-9A-Z]{4}-){5}[0-9A-Z]{4}<', slip)
        assert f"Valid until {expiry_day}" in slip
        # Each printed link opens its own person's page.
        path = re.search(r'class="address">localhost(/invite/[^<]+)<', slip).group(1)
        assert people[key].username in make_client().get(path).get_data(as_text=True)
    # The link made earlier for one of them stops working.
    assert make_client().get(f"/invite/{old_token}").status_code == 404
    printed = [e for e in events("invitation_created") if e.actor_name == "secretary1"]
    assert len(printed) == 3 and all("printed on the sheet of 城关社区" in e.summary for e in printed)
    assert sec1.get(f"/admin/invitations/sheet?community={world.c2.id}").status_code == 403
    assert sec1.post(f"/admin/invitations/sheet?community={world.c2.id}", {}).status_code == 403
    assert _invitations_of(people["other"]) == []


def test_the_sheet_is_made_for_a4_paper():
    css = (Path(__file__).resolve().parents[2] / "gridapp" / "static" / "css" / "sheet.css").read_text()
    assert "@page { size: A4;" in css and "@media print" in css and "break-inside: avoid" in css


def test_a_community_whose_accounts_all_have_passwords_has_nothing_to_print(make_client, world):
    sec2 = logged_in(make_client, "secretary2")
    html = sec2.get(f"/admin/invitations/sheet?community={world.c2.id}").get_data(as_text=True)
    assert "there is nothing to print" in html and "Make new links" not in html
    resp = sec2.post(f"/admin/invitations/sheet?community={world.c2.id}", {})
    assert resp.status_code == 302 and "there is nothing to print" in sec2.get(resp.headers["Location"]).get_data(
        as_text=True)


# --- the link by e-mail and SMS ------------------------------------------------------------------------

@pytest.fixture
def smtp(app):
    with SMTPServer() as server:
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port)
        yield server.sink


def _deliver(app):
    done = run_burst_worker(app)
    assert done.returncode == 0, done.stderr[-3000:]
    db.session.expire_all()


def test_the_link_goes_out_by_email_and_sms_once_and_its_text_is_erased(app, make_client, world, smtp):
    with HTTPPeer(answer={"ok": True}) as gateway:
        app.config["SMS_GATEWAY_URL"] = gateway.url + "/send"
        admin = logged_in(make_client, "admin")
        created = admin.post("/admin/users/new", {"username": "newbie", "display_name": "新来的",
                                                  "email": "newbie@example.org", "phone": "13900003333"})
        page = admin.get(created.headers["Location"]).get_data(as_text=True)
        path = LINK.search(page).group(1)
        assert "Also sent by: E-mail, SMS." in page
        _deliver(app)
        assert len(gateway.requests) == 1
    [mail] = smtp.messages
    assert mail["to"] == ["newbie@example.org"]
    assert f"http://localhost{path}" in mail["body"] and "newbie" in mail["body"]
    sms = gateway.requests[0]["json"]
    assert sms["to"] == "13900003333" and f"http://localhost{path}" in sms["text"]
    user = fresh_user("newbie")
    rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.user_id == user.id)).all()
    assert sorted((r.channel, r.status, r.body) for r in rows) == [("email", "sent", ""), ("sms", "sent", "")]
    assert db.session.scalars(select(Notification).where(Notification.user_id == user.id)).all() == []
    # The account page says where it went; the link works.
    assert "sent on" in admin.get(created.headers["Location"]).get_data(as_text=True)
    assert make_client().post(path, {"new_password": PASSWORD, "confirm": PASSWORD}).status_code == 302


def test_a_new_link_withdraws_the_earlier_message_not_sent_yet(app, make_client, world, people, smtp):
    admin = logged_in(make_client, "admin")
    first = admin.post(f"/admin/users/{people['vol'].id}/invitation", {})
    first_path = LINK.search(admin.get(first.headers["Location"]).get_data(as_text=True)).group(1)
    second = admin.post(f"/admin/users/{people['vol'].id}/invitation", {})
    second_path = LINK.search(admin.get(second.headers["Location"]).get_data(as_text=True)).group(1)
    rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [(r.status, r.body == "") for r in rows] == [("failed", True), ("pending", False)]
    assert rows[0].last_error.startswith("withdrawn")
    _deliver(app)
    [mail] = smtp.messages
    assert second_path in mail["body"] and first_path not in mail["body"]
    # Revoking withdraws too, and accepting erases what was sent.
    invitation = _invitations_of(people["vol"])[-1]
    assert admin.post(f"/admin/invitations/{invitation.id}/revoke", {}).status_code == 302
    db.session.expire_all()
    assert all(r.body == "" for r in db.session.scalars(select(OutboxMessage)))


def test_an_account_without_addresses_is_told_to_be_handed_the_link(make_client, world, people, smtp):
    admin = logged_in(make_client, "admin")
    resp = admin.post(f"/admin/users/{people['gridder'].id}/invitation", {})
    assert "Not sent: the account has no e-mail address or phone number" in admin.get(
        resp.headers["Location"]).get_data(as_text=True)
    assert db.session.scalars(select(OutboxMessage)).all() == []


def test_the_preferences_page_does_not_offer_the_invitation_kind(make_client, world):
    html = logged_in(make_client, "vol1").get("/notifications/settings").get_data(as_text=True)
    assert 'value="invitation:' not in html and "Invitations to set a password" not in html
    assert 'value="urgent:email"' in html  # the page lists the other kinds as before
