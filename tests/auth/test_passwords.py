"""Password rules, hashing and what changing a password does to other sessions."""
from types import SimpleNamespace

import pytest
from werkzeug.security import check_password_hash

from gridapp.auth.models import User
from gridapp.auth.services import PasswordRejected, check_password_rules, create_user
from gridapp.demo import DEMO_PASSWORD
from gridapp.extensions import db
from gridapp.grid.models import Town
from tests.conftest import DEFAULT_PASSWORD


def test_passwords_are_hashed_with_scrypt(app):
    user = create_user(None, username="newbie", display_name="新人", password="maple-river-91")
    db.session.commit()
    assert user.password_hash.startswith("scrypt:")
    assert "maple-river-91" not in user.password_hash
    assert check_password_hash(user.password_hash, "maple-river-91")


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


def _reason(password, user=None):
    try:
        check_password_rules(password, user)
    except PasswordRejected as exc:
        assert str(exc)  # every refusal says why
        return exc.reason
    return None


ZHANG = SimpleNamespace(username="zhangsan", display_name="张伟", phone="13912345678")


@pytest.mark.parametrize("password, reason", [
    ("woaini1314", "common"),  # the usual love-number passwords are on the list
    ("zhangwei123", "pinyin"),  # a name in pinyin and a sequence
    ("liuyang1990", "pinyin"),
    ("wangfang88", "pinyin"),
    ("Zhang.Wei@1990", "pinyin"),  # separators and case do not hide it
    ("woaizhongguo", "pinyin"),  # a phrase in pinyin
    ("aaaaaaaa", "repeated"),
    ("abcabcabc", "repeated"),
    ("abcdefgh", "sequence"),
    ("87654321", "sequence"),
    ("qwertyuiop", "common"),
    ("qazwsxedcr", "keyboard"),
    ("1qaz2wsx3edc4", "keyboard"),
    ("19900101", "date"),
    ("20200101ab", "date"),
    ("1314520520", "digits"),
    ("83920174", "digits"),
    ("demo-pass-2020", "demo"),
    ("DEMO_PASS_2020", "demo"),
])
def test_common_chinese_patterns_are_refused_with_their_reason(app, password, reason):
    assert _reason(password) == reason


def test_the_demo_password_is_the_one_the_demo_publishes(app):
    assert _reason(DEMO_PASSWORD) == "demo"


@pytest.mark.parametrize("password", ["zhangsan-2024-x", "nasgnahz-2024-x", "zhangsanzhangsan", "x-13912345678",
                                      "my-zhangwei-key", "张伟-plenty-long"])
def test_the_accounts_username_name_and_phone_are_refused(app, password):
    assert _reason(password, ZHANG) == "own_details"


def test_a_short_username_repeated_is_refused(app):
    assert _reason("lilililili", SimpleNamespace(username="li", display_name="Li", phone=None)) == "own_details"


@pytest.mark.parametrize("password", ["城关镇-plenty-long", "chengguanzhen-x", "Chengguan-2024-x"])
def test_the_towns_name_and_its_pinyin_are_refused(app, password):
    db.session.add(Town(name="城关镇"))
    db.session.flush()
    assert _reason(password) == "town"


@pytest.mark.parametrize("password", [DEFAULT_PASSWORD, "plenty-long-secret-7", "maple-river-91", "Tg7#kd9Lq",
                                      "xiaogou chi fan 2024 taiyang hao", "lighthouse-47"])
def test_reasonable_passwords_pass(app, password):
    db.session.add(Town(name="城关镇"))
    db.session.flush()
    assert _reason(password, ZHANG) is None


@pytest.mark.parametrize("lang, message", [
    ("zh", "密码主要是拼音的姓名或常用语"),
    ("en", "The password is mostly a name or phrase in pinyin"),
])
def test_the_profile_form_says_why_in_the_users_language(client, world, lang, message):
    client.post("/lang", {"lang": lang, "next": "/login"})
    client.login("vol1")
    resp = client.post("/profile/password", {"current_password": DEFAULT_PASSWORD,
                                             "new_password": "liuyang1990", "confirm": "liuyang1990"})
    assert resp.status_code == 200
    assert message in resp.get_data(as_text=True)
    assert check_password_hash(db.session.get(User, world.vol1.id).password_hash, DEFAULT_PASSWORD)


def test_the_profile_form_refuses_the_own_username_and_the_demo_password(client, world):
    client.login("vol1")
    for new, message in (("vol1vol1vol1", "密码不能包含您的用户名、姓名或手机号。"),
                         (DEMO_PASSWORD, "这是公开的演示密码，请设置您自己的密码。")):
        resp = client.post("/profile/password", {"current_password": DEFAULT_PASSWORD,
                                                 "new_password": new, "confirm": new})
        assert resp.status_code == 200 and message in resp.get_data(as_text=True), new

