"""Invitations: an account without a password, the one-time link with which its owner sets one,
its expiry, re-sending and revoking, the race of two uses, throttling, and a token that stays out
of the logs and the audit trail."""
import logging
import re
import threading
from datetime import timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import select, update
from werkzeug.security import check_password_hash

from gridapp.audit.models import AuditEvent
from gridapp.auth import invitations
from gridapp.auth.models import Invitation, LoginSession, User
from gridapp.core.rules import RuleError
from gridapp.extensions import db
from tests.admin.helpers import events, fresh_user, logged_in
from tests.factories import make_invitation, make_invitee

PASSWORD = "maple-river-91"
LINK = re.compile(r'id="invitation-link-text" type="text" readonly value="http://localhost(/invite/[^"]+)"')


def _path(token: str) -> str:
    return f"/invite/{token}"


def _choose(client, path, password=PASSWORD, confirm=None):
    return client.post(path, {"new_password": password, "confirm": password if confirm is None else confirm})


def _english(make_client):
    c = make_client()
    c.post("/lang", {"lang": "en", "next": "/login"})
    return c


# --- the whole flow ---------------------------------------------------------------------------------

def test_admin_creates_an_account_the_invitee_sets_a_password_and_logs_in(make_client, world):
    admin = logged_in(make_client, "admin")
    created = admin.post("/admin/users/new", {"username": "newbie", "display_name": "新来的"})
    assert created.status_code == 302
    user_page = created.headers["Location"]
    page = admin.get(user_page).get_data(as_text=True)
    path = LINK.search(page).group(1)
    assert re.fullmatch(r"/invite/([0-9A-Z]{4}-){5}[0-9A-Z]{4}", path)
    assert "Invitation pending until" in page and "Send a new link" in page and "Revoke" in page
    # Shown once: the page does not show it again.
    again = admin.get(user_page).get_data(as_text=True)
    assert path not in again and "Invitation pending until" in again

    invitee = _english(make_client)
    opened = invitee.get(path)
    html = opened.get_data(as_text=True)
    assert opened.status_code == 200
    assert "新来的" in html and "<strong>newbie</strong>" in html and "At least 8 characters." in html
    assert opened.headers["Referrer-Policy"] == "no-referrer" and opened.headers["Cache-Control"] == "no-store"

    differ = _choose(invitee, path, confirm="maple-river-92")
    assert differ.status_code == 422 and "The two passwords differ." in differ.get_data(as_text=True)
    weak = _choose(invitee, path, password="newbie123")
    assert weak.status_code == 422
    assert "must not contain your username, name or phone number" in weak.get_data(as_text=True)
    assert fresh_user("newbie").password_hash is None

    done = _choose(invitee, path)
    assert done.status_code == 302 and done.headers["Location"] == "/"
    home = invitee.get("/")
    assert home.status_code == 200 and "Your password is set, 新来的" in home.get_data(as_text=True)
    user = fresh_user("newbie")
    assert check_password_hash(user.password_hash, PASSWORD) and user.password_changed_at is not None
    assert [e.action for e in events() if e.object_id == user.id and e.object_type == "User"] == [
        "user_created", "invitation_created", "invitation_accepted", "login"]

    # The link is spent: it says so plainly, and sends the person to log in.
    used = _english(make_client).get(path)
    assert used.status_code == 410
    assert "This invitation was already used" in used.get_data(as_text=True)
    assert 'href="/login"' in used.get_data(as_text=True)
    assert _choose(_english(make_client), path, password="another-river-93").status_code == 410
    assert check_password_hash(fresh_user("newbie").password_hash, PASSWORD)

    # From now on the person logs in like anyone else; the account page says how the password came.
    invitee.logout()
    assert make_client().post("/login", {"username": "newbie", "password": PASSWORD}).status_code == 302
    assert "The owner set the password with an invitation" in admin.get(user_page).get_data(as_text=True)


def test_the_page_speaks_chinese_by_default(make_client, world):
    user = make_invitee("zhang", ("volunteer", world.c1), display_name="张伟")
    _invitation, token = make_invitation(user, created_by=world.sec1)
    html = make_client().get(_path(token)).get_data(as_text=True)
    assert "设置密码" in html and "张伟" in html and "至少 8 个字符" in html


def test_an_account_without_a_password_cannot_log_in_and_looks_like_a_wrong_password(make_client, world):
    make_invitee("newbie", ("volunteer", world.c1), phone="13900002222")

    def attempt(username, password):
        resp = _english(make_client).post("/login", {"username": username, "password": password})
        return resp.status_code, re.sub(r'"X-CSRFToken": "[^"]*"|value="[^"]*"', "", resp.get_data(as_text=True))

    for typed, password in (("newbie", PASSWORD), ("newbie", "!"), ("13900002222", "None")):
        status, html = attempt(typed, password)
        assert status == 200 and "Wrong username or password, or the account is disabled." in html
    # The same answer as an account that does not exist, and as a wrong password…
    assert attempt("newbie", PASSWORD)[1] == attempt("no-such-person", PASSWORD)[1] == attempt("vol1", "nope-nope-9")[1]
    # …and the attempts count against the account's login limit as failures do (5 per 15 minutes).
    assert attempt("newbie", "x")[0] == 200 and attempt("newbie", PASSWORD)[0] == 429
    failed = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "login_failed",
                                                         AuditEvent.object_name == "newbie")).all()
    assert failed and {e.summary for e in failed} == {"no password yet"}
    assert db.session.scalar(select(db.func.count()).select_from(LoginSession)) == 0


# --- expiry ----------------------------------------------------------------------------------------

def test_the_link_works_until_it_expires_then_says_so_plainly(make_client, world, clock):
    clock.town("2026-03-02 10:00")
    user = make_invitee("newbie", ("volunteer", world.c1))
    invitation, token = invitations.invite(world.sec1, user, deliver=False)
    db.session.commit()
    assert invitation.expires_at == clock.now + timedelta(days=7)

    clock.advance(timedelta(days=7, minutes=-1))
    assert _english(make_client).get(_path(token)).status_code == 200
    clock.advance(timedelta(minutes=1))
    expired = _english(make_client).get(_path(token))
    html = expired.get_data(as_text=True)
    assert expired.status_code == 410
    assert "This invitation expired on 2026-03-09 10:00." in html and "Ask Secretary1 for a new one." in html
    assert _choose(_english(make_client), _path(token)).status_code == 410
    assert fresh_user("newbie").password_hash is None
    db.session.expire_all()
    assert invitations.find(token).state(clock.now) == "expired"


def test_invitation_days_is_a_setting(app, make_client, world, clock):
    clock.town("2026-03-02 10:00")
    app.config["INVITATION_DAYS"] = 2
    user = make_invitee("newbie", ("volunteer", world.c1))
    invitation, token = invitations.invite(world.admin, user, deliver=False)
    db.session.commit()
    assert invitation.expires_at == clock.now + timedelta(days=2)
    clock.advance(timedelta(days=2))
    assert make_client().get(_path(token)).status_code == 410


def test_accepting_a_link_that_expires_while_the_form_is_open_is_refused(make_client, world, clock):
    clock.town("2026-03-02 10:00")
    user = make_invitee("newbie", ("volunteer", world.c1))
    _invitation, token = make_invitation(user, days=1)
    invitee = _english(make_client)
    assert invitee.get(_path(token)).status_code == 200
    clock.advance(timedelta(days=1))
    late = _choose(invitee, _path(token))
    assert late.status_code == 410 and "This invitation expired on" in late.get_data(as_text=True)
    assert fresh_user("newbie").password_hash is None


# --- re-sending and revoking ----------------------------------------------------------------------

def test_a_new_link_stops_the_earlier_one(make_client, world):
    user = make_invitee("newbie", ("volunteer", world.c1))
    first, old_token = invitations.invite(world.admin, user, deliver=False)
    second, new_token = invitations.invite(world.admin, user, deliver=False)
    db.session.commit()
    assert first.revoked_at is not None and second.state(second.created_at) == "pending"
    gone = _english(make_client).get(_path(old_token))
    assert gone.status_code == 404 and "This invitation link is not valid" in gone.get_data(as_text=True)
    assert _choose(_english(make_client), _path(old_token)).status_code == 404
    assert fresh_user("newbie").password_hash is None
    assert _choose(_english(make_client), _path(new_token)).status_code == 302
    assert check_password_hash(fresh_user("newbie").password_hash, PASSWORD)


def test_a_revoked_link_looks_like_an_unknown_one(make_client, world):
    user = make_invitee("newbie", ("volunteer", world.c1))
    invitation, token = invitations.invite(world.admin, user, deliver=False)
    invitations.revoke(world.sec1, invitation)
    db.session.commit()
    revoked = _english(make_client).get(_path(token))
    unknown = _english(make_client).get(_path(invitations.new_token()))
    assert revoked.status_code == unknown.status_code == 404
    strip = re.compile(r'"X-CSRFToken": "[^"]*"|value="[^"]*"|/invite/[^"?]+')
    assert strip.sub("", revoked.get_data(as_text=True)) == strip.sub("", unknown.get_data(as_text=True))
    with force_locale("en"), pytest.raises(RuleError, match="already revoked"):
        invitations.revoke(world.sec1, invitation)
    db.session.rollback()
    assert [e.actor_name for e in events("invitation_revoked")] == ["secretary1"]


def test_a_password_set_by_an_admin_or_disabling_the_account_ends_the_invitation(make_client, world):
    first = make_invitee("first", ("volunteer", world.c1))
    second = make_invitee("second", ("volunteer", world.c1))
    _inv1, token1 = invitations.invite(world.admin, first, deliver=False)
    _inv2, token2 = invitations.invite(world.admin, second, deliver=False)
    db.session.commit()
    admin = logged_in(make_client, "admin")
    assert admin.post(f"/admin/users/{first.id}/password", {"new_password": PASSWORD}).status_code == 302
    assert admin.post(f"/admin/users/{second.id}/active", {"active": "0"}).status_code == 302
    for token in (token1, token2):
        assert _english(make_client).get(_path(token)).status_code == 404
    assert check_password_hash(fresh_user("first").password_hash, PASSWORD)
    assert fresh_user("second").password_hash is None
    # An account with a password gets no invitation: its password is reset instead.
    with force_locale("en"), pytest.raises(RuleError, match="has a password already"):
        invitations.invite(world.admin, fresh_user("first"))
    db.session.rollback()
    with force_locale("en"), pytest.raises(RuleError, match="is disabled"):
        invitations.invite(world.admin, fresh_user("second"))
    db.session.rollback()


# --- the race -------------------------------------------------------------------------------------------

def test_many_people_using_one_link_at_once_exactly_one_sets_the_password(app, world):
    user = make_invitee("newbie", ("volunteer", world.c1))
    _invitation, token = make_invitation(user)
    user_id = user.id
    db.session.commit()  # end the test's own transaction: on SQLite it holds the write lock
    n = 12
    barrier = threading.Barrier(n)
    won, refused, errors = [], [], []

    def attempt(i):
        password = f"maple-river-{i:02d}-x"
        with app.app_context():
            try:
                barrier.wait(30)
                try:
                    invitations.accept(token, password)
                    db.session.commit()
                    won.append(password)
                except invitations.InvitationClosed as exc:
                    db.session.rollback()
                    refused.append(exc.state)
            except Exception as exc:  # noqa: BLE001  (reported by the assertion below)
                errors.append(repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors[:3]
    assert len(won) == 1 and refused == ["used"] * (n - 1)
    db.session.expire_all()
    assert check_password_hash(db.session.get(User, user_id).password_hash, won[0])
    assert len(events("invitation_accepted")) == 1


def test_the_conditional_update_decides_not_the_look_before_it(monkeypatch, world):
    """Someone else uses the link between the look and the update: the update refuses."""
    user = make_invitee("newbie", ("volunteer", world.c1))
    invitation, token = make_invitation(user)
    looked = invitations.usable(token)  # still pending when looked at…
    db.session.execute(update(Invitation).where(Invitation.id == invitation.id)
                       .values(used_at=invitation.created_at + timedelta(minutes=1)))  # …then used
    monkeypatch.setattr(invitations, "usable", lambda token, now=None: looked)
    with pytest.raises(invitations.InvitationClosed) as exc:
        invitations.accept(token, PASSWORD)
    assert exc.value.state == "used" and exc.value.status == 410
    db.session.rollback()
    assert fresh_user("newbie").password_hash is None


def test_accepting_ends_any_session_of_the_account(world):
    """Setting the password through the link ends every session the account has (an account
    without a password should have none; if one is left from before, it does not outlive this)."""
    user = make_invitee("newbie", ("volunteer", world.c1))
    _invitation, token = make_invitation(user)
    db.session.add(LoginSession(id="x" * 64, user_id=user.id))
    db.session.commit()
    invitations.accept(token, PASSWORD)
    db.session.commit()
    assert db.session.get(LoginSession, "x" * 64).revoked_at is not None


# --- tokens: typing, guessing, logs ------------------------------------------------------------------

def test_a_token_typed_from_paper_is_read_kindly_and_anything_else_names_nothing(make_client, world):
    user = make_invitee("newbie", ("volunteer", world.c1))
    _invitation, token = make_invitation(user)
    raw = token.replace("-", "")
    typed = raw.lower().replace("0", "o").replace("1", "l")
    assert invitations.find(typed) is not None and invitations.find(" ".join(raw)) is not None
    c = make_client()
    assert c.get(_path(raw.lower())).status_code == 200
    for bad in ("x", "a" * 200, raw[:-1], raw + "0", raw[:-1] + "U", "%00" + raw, raw[:-1] + "\u0660"):
        assert c.get(_path(bad)).status_code == 404, bad


def test_guessing_links_is_throttled_per_address_while_real_links_still_open(app, make_client, world):
    app.config["LOGIN_LIMIT_PER_IP"] = "3 per 15 minutes"
    user = make_invitee("newbie", ("volunteer", world.c1))
    _invitation, token = make_invitation(user)
    guesser = make_client()
    for _ in range(3):
        assert guesser.get(_path(invitations.new_token())).status_code == 404
    assert guesser.get(_path(invitations.new_token())).status_code == 429
    assert guesser.post(_path(invitations.new_token()), {"new_password": PASSWORD, "confirm": PASSWORD}
                        ).status_code == 429
    # Someone at the same address with a real link is not locked out.
    assert make_client().get(_path(token)).status_code == 200
    assert _choose(make_client(), _path(token)).status_code == 302


def test_the_token_is_in_neither_the_log_nor_the_audit_trail(app, make_client, world, caplog):
    caplog.set_level(logging.DEBUG)
    admin = logged_in(make_client, "admin")
    created = admin.post("/admin/users/new", {"username": "newbie", "display_name": "新来的"})
    path = LINK.search(admin.get(created.headers["Location"]).get_data(as_text=True)).group(1)
    token = path.rsplit("/", 1)[1]
    invitee = make_client()
    invitee.get(path)
    _choose(invitee, path)
    invitee.get(path)
    raw = token.replace("-", "")
    written = [r.getMessage() for r in caplog.records]
    assert written == [m for m in written if token not in m and raw not in m]
    db.session.expire_all()
    for e in db.session.scalars(select(AuditEvent)):
        for text in (e.summary, e.object_name, e.actor_name):
            assert token not in text and raw not in text
    stored = db.session.scalars(select(Invitation)).one()
    assert stored.token_hash == invitations.token_hash(token) and raw not in stored.token_hash
