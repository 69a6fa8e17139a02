"""Logging in and out, server-side sessions, throttling."""
from datetime import timedelta

from sqlalchemy import select, update

from gridapp.audit.models import AuditEvent
from gridapp.auth.models import LoginSession
from gridapp.extensions import db
from gridapp.timeutil import utcnow
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


def _login(client, username, password, address="127.0.0.1"):
    return client.post("/login", {"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def test_an_address_over_its_limit_lets_only_correct_passwords_in(app, client, world):
    """A town office is one address: strangers' failures there must not lock its staff out."""
    app.config["LOGIN_LIMIT_PER_IP"] = "6 per 15 minutes"
    for i in range(6):
        assert _login(client, f"someone{i}", "wrong-password-x").status_code == 200
    # Over the limit: a wrong password is refused with the reason, and still audited...
    wrong = _login(client, "vol1", "wrong-password-x")
    assert wrong.status_code == 429
    assert "您所在网络的登录失败次数过多" in wrong.get_data(as_text=True)
    failures = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "login_failed")
                                  .order_by(AuditEvent.id)).all()
    assert [e.object_name for e in failures][-1] == "vol1"
    # ...while the correct password of an account without failures gets in.
    assert _login(client, "gridder1", DEFAULT_PASSWORD).status_code == 302
    client.logout()
    # vol1 has a failure in this window: from this address even its right password waits, so a
    # guesser here learns one guess per account, not five...
    assert _login(client, "vol1", DEFAULT_PASSWORD).status_code == 429
    # ...but vol1 is not locked: from another address it logs in.
    assert _login(client, "vol1", DEFAULT_PASSWORD, address="127.0.0.2").status_code == 302


def test_failures_over_the_address_limit_still_count_against_the_account(app, client, world):
    app.config["LOGIN_LIMIT_PER_IP"] = "2 per 15 minutes"
    for i in range(2):
        _login(client, f"someone{i}", "wrong-password-x")
    for _ in range(5):
        assert _login(client, "vol1", "wrong-password-x").status_code == 429
    # vol1's own budget is spent: locked from everywhere now.
    assert _login(client, "vol1", DEFAULT_PASSWORD, address="127.0.0.2").status_code == 429


def test_the_account_limit_counts_the_account_whatever_name_or_phone_is_typed(client, world):
    for typed in ("secretary1", "13800000001", " Secretary1 ", "SECRETARY1", "13800000001"):
        assert _login(client, typed, "wrong-password-x").status_code == 200
    assert _login(client, "13800000001", DEFAULT_PASSWORD, address="127.0.0.2").status_code == 429
    assert _login(client, "secretary1", DEFAULT_PASSWORD, address="127.0.0.3").status_code == 429


def test_unknown_names_are_counted_by_their_normalised_text(client, world):
    for typed in ("Ghost", "ghost", " GHOST", "gh ost", "ghost "):
        assert _login(client, typed, "wrong-password-x").status_code == 200
    assert _login(client, "ghost", "wrong-password-x", address="127.0.0.2").status_code == 429
    assert _login(client, "ghost2", "wrong-password-x", address="127.0.0.2").status_code == 200


def test_login_page_itself_is_not_limited(client, world):
    for _ in range(30):
        assert client.get("/login").status_code == 200


def test_what_was_typed_for_an_unknown_name_is_kept_nowhere(app, client, world):
    """A password typed in the username box (or a mistyped phone) is not stored: not in the audit
    trail, not in the limiter's keys in Redis; the same name is still counted together."""
    from gridapp.jobs_runtime import redis_connection

    for typed in ("Hunter2-Secret", "13912345678"):
        client.post("/login", {"username": typed, "password": "wrong-password-x"})
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "login_failed")).all()
    assert len(events) == 2 and all(e.summary == "unknown account" for e in events)
    for e in events:
        text = f"{e.object_name} {e.summary}".lower()
        assert "hunter2" not in text and "5678" not in text
    keys = [k.decode() if isinstance(k, bytes) else k for k in redis_connection().scan_iter(count=1000)]
    assert any(app.config["RATELIMIT_KEY_PREFIX"] in k for k in keys)  # the limiter did count them
    assert not [k for k in keys if "hunter2" in k.lower() or "13912345678" in k]


def test_behind_a_trusted_proxy_each_client_address_has_its_own_budget(_schema, client, world):
    """TRUSTED_PROXY_COUNT=1: the proxy's X-Forwarded-For names the client (ProxyFix)."""
    from gridapp import create_app
    from tests.conftest import Client, test_config

    proxied = Client(create_app(test_config(TRUSTED_PROXY_COUNT=1, LOGIN_LIMIT_PER_IP="3 per 15 minutes")))

    def via_proxy(username, password, client_address):
        return proxied.post("/login", {"username": username, "password": password},
                            headers={"X-Forwarded-For": client_address})

    for i in range(3):
        assert via_proxy(f"someone{i}", "wrong-password-x", "192.0.2.10").status_code == 200
    assert via_proxy("someone9", "wrong-password-x", "192.0.2.10").status_code == 429
    # Another client behind the same proxy has its own budget...
    assert via_proxy("someone9", "wrong-password-x", "192.0.2.11").status_code == 200
    # ...and the audit trail names the client, not the proxy.
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "login_failed")
                               .order_by(AuditEvent.id.desc())).first()
    assert event.ip == "192.0.2.11"


def test_without_a_trusted_proxy_x_forwarded_for_is_ignored(app, client, world):
    app.config["LOGIN_LIMIT_PER_IP"] = "3 per 15 minutes"
    for i in range(3):
        client.post("/login", {"username": f"someone{i}", "password": "wrong-password-x"},
                    headers={"X-Forwarded-For": f"192.0.2.{i}"})
    # A forged header does not buy a new budget.
    resp = client.post("/login", {"username": "someone9", "password": "wrong-password-x"},
                       headers={"X-Forwarded-For": "192.0.2.99"})
    assert resp.status_code == 429


def _age_sessions(**ago):
    db.session.execute(update(LoginSession).values(created_at=utcnow() - timedelta(**ago)))
    db.session.commit()


def test_a_session_ends_after_its_absolute_lifetime_however_busy(app, client, world):
    client.login("vol1")
    _age_sessions(hours=719)  # used a moment ago (last seen now), 30 days old less an hour
    assert client.get("/").status_code == 200
    _age_sessions(hours=721)
    resp = client.get("/")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")


def test_the_absolute_lifetime_is_configurable(app, client, world):
    app.config["SESSION_ABSOLUTE_HOURS"] = 2
    client.login("vol1")
    _age_sessions(minutes=119)
    assert client.get("/").status_code == 200
    _age_sessions(minutes=121)
    assert client.get("/").status_code == 302


def test_purging_removes_sessions_past_their_absolute_lifetime(app, make_client, world):
    from gridapp.auth.services import purge_sessions

    make_client().login("vol1")
    make_client().login("secretary1")
    db.session.execute(LoginSession.__table__.update().where(LoginSession.user_id == world.vol1.id)
                       .values(created_at=utcnow() - timedelta(hours=721)))
    db.session.commit()
    assert purge_sessions() == 1
    db.session.commit()
    assert [s.user_id for s in db.session.scalars(select(LoginSession))] == [world.sec1.id]
