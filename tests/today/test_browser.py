"""The today board in Chromium on a phone, on the demo town: it asks for itself again after a minute
(one request, the board fragment swapped in place) under the strict CSP, and without JavaScript the
scope picker is a plain form. Saves docs/screenshots/today-secretary1.png."""
import re

import pytest
from sqlalchemy import select

from gridapp.auth.passwords import DEMO_PASSWORD
from gridapp.demo import seed
from gridapp.extensions import db
from gridapp.grid.models import Grid
from tests.browser import SCREENSHOTS, login

pytestmark = pytest.mark.browser


def test_the_board_refreshes_itself_with_one_request_a_minute(app, live_server, phone):
    seed()
    db.session.commit()
    errors, board_requests = [], []
    phone.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    phone.on("request", lambda r: board_requests.append(r) if "/today/" in r.url else None)
    phone.clock.install()
    login(phone, live_server.url, "secretary1", DEMO_PASSWORD)
    phone.goto(live_server.url + "/today/")
    assert phone.locator("#today-place").inner_text() == "南街社区"
    for panel in ("duty", "disinfection", "errands", "supervision"):
        assert phone.locator(f"#panel-{panel}").is_visible()
    phone.screenshot(path=str(SCREENSHOTS / "today-secretary1.png"), full_page=True)
    board_requests.clear()
    phone.locator("#today-board").evaluate("el => el.setAttribute('data-seen', '1')")
    with phone.expect_response(re.compile(r"/today/\?scope=community-\d+$")) as answer:
        phone.clock.fast_forward("01:01")
    assert answer.value.status == 200
    phone.wait_for_function("() => !document.querySelector('#today-board[data-seen]')")
    assert len(board_requests) == 1 and board_requests[0].headers.get("hx-request") == "true"
    assert phone.locator("#today-board").count() == 1  # swapped in place of itself, not inside it
    assert phone.locator("#panel-duty").is_visible()
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors


def test_without_javascript_the_scope_picker_is_a_plain_form(app, live_server, phone_nojs):
    seed()
    db.session.commit()
    grid = db.session.scalars(select(Grid).order_by(Grid.id)).first()
    grid_id, grid_name = grid.id, grid.name
    db.session.commit()  # SQLite: the test's transaction must not hold the write lock the server needs
    login(phone_nojs, live_server.url, "leader", DEMO_PASSWORD)
    phone_nojs.goto(live_server.url + "/today/")
    assert phone_nojs.locator("#today-place").inner_text() == "城关镇"
    phone_nojs.select_option("#today-scope-select", f"grid-{grid_id}")
    phone_nojs.click("#today-scope button[type=submit]")
    phone_nojs.wait_for_url(f"**/today/?scope=grid-{grid_id}")
    assert phone_nojs.locator("#today-place").inner_text().endswith(grid_name)
    assert phone_nojs.locator("#panel-duty").is_visible()
