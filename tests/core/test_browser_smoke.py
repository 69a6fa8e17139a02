"""The shell renders in a real browser on a phone-sized screen, in Chinese, under the CSP."""
import pytest

from tests.browser import login
from tests.conftest import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser


def test_login_page_renders_chinese_without_csp_violations(live_server, phone, world):
    errors = []
    phone.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    phone.goto(f"{live_server.url}/login")
    assert phone.locator("h1").inner_text() in ("登录", "Log in")
    login(phone, live_server.url, "secretary1", DEFAULT_PASSWORD)
    assert phone.url.rstrip("/") == live_server.url
    assert not [e for e in errors if "Content Security Policy" in e], errors
