"""vol1 on a phone (360×740) signs up for a shift, sees the count change in place, and withdraws;
and the same without JavaScript."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from gridapp.duty.models import Shift
from gridapp.extensions import db
from gridapp.timeutil import utcnow
from tests.browser import SCREENSHOTS, login
from tests.conftest import DEFAULT_PASSWORD
from tests.duty.factories import make_checkpoint

pytestmark = pytest.mark.browser


def _shift(world):
    cp = make_checkpoint(world.c1, world.k1, max_people=3, now=utcnow())
    shift = db.session.scalars(select(Shift).where(Shift.checkpoint_id == cp.id,
                                                   Shift.starts_at > utcnow() + timedelta(hours=30))
                               .order_by(Shift.starts_at)).first()
    ids = (cp.id, shift.id, shift.day.isoformat())
    db.session.commit()  # the live server must not wait for the test's transaction
    return ids


def _filled(shift_id):
    db.session.expire_all()
    filled = db.session.get(Shift, shift_id).filled
    db.session.commit()
    return filled


def test_vol1_signs_up_sees_the_count_change_and_withdraws(world, live_server, phone):
    cp_id, shift_id, day = _shift(world)
    errors = []
    phone.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    login(phone, live_server.url, "vol1", DEFAULT_PASSWORD)
    phone.goto(f"{live_server.url}/duty/?checkpoint={cp_id}&day={day}")
    row = phone.locator(f"#shift-{shift_id}")
    assert row.get_attribute("data-filled") == "0"
    phone.evaluate("window.__marker = 1")
    row.locator("button.signup-button").click()
    phone.locator(f'#shift-{shift_id}[data-filled="1"]').wait_for()
    assert phone.evaluate("window.__marker") == 1  # swapped in place, no reload
    assert "1" in phone.locator(f"#shift-{shift_id} .count").inner_text()
    phone.locator("#toasts .toast").first.wait_for()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    assert _filled(shift_id) == 1
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    phone.screenshot(path=str(SCREENSHOTS / "duty-signup.png"), full_page=False)
    phone.locator(f"#shift-{shift_id} button.withdraw-button").click()
    phone.locator(f'#shift-{shift_id}[data-filled="0"]').wait_for()
    assert phone.locator(f"#shift-{shift_id} button.signup-button").count() == 1
    assert _filled(shift_id) == 0
    assert not [e for e in errors if "Content Security Policy" in e], errors


def test_the_same_without_javascript(world, live_server, phone_nojs):
    cp_id, shift_id, day = _shift(world)
    login(phone_nojs, live_server.url, "vol1", DEFAULT_PASSWORD)
    phone_nojs.goto(f"{live_server.url}/duty/?checkpoint={cp_id}&day={day}")
    phone_nojs.locator(f"#shift-{shift_id} button.signup-button").click()
    phone_nojs.locator(f'#shift-{shift_id}[data-filled="1"]').wait_for()
    assert _filled(shift_id) == 1
    phone_nojs.locator(f"#shift-{shift_id} button.withdraw-button").click()
    phone_nojs.locator(f'#shift-{shift_id}[data-filled="0"]').wait_for()
    assert _filled(shift_id) == 0


def test_vol1_checks_in_and_out_in_place(world, live_server, phone):
    """On /duty/mine the check-in and check-out buttons swap just their row (no page load)."""
    from tests.duty.test_roster_grid import _soon

    signup_id = _soon(world)
    errors = []
    phone.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    login(phone, live_server.url, "vol1", DEFAULT_PASSWORD)
    phone.goto(f"{live_server.url}/duty/mine")
    phone.evaluate("window.__marker = 1")
    phone.locator(f"#signup-{signup_id} button.check-in-button").click()
    phone.locator(f'#signup-{signup_id}[data-status="checked_in"]').wait_for()
    phone.locator("#toasts .toast").first.wait_for()
    phone.locator(f"#signup-{signup_id} button.check-out-button").click()
    phone.locator(f'#signup-{signup_id}[data-status="checked_out"]').wait_for()
    assert phone.evaluate("window.__marker") == 1  # both swapped in place
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    assert not [e for e in errors if "Content Security Policy" in e], errors


def test_the_week_roster_scrolls_inside_its_box_on_a_phone(world, live_server, phone):
    """secretary1 on 360 px: the page itself never scrolls sideways; the grid does, inside its box,
    with the checkpoint column kept in view, and a shift badge opens the shift's page."""
    from tests.duty.test_roster_grid import _midnight

    for i in range(3):
        make_checkpoint(world.c1, world.k1 if i % 2 else None, name=f"检查点{i}", now=_midnight())
    db.session.commit()
    login(phone, live_server.url, "secretary1", DEFAULT_PASSWORD)
    phone.goto(f"{live_server.url}/duty/roster")
    grid = phone.locator("#roster-grid")
    grid.wait_for()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    box = phone.locator(".roster-scroll")
    assert box.evaluate("el => el.scrollWidth > el.clientWidth")  # the table scrolls, inside its box
    colour = phone.locator("#roster-grid a.cov-low").first.evaluate("el => getComputedStyle(el).backgroundColor")
    assert colour == "rgb(253, 236, 234)"  # duty.css is applied
    box.evaluate("el => el.scrollLeft = el.scrollWidth")
    head = phone.locator("#roster-grid tbody th.cp").first
    assert head.bounding_box()["x"] < 40  # the sticky checkpoint column stays at the left
    badge = phone.locator("#roster-grid a.cov").nth(5)
    href = badge.get_attribute("href")
    badge.click()
    phone.wait_for_url(f"**{href}")
    assert phone.locator("#cancel-shift").count() == 1
