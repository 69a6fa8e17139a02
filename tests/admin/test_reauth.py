"""Account and role changes ask for the admin's password again (请再次输入密码), then go on."""
from datetime import timedelta
from urllib.parse import quote

import pytest
from sqlalchemy import update

from gridapp.auth.models import LoginSession
from gridapp.extensions import db
from gridapp.timeutil import utcnow
from tests.admin.helpers import events, fresh_user, logged_in
from tests.admin.test_permissions import admin_routes
from tests.conftest import DEFAULT_PASSWORD


def _changes(world):
    """Every admin route that changes an account or its roles, and the page that creates one."""
    return [(m, url, data) for m, url, data in admin_routes(world) if m == "post" or url == "/admin/users/new"]


def test_every_account_or_role_change_asks_for_the_password_first(make_client, world):
    admin = logged_in(make_client, "admin", confirmed=False)
    page = f"/admin/users/{world.nobody.id}"
    for method, url, data in _changes(world):
        if method == "get":
            resp = admin.get(url)
            back = url
        else:
            resp = admin.post(url, data, headers={"Referer": f"http://localhost{page}"})
            back = page  # the page that holds the form
        assert resp.status_code == 303, url
        assert resp.headers["Location"] == f"/reauth?next={quote(back, safe='/')}", url
    # Nothing changed.
    assert fresh_user("nobody").display_name == "Nobody" and fresh_user("nobody").active
    assert fresh_user("nobody").role_names() == set() and fresh_user("vol1").role_names() == {"volunteer"}
    assert db.session.scalars(db.select(db.func.count()).select_from(LoginSession)).one() == 1
    assert [e.action for e in events() if e.action not in ("login",)] == []
    # Looking is not changing: the lists and an account's page open as before.
    for url in ("/admin/users", page, "/admin/audit"):
        assert admin.get(url).status_code == 200, url


def test_after_the_password_the_admin_comes_back_and_the_change_goes_through(make_client, world):
    admin = logged_in(make_client, "admin", confirmed=False)
    asked = admin.get("/admin/users/new")
    page = admin.get(asked.headers["Location"])
    html = page.get_data(as_text=True)
    assert "Enter your password again" in html and "For your security, please enter your password again." in html
    assert 'name="next" value="/admin/users/new"' in html
    back = admin.post("/reauth", {"password": DEFAULT_PASSWORD, "next": "/admin/users/new"})
    assert back.status_code == 302 and back.headers["Location"] == "/admin/users/new"
    assert admin.get("/admin/users/new").status_code == 200
    resp = admin.post(f"/admin/users/{world.nobody.id}/active", {"active": "0"})
    assert resp.status_code == 302 and not fresh_user("nobody").active
    [event] = events("reauthenticated")
    assert (event.actor_name, event.object_name, event.ip) == ("admin", "admin", "127.0.0.1")


def test_with_htmx_the_browser_is_sent_to_the_password_page(make_client, world):
    admin = logged_in(make_client, "admin", confirmed=False)
    page = f"/admin/users/{world.nobody.id}"
    resp = admin.post(f"{page}/roles", {"role": "volunteer", "scope": f"community:{world.c1.id}"},
                      headers={"HX-Request": "true", "HX-Current-URL": f"http://localhost{page}"})
    assert resp.status_code == 200 and resp.get_data(as_text=True) == ""
    assert resp.headers["HX-Redirect"] == f"/reauth?next={quote(page, safe='/')}"
    assert fresh_user("nobody").role_names() == set()
    # A page of another site is never where the user is sent back to.
    resp = admin.post(f"{page}/roles", {"role": "volunteer", "scope": f"community:{world.c1.id}"},
                      headers={"HX-Request": "true", "HX-Current-URL": "https://elsewhere.example/x"})
    assert resp.headers["HX-Redirect"] == "/reauth?next=/"


def test_a_wrong_password_is_said_and_audited_and_changes_stay_closed(make_client, world):
    admin = logged_in(make_client, "admin", lang="zh", confirmed=False)
    resp = admin.post("/reauth", {"password": "not-my-password", "next": "/admin/users/new"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "密码错误。" in html and "请再次输入密码" in html
    assert 'name="next" value="/admin/users/new"' in html
    assert [e.actor_name for e in events("reauth_failed")] == ["admin"]
    assert admin.get("/admin/users/new").status_code == 303


def test_wrong_passwords_there_count_against_the_accounts_login_limit(make_client, world):
    admin = logged_in(make_client, "admin", confirmed=False)
    for _ in range(5):
        assert admin.post("/reauth", {"password": "not-my-password"}).status_code == 200
    assert admin.post("/reauth", {"password": DEFAULT_PASSWORD}).status_code == 429
    assert make_client().post("/login", {"username": "admin", "password": DEFAULT_PASSWORD},
                              environ_base={"REMOTE_ADDR": "127.0.0.9"}).status_code == 429


def test_the_confirmation_lasts_reauth_minutes_in_this_session_only(app, make_client, world):
    admin = logged_in(make_client, "admin")
    other_session = logged_in(make_client, "admin", confirmed=False)
    url = f"/admin/users/{world.nobody.id}"
    assert admin.post(url, {"display_name": "Renamed"}).status_code == 302
    assert other_session.post(url, {"display_name": "Again"}).status_code == 303
    # Eleven minutes later (REAUTH_MINUTES is 10) the password is asked again.
    db.session.execute(update(LoginSession).where(LoginSession.reauthenticated_at.is_not(None))
                       .values(reauthenticated_at=utcnow() - timedelta(minutes=11)))
    db.session.commit()
    assert admin.post(url, {"display_name": "Late"}).status_code == 303
    app.config["REAUTH_MINUTES"] = 15
    assert admin.post(url, {"display_name": "Later"}).status_code == 302
    assert fresh_user("nobody").display_name == "Later"


@pytest.mark.parametrize("username", ["secretary1", "vol1"])
def test_others_are_refused_before_any_password_is_asked(make_client, world, username):
    c = logged_in(make_client, username, confirmed=False)
    for method, url, data in _changes(world):
        resp = c.get(url) if method == "get" else c.post(url, data)
        assert resp.status_code == 403, url


def test_the_way_back_stays_on_this_site(make_client, world):
    admin = logged_in(make_client, "admin", confirmed=False)
    resp = admin.post("/reauth", {"password": DEFAULT_PASSWORD, "next": "//elsewhere.example/x"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/"


def test_logged_out_visitors_are_sent_to_log_in(client, world):
    resp = client.post("/reauth", {"password": DEFAULT_PASSWORD})
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    assert client.get("/reauth").status_code == 302
