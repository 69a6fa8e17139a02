"""Password rules, hashing and what changing a password does to other sessions."""
import pytest
from werkzeug.security import check_password_hash

from gridapp.auth.models import User
from gridapp.auth.services import PasswordRejected, check_password_rules, create_user
from gridapp.extensions import db
from tests.conftest import DEFAULT_PASSWORD


def test_passwords_are_hashed_with_scrypt(app):
    user = create_user(None, username="newbie", display_name="新人", password="kangxian-2020-ok")
    db.session.commit()
    assert user.password_hash.startswith("scrypt:")
    assert "kangxian-2020-ok" not in user.password_hash
    assert check_password_hash(user.password_hash, "kangxian-2020-ok")


@pytest.mark.parametrize("bad", ["short", "password", "12345678", "qwertyuiop", "iloveyou"])
def test_short_and_common_passwords_are_refused(app, bad):
    with pytest.raises(PasswordRejected):
        check_password_rules(bad)


def test_change_own_password_ends_other_sessions(make_client, world):
    phone, laptop = make_client(), make_client()
    phone.login("vol1")
    laptop.login("vol1")
    resp = phone.post("/profile/password", {"current_password": DEFAULT_PASSWORD,
                                            "new_password": "a-much-better-one-7",
                                            "confirm": "a-much-better-one-7"})
    assert resp.status_code == 302
    assert phone.get("/").status_code == 200  # this session goes on
    assert laptop.get("/").status_code == 302  # the other one is over
    fresh = make_client()
    assert fresh.post("/login", {"username": "vol1", "password": DEFAULT_PASSWORD}).status_code == 200
    fresh.login("vol1", "a-much-better-one-7")


def test_wrong_current_password_shows_the_form_again(client, world):
    client.login("vol1")
    resp = client.post("/profile/password", {"current_password": "not-my-password",
                                             "new_password": "a-much-better-one-7",
                                             "confirm": "a-much-better-one-7"})
    assert resp.status_code == 200
    assert 'id="current_password-err"' in resp.get_data(as_text=True)
    user = db.session.get(User, world.vol1.id)
    assert check_password_hash(user.password_hash, DEFAULT_PASSWORD)


def test_common_new_password_refused_with_message(client, world):
    client.login("vol1")
    resp = client.post("/profile/password", {"current_password": DEFAULT_PASSWORD,
                                             "new_password": "password1", "confirm": "password1"})
    assert resp.status_code == 200
    assert 'id="new_password-err"' in resp.get_data(as_text=True)


def test_profile_lists_roles_with_place_names(client, world):
    client.login("secretary1")
    body = client.get("/profile").get_data(as_text=True)
    assert "城关社区" in body
