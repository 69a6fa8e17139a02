"""Logging in and out, server-side sessions, throttling."""
from sqlalchemy import select

from gridapp.audit.models import AuditEvent
from gridapp.auth.models import LoginSession
from gridapp.extensions import db
from tests.conftest import DEFAULT_PASSWORD


def test_login_by_username_and_logout(client, world):
    resp = client.post("/login", {"username": "secretary1", "password": DEFAULT_PASSWORD})
    assert resp.status_code == 302
    home = client.get("/")
    assert home.status_code == 200
    assert "Secretary1" in home.get_data(as_text=True)
    client.logout()
    assert client.get("/").status_code == 302


def test_login_by_phone(client, world):
    resp = client.post("/login", {"username": "13800000001", "password": DEFAULT_PASSWORD})
    assert resp.status_code == 302
    assert client.get("/").status_code == 200


def test_wrong_password_shows_form_again_and_is_audited(client, world):
    resp = client.post("/login", {"username": "secretary1", "password": "nope-nope-nope"})
    assert resp.status_code == 200
    assert 'name="username"' in resp.get_data(as_text=True)
    assert client.get("/").status_code == 302
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "login_failed")).all()
    assert [e.object_name for e in events] == ["secretary1"]
    assert "nope" not in events[0].summary


def test_disabled_user_cannot_log_in(client, world):
    world.vol1.active = False
    db.session.commit()
    resp = client.post("/login", {"username": "vol1", "password": DEFAULT_PASSWORD})
    assert resp.status_code == 200
    assert client.get("/").status_code == 302


def test_session_cookie_is_renewed_at_login(client, world):
    client.get("/login")
    before = client.raw.get_cookie("gridapp_session").value
    client.login("vol1")
    after = client.raw.get_cookie("gridapp_session").value
    assert before != after


def test_logout_ends_the_session_on_the_server(client, world):
    client.login("vol1")
    stolen = client.raw.get_cookie("gridapp_session").value
    client.logout()
    row = db.session.scalars(select(LoginSession)).one()
    assert row.revoked_at is not None
    # Replaying the old cookie does not log anyone in.
    client.raw.set_cookie("gridapp_session", stolen)
    assert client.get("/").status_code == 302


def test_failed_logins_are_throttled_per_account(client, world):
    for _ in range(5):
        assert client.post("/login", {"username": "vol1", "password": "wrong-password-x"}).status_code == 200
    resp = client.post("/login", {"username": "vol1", "password": DEFAULT_PASSWORD})
    assert resp.status_code == 429
    assert "Too many attempts" in resp.get_data(as_text=True) or "尝试次数过多" in resp.get_data(as_text=True)
    # Another account from the same address is not locked by vol1's failures.
    assert client.post("/login", {"username": "vol2x", "password": "whatever-123"}).status_code == 200


def test_successful_logins_do_not_count(client, world):
    for _ in range(8):
        client.login("vol1")
        client.logout()
    assert client.post("/login", {"username": "vol1", "password": DEFAULT_PASSWORD}).status_code == 302


def test_failed_logins_are_throttled_per_address(app, client, world):
    app.config["LOGIN_LIMIT_PER_IP"] = "6 per 15 minutes"
    for i in range(6):
        assert client.post("/login", {"username": f"someone{i}", "password": "wrong-password-x"}).status_code == 200
    assert client.post("/login", {"username": "vol1", "password": DEFAULT_PASSWORD}).status_code == 429
    elsewhere = client.post("/login", {"username": "vol1", "password": DEFAULT_PASSWORD},
                            environ_base={"REMOTE_ADDR": "127.0.0.2"})
    assert elsewhere.status_code == 302  # the limit is per address


def test_login_page_itself_is_not_limited(client, world):
    for _ in range(30):
        assert client.get("/login").status_code == 200


def test_a_mistyped_phone_is_not_kept_whole_in_the_audit_trail(client, world):
    client.post("/login", {"username": "13912345678", "password": "wrong-password-x"})
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "login_failed")).one()
    assert event.object_name == "*******5678"
