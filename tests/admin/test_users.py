"""Accounts: the list and its search, creating, editing, password resets, disabling."""
import re

from sqlalchemy import select
from werkzeug.security import check_password_hash

from gridapp.auth.models import Invitation, LoginSession, User
from gridapp.extensions import db
from gridapp.timeutil import utcnow
from tests.admin.helpers import events, fresh_user, logged_in
from tests.conftest import DEFAULT_PASSWORD
from tests.factories import make_user

NEW_PASSWORD = "plenty-long-secret-7"


def _new(admin, **fields):
    data = {"username": "newbie", "display_name": "新来的", "phone": "", "email": "", **fields}
    return admin.post("/admin/users/new", data)


# --- the list ------------------------------------------------------------------------------------

def test_list_shows_accounts_roles_with_place_names_and_status(make_client, world):
    world.pm2.active = False
    db.session.commit()
    html = logged_in(make_client, "admin").get("/admin/users").get_data(as_text=True)
    assert "14 accounts" not in html and "13 accounts" in html
    sec1 = html.split(f'id="user-{world.sec1.id}"')[1].split("</li>")[0]
    assert "secretary1" in sec1 and "Community secretary · 城关社区" in sec1 and "Active" in sec1
    pm2 = html.split(f'id="user-{world.pm2.id}"')[1].split("</li>")[0]
    assert "Property manager · 远景物业" in pm2 and "Disabled" in pm2


def test_list_shows_phones_so_it_is_never_cached(make_client, world):
    resp = logged_in(make_client, "admin").get("/admin/users")
    assert "13800000001" in resp.get_data(as_text=True)
    assert resp.headers["Cache-Control"] == "no-store"


def test_search_by_username_display_name_and_phone(make_client, world):
    make_user("zhang", display_name="张伟", phone="13912345678")
    admin = logged_in(make_client, "admin")

    def found(**args):
        html = admin.get("/admin/users", query_string=args).get_data(as_text=True)
        return set(re.findall(r'id="user-(\d+)"', html))

    zhang = fresh_user("zhang")
    assert found(q="张") == {str(zhang.id)}
    assert found(q="ZHA") == {str(zhang.id)}
    assert found(q="2345") == {str(zhang.id)}
    assert found(q="gridder") == {str(world.gm1.id), str(world.gm3.id)}
    assert found(q="%") == set()  # a wildcard is a character like any other
    assert found(role="property_manager") == {str(world.pm1.id), str(world.pm2.id)}
    assert found(q="1", role="secretary") == {str(world.sec1.id)}
    assert len(found(role="no-such-role")) == 14  # 13 + zhang: an unknown role filter is ignored


def test_list_is_paginated(app, make_client, world):
    app.config["PAGE_SIZE"] = 5
    admin = logged_in(make_client, "admin")
    first = admin.get("/admin/users").get_data(as_text=True)
    assert len(re.findall(r'id="user-\d+"', first)) == 5 and "Page 1 of 3" in first
    assert 'href="/admin/users?page=2"' in first
    last = admin.get("/admin/users?page=3").get_data(as_text=True)
    assert len(re.findall(r'id="user-\d+"', last)) == 3
    assert admin.get("/admin/users?page=99999999999999999999").status_code == 200
    assert admin.get("/admin/users?page=-3").status_code == 200


def _add_users(world, n, start=0):
    for i in range(start, start + n):
        make_user(f"extra{i:03d}", ("grid_member", world.g1), ("volunteer", world.c2), ("building_head", world.k2))


def test_list_queries_do_not_grow_with_the_number_of_accounts(app, make_client, world, count_queries):
    app.config["PAGE_SIZE"] = 100
    admin = logged_in(make_client, "admin")
    _add_users(world, 5)
    admin.get("/admin/users")  # warm up: first-request work is not what is measured
    with count_queries() as few:
        html = admin.get("/admin/users").get_data(as_text=True)
    assert len(re.findall(r'id="user-\d+"', html)) == 18
    _add_users(world, 35, start=5)
    with count_queries() as many:
        html = admin.get("/admin/users").get_data(as_text=True)
    assert len(re.findall(r'id="user-\d+"', html)) == 53
    assert html.count("Building head · 育才楼院") == 40
    assert many["n"] == few["n"], "\n".join(many["sql"])


# --- creating ------------------------------------------------------------------------------------

def test_admin_creates_an_account_without_a_password_and_its_invitation(make_client, world):
    admin = logged_in(make_client, "admin")
    resp = _new(admin, phone="139 0000-1234", email="newbie@example.org", is_party_member="y")
    user = fresh_user("newbie")
    assert resp.status_code == 302 and resp.headers["Location"] == f"/admin/users/{user.id}"
    assert user.display_name == "新来的" and user.phone == "13900001234" and user.is_party_member
    assert user.active and user.roles == []
    # No password: its owner chooses one with the invitation.
    assert user.password_hash is None and user.password_changed_at is None
    [invitation] = db.session.scalars(select(Invitation).where(Invitation.user_id == user.id)).all()
    assert invitation.created_by_id == world.admin.id and invitation.state(utcnow()) == "pending"
    created = events("user_created")
    assert [(e.actor_name, e.object_id, e.object_name, e.ip) for e in created] == [
        ("admin", user.id, "newbie", "127.0.0.1")]
    assert "13900001234" not in created[0].summary
    [invited] = events("invitation_created")
    assert (invited.actor_name, invited.object_id) == ("admin", user.id)
    page = admin.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Account newbie created, without a password" in page
    assert 'id="invitation-link-text"' in page and "<svg" in page
    # Nobody gets in with a password meanwhile, not even an empty one.
    for password in (NEW_PASSWORD, "", "!"):
        assert make_client().post("/login", {"username": "newbie", "password": password}).status_code == 200


def test_the_new_account_form_asks_for_no_password(make_client, world):
    html = logged_in(make_client, "admin").get("/admin/users/new").get_data(as_text=True)
    assert 'type="password"' not in html
    assert "The account gets no password: its owner chooses one with an invitation link" in html
    assert "for 7 days" in html


def test_weak_and_common_passwords_are_refused_with_the_reason_when_resetting(make_client, world):
    admin = logged_in(make_client, "admin")

    def reset(password):
        return admin.post(f"/admin/users/{world.vol1.id}/password", {"new_password": password})

    short = reset("short7")
    assert short.status_code == 422 and "at least 8 characters" in short.get_data(as_text=True)
    common = reset("password1")
    html = common.get_data(as_text=True)
    assert common.status_code == 422 and "among the most common" in html
    assert 'value="password1"' not in html  # never the password
    pinyin = reset("zhangwei123")
    assert pinyin.status_code == 422 and "name or phrase in pinyin" in pinyin.get_data(as_text=True)
    assert check_password_hash(fresh_user("vol1").password_hash, DEFAULT_PASSWORD)
    assert reset("maple-river-91").status_code == 302  # long and unpredictable is fine
    assert check_password_hash(fresh_user("vol1").password_hash, "maple-river-91")


def test_duplicate_username_or_phone_shows_the_form_again(make_client, world):
    admin = logged_in(make_client, "admin")
    for fields, message in [
        ({"username": "secretary1"}, "This username is already taken."),
        ({"username": "Secretary1"}, "This username is already taken."),  # logins ignore case
        ({"username": "13800000001"}, "This username is already taken."),  # logins accept phones
        ({"phone": "138 0000 0001"}, "This phone number belongs to another account."),
    ]:
        resp = _new(admin, display_name="重复的人", **fields)
        html = resp.get_data(as_text=True)
        assert resp.status_code == 422, fields
        assert message in html and 'value="重复的人"' in html, fields
    db.session.expire_all()
    assert db.session.scalar(select(db.func.count()).select_from(User)) == 13
    assert events("user_created") == []


def test_invalid_fields_are_form_errors(make_client, world):
    admin = logged_in(make_client, "admin")
    for fields in ({"username": "two words"}, {"username": ""}, {"display_name": ""}, {"phone": "12ab"},
                   {"email": "not-an-address"}, {"username": "x" * 65}):
        resp = _new(admin, **fields)
        assert resp.status_code == 422, fields
        assert "Please correct the fields marked below." in resp.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalars(select(User).where(User.display_name == "新来的")).first() is None


# --- editing -------------------------------------------------------------------------------------

def test_edit_is_audited_without_the_personal_values(make_client, world):
    admin = logged_in(make_client, "admin")
    resp = admin.post(f"/admin/users/{world.sec1.id}", {"display_name": "王书记", "phone": "13911112222",
                                                         "email": "wang@example.org", "is_party_member": "y"})
    assert resp.status_code == 302 and resp.headers["Location"] == f"/admin/users/{world.sec1.id}"
    sec1 = fresh_user("secretary1")
    assert (sec1.display_name, sec1.phone, sec1.email, sec1.is_party_member) == (
        "王书记", "13911112222", "wang@example.org", True)
    [event] = events("user_updated")
    assert (event.actor_name, event.object_type, event.object_id, event.ip) == (
        "admin", "User", sec1.id, "127.0.0.1")
    assert "display_name: Secretary1 → 王书记" in event.summary
    assert "phone: changed" in event.summary and "email: changed" in event.summary
    for personal in ("13911112222", "13800000001", "wang@example.org"):
        assert personal not in event.summary
    page = admin.get(f"/admin/users/{sec1.id}")
    assert "Saved." in page.get_data(as_text=True) and page.headers["Cache-Control"] == "no-store"


def test_saving_without_changes_records_nothing(make_client, world):
    admin = logged_in(make_client, "admin")
    resp = admin.post(f"/admin/users/{world.sec1.id}", {"display_name": "Secretary1", "phone": "13800000001"})
    assert resp.status_code == 302
    assert events("user_updated") == []


def test_edit_to_a_phone_of_another_account_is_a_form_error(make_client, world):
    admin = logged_in(make_client, "admin")
    resp = admin.post(f"/admin/users/{world.vol1.id}", {"display_name": "Vol One", "phone": "13800000001"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "This phone number belongs to another account." in html
    assert 'value="Vol One"' in html
    vol1 = fresh_user("vol1")
    assert vol1.display_name == "Vol1" and vol1.phone is None
    assert events("user_updated") == []


def test_unknown_or_malformed_account_ids_are_404(make_client, world):
    admin = logged_in(make_client, "admin")
    for url in ("/admin/users/99999", "/admin/users/abc", "/admin/users/-1", "/admin/users/99999999999999999999",
                "/admin/users/1.5"):
        assert admin.get(url).status_code == 404, url
    assert admin.post("/admin/users/99999/password", {"new_password": NEW_PASSWORD}).status_code == 404
    assert admin.post("/admin/users/99999999999/active", {"active": "0"}).status_code == 404


# --- passwords and sessions ----------------------------------------------------------------------

def test_reset_password_ends_the_users_sessions_and_the_new_one_works(make_client, world):
    vol1 = logged_in(make_client, "vol1")
    assert vol1.get("/").status_code == 200
    admin = logged_in(make_client, "admin")
    resp = admin.post(f"/admin/users/{world.vol1.id}/password", {"new_password": NEW_PASSWORD})
    assert resp.status_code == 302
    # vol1's live session is over...
    after = vol1.get("/")
    assert after.status_code == 302 and after.headers["Location"].startswith("/login")
    # ...the old password no longer works, the new one does...
    assert make_client().post("/login", {"username": "vol1", "password": DEFAULT_PASSWORD}).status_code == 200
    assert make_client().post("/login", {"username": "vol1", "password": NEW_PASSWORD}).status_code == 302
    # ...and the admin's own session is untouched.
    assert admin.get("/admin/users").status_code == 200
    [event] = events("password_reset")
    assert event.actor_name == "admin" and event.object_name == "vol1" and NEW_PASSWORD not in event.summary


def test_reset_refuses_a_weak_password_and_keeps_the_sessions(make_client, world):
    vol1 = logged_in(make_client, "vol1")
    admin = logged_in(make_client, "admin")
    resp = admin.post(f"/admin/users/{world.vol1.id}/password", {"new_password": "iloveyou"})
    assert resp.status_code == 422 and "among the most common" in resp.get_data(as_text=True)
    resp = admin.post(f"/admin/users/{world.vol1.id}/password", {"new_password": "demo-pass-2020"})
    assert resp.status_code == 422 and "published demo password" in resp.get_data(as_text=True)
    resp = admin.post(f"/admin/users/{world.vol1.id}/password", {"new_password": "vol1-plenty-long"})
    assert resp.status_code == 422 and "must not contain your username" in resp.get_data(as_text=True)
    assert vol1.get("/").status_code == 200
    assert check_password_hash(fresh_user("vol1").password_hash, DEFAULT_PASSWORD)
    assert events("password_reset") == []


def test_admin_changes_their_own_password_on_the_profile_not_here(make_client, world):
    admin = logged_in(make_client, "admin")
    resp = admin.post(f"/admin/users/{world.admin.id}/password", {"new_password": NEW_PASSWORD})
    assert resp.status_code == 422 and "Change your own password on your profile page." in resp.get_data(as_text=True)
    assert admin.get("/admin/users").status_code == 200
    assert check_password_hash(fresh_user("admin").password_hash, DEFAULT_PASSWORD)


def test_disabling_ends_the_live_session_and_blocks_login_until_enabled(make_client, world):
    vol1 = logged_in(make_client, "vol1")
    admin = logged_in(make_client, "admin")
    assert admin.post(f"/admin/users/{world.vol1.id}/active", {"active": "0"}).status_code == 302
    assert not fresh_user("vol1").active
    after = vol1.get("/")
    assert after.status_code == 302 and after.headers["Location"].startswith("/login")
    assert make_client().post("/login", {"username": "vol1", "password": DEFAULT_PASSWORD}).status_code == 200
    db.session.expire_all()
    assert all(s.revoked_at is not None for s in db.session.scalars(
        select(LoginSession).where(LoginSession.user_id == world.vol1.id)))
    page = admin.get(f"/admin/users/{world.vol1.id}").get_data(as_text=True)
    assert "Disabled" in page and "Enable account" in page

    assert admin.post(f"/admin/users/{world.vol1.id}/active", {"active": "1"}).status_code == 302
    assert fresh_user("vol1").active
    assert make_client().post("/login", {"username": "vol1", "password": DEFAULT_PASSWORD}).status_code == 302
    assert [(e.action, e.actor_name, e.object_name) for e in events() if e.action.startswith("user_")] == [
        ("user_disabled", "admin", "vol1"), ("user_enabled", "admin", "vol1")]


def test_an_admin_cannot_disable_themself(make_client, world):
    admin = logged_in(make_client, "admin")
    resp = admin.post(f"/admin/users/{world.admin.id}/active", {"active": "0"})
    assert resp.status_code == 302
    assert "You cannot disable your own account." in admin.get(resp.headers["Location"]).get_data(as_text=True)
    assert fresh_user("admin").active
    assert admin.get("/admin/users").status_code == 200
    assert events("user_disabled") == []


def test_a_malformed_active_value_is_a_bad_request(make_client, world):
    admin = logged_in(make_client, "admin")
    for value in ("", "maybe", "2"):
        assert admin.post(f"/admin/users/{world.vol1.id}/active", {"active": value}).status_code == 400
    assert fresh_user("vol1").active


def test_admin_pages_hold_the_strict_csp(make_client, world):
    """No inline scripts, styles or event handlers: the Content-Security-Policy would block them."""
    admin = logged_in(make_client, "admin")
    for url in ("/admin/users", "/admin/users/new", f"/admin/users/{world.sec1.id}", "/admin/audit"):
        html = admin.get(url).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), url
        assert not re.search(r"\sstyle=", html), url
        assert not re.search(r"\son[a-z]+=", html), url
