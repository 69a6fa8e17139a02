"""pm1 scans a point's QR code on a phone (360×740), logs in, and ticks the round."""
import pytest
from sqlalchemy import select

from gridapp.disinfection import services
from gridapp.disinfection.models import DisinfectionRound, DisinfectionSlot
from gridapp.extensions import db
from gridapp.timeutil import town_today
from tests.browser import SCREENSHOTS, login
from tests.conftest import DEFAULT_PASSWORD
from tests.disinfection.factories import ALL_DAY, make_point

pytestmark = pytest.mark.browser


def _point(world):
    p = make_point(world.k1, windows=ALL_DAY, name="1号楼电梯")
    services.ensure_slots([town_today()], [p.id])
    point_id = p.id
    db.session.commit()  # the live server must not wait for the test's transaction
    return point_id


def _state(point_id):
    db.session.expire_all()
    slots = db.session.scalars(select(DisinfectionSlot).where(DisinfectionSlot.point_id == point_id,
                                                              DisinfectionSlot.day == town_today())).all()
    rounds = db.session.scalars(select(DisinfectionRound).where(DisinfectionRound.point_id == point_id)).all()
    db.session.commit()
    return [s.status for s in slots], rounds


def test_pm1_opens_a_point_by_its_qr_url_and_ticks_it(world, live_server, phone):
    point_id = _point(world)
    errors = []
    phone.on("console", lambda msg: errors.append((msg.text, msg.location, phone.url)) if msg.type == "error" else None)
    qr_url = f"{live_server.url}/disinfection/points/{point_id}"
    phone.goto(qr_url)  # not logged in yet: the login page, then back to the point
    phone.fill("input[name=username]", "pm1")
    phone.fill("input[name=password]", DEFAULT_PASSWORD)
    phone.click("button[type=submit].primary")
    phone.wait_for_url(f"**/disinfection/points/{point_id}*")
    assert "1号楼电梯" in phone.locator("h1").inner_text()
    phone.fill("input[name=disinfectant]", "84消毒液")
    phone.evaluate("window.__marker = 1")
    phone.locator("button.tick-button").click()
    phone.locator('#tick-panel li[data-status="done"]').wait_for()
    assert phone.evaluate("window.__marker") == 1  # swapped in place, no reload
    assert "84消毒液" in phone.locator("#recent-rounds").inner_text()  # the recent rounds too (out of band)
    phone.locator("#toasts .toast").first.wait_for()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    phone.screenshot(path=str(SCREENSHOTS / "disinfection-tick.png"), full_page=True)
    # A double tap afterwards records nothing more.
    phone.locator("button.tick-button").click()
    phone.locator("#toasts .toast").nth(1).wait_for()
    statuses, rounds = _state(point_id)
    assert statuses == ["done"]
    assert len(rounds) == 1 and rounds[0].disinfectant == "84消毒液"
    assert not [e for e in errors if "Content Security Policy" in e[0]], errors


def test_the_same_tick_without_javascript(world, live_server, phone_nojs):
    point_id = _point(world)
    login(phone_nojs, live_server.url, "pm1", DEFAULT_PASSWORD)
    phone_nojs.goto(f"{live_server.url}/disinfection/points/{point_id}")
    phone_nojs.locator("button.tick-button").click()
    phone_nojs.wait_for_url(f"**/disinfection/points/{point_id}")
    assert phone_nojs.locator('#tick-panel li[data-status="done"]').count() == 1
    statuses, rounds = _state(point_id)
    assert statuses == ["done"] and len(rounds) == 1


def test_pm1_ticks_with_a_photo_from_the_phone_and_sees_its_thumbnail(world, live_server, phone, tmp_path):
    from io import BytesIO

    from PIL import Image

    point_id = _point(world)
    photo = tmp_path / "elevator.jpg"
    buf = BytesIO()
    Image.new("RGB", (640, 480), (20, 120, 60)).save(buf, "JPEG")
    photo.write_bytes(buf.getvalue())
    errors = []
    phone.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    login(phone, live_server.url, "pm1", DEFAULT_PASSWORD)
    phone.goto(f"{live_server.url}/disinfection/points/{point_id}")
    phone.set_input_files("#tick-panel input[type=file]", str(photo))
    phone.locator("button.tick-button").click()
    phone.locator('#tick-panel li[data-status="done"]').wait_for()
    statuses, rounds = _state(point_id)
    assert statuses == ["done"] and len(rounds) == 1
    round_id, stored = rounds[0].id, rounds[0].photo
    db.session.commit()  # reading them began a transaction: end it before the server needs the database
    assert stored.endswith(".jpg")
    phone.goto(f"{live_server.url}/disinfection/points/{point_id}")
    thumb = phone.locator(f'[data-round-photo="{round_id}"] img')
    thumb.wait_for()
    for _ in range(100):  # polled here: wait_for_function would need eval(), which the CSP forbids
        if thumb.evaluate("i => i.complete && i.naturalWidth > 0"):
            break
        phone.wait_for_timeout(100)
    assert thumb.evaluate("i => i.naturalWidth") == 640
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    assert not errors, errors
