"""Chinese first, English second."""


def test_login_page_is_chinese_by_default(client, world):
    body = client.get("/login").get_data(as_text=True)
    assert '<html lang="zh-Hans">' in body
    assert "登录" in body
    assert "用户名或手机号" in body


def test_language_switch_to_english_and_back(client, world):
    client.get("/login")
    resp = client.post("/lang", {"lang": "en", "next": "/login"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/login"
    body = client.get("/login").get_data(as_text=True)
    assert "Log in" in body and '<html lang="en">' in body
    client.post("/lang", {"lang": "zh", "next": "/login"})
    assert "登录" in client.get("/login").get_data(as_text=True)


def test_unknown_language_is_ignored(client, world):
    client.post("/lang", {"lang": "xx", "next": "/login"})
    assert "登录" in client.get("/login").get_data(as_text=True)


def test_language_survives_login(client, world):
    client.post("/lang", {"lang": "en", "next": "/login"})
    client.login("vol1")
    assert "Log out" in client.get("/").get_data(as_text=True)


def test_error_pages_are_translated(client, world):
    assert "找不到" in client.get("/no-such-page").get_data(as_text=True)
