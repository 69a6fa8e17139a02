"""Browser-test support: the app served on loopback, driven by Debian's Chromium.

Playwright's Python package drives /usr/bin/chromium (never a downloaded browser).
Without that binary the browser tests are skipped, unless GRIDAPP_REQUIRE_BROWSER=1
(CI sets it), when they fail instead.
"""
import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def require_chromium():
    if not Path(CHROMIUM).exists():
        if os.environ.get("GRIDAPP_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is missing but GRIDAPP_REQUIRE_BROWSER=1")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium)")


class LiveServer:
    """The app in a background thread (threaded WSGI server) on a free loopback port."""

    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.thread.join(timeout=5)


@pytest.fixture
def live_server(app):
    from gridapp.extensions import db

    db.session.commit()  # the server's threads must see (and not wait for) the test's rows
    with LiveServer(app) as server:
        yield server


@pytest.fixture(scope="session")
def chromium():
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def phone(chromium):
    """A fresh 360×740 phone-sized page with JavaScript on."""
    context = chromium.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN")
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def phone_nojs(chromium):
    """The same phone with JavaScript disabled."""
    context = chromium.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN",
                                   java_script_enabled=False)
    page = context.new_page()
    yield page
    context.close()


def login(page, base_url, username, password):
    page.goto(f"{base_url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit].primary")
    page.wait_for_url(lambda url: "/login" not in url)
