"""On a 360×740 phone: sup1 records a finding with a photo, pm1 acknowledges and submits evidence
with a photo, sup2 verifies (and sees both photos)."""
import re

import pytest
from sqlalchemy import select

from gridapp.extensions import db
from gridapp.supervision.models import Inspection, Photo, RectificationItem
from tests.browser import SCREENSHOTS, login
from tests.conftest import DEFAULT_PASSWORD
from tests.supervision.factories import add_sup2, image_bytes

pytestmark = pytest.mark.browser


def _phone(chromium):
    context = chromium.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN")
    return context, context.new_page()


def _status(item_id):
    db.session.expire_all()
    status = db.session.get(RectificationItem, item_id).status
    db.session.commit()
    return status


def _photo_kinds(item_id):
    kinds = db.session.scalars(select(Photo.kind).where(Photo.item_id == item_id).order_by(Photo.id)).all()
    db.session.commit()
    return kinds


def _wait_for_images(page, seconds=10):
    # Polled from here: wait_for_function would need eval(), which the page's CSP forbids.
    for _ in range(seconds * 10):
        if page.evaluate("Array.from(document.querySelectorAll('main img')).every(i => i.complete)"):
            return
        page.wait_for_timeout(100)
    raise AssertionError("images did not load")


def _loaded_images(page, selector):
    return page.evaluate(f"Array.from(document.querySelectorAll('{selector} img'))"
                         ".filter(i => i.complete && i.naturalWidth > 0).length")


def test_finding_to_verified_on_phones(world, chromium, live_server, tmp_path):
    add_sup2(world)
    door = tmp_path / "door.jpg"
    door.write_bytes(image_bytes("JPEG", size=(640, 480)))
    fixed = tmp_path / "fixed.png"
    fixed.write_bytes(image_bytes("PNG", size=(480, 640)))
    k1, pm1 = world.k1.id, world.pm1.id
    db.session.commit()
    errors = []
    base = live_server.url

    ctx, page = _phone(chromium)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    login(page, base, "sup1", DEFAULT_PASSWORD)
    page.goto(f"{base}/supervision/inspections/new")
    page.select_option("#kind", "unannounced")
    page.select_option("#target", f"compound:{k1}")
    page.fill("#participants", "督查组甲、乙")
    page.click("main button[type=submit].primary")
    page.wait_for_url("**/supervision/inspections/*")
    page.select_option("#category", "no_temperature_check")
    page.select_option("#severity", "critical")
    page.fill("#description", "北门卡口无人测温")
    page.set_input_files("#photos", str(door))
    assert page.locator("#owner_id option:checked").get_attribute("value") == str(pm1)
    page.click("#finding-form button[type=submit]")
    page.locator("#findings li a").first.wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    item_id = db.session.scalars(select(RectificationItem.id)).one()
    db.session.commit()
    assert _photo_kinds(item_id) == ["finding"]
    ctx.close()

    ctx, page = _phone(chromium)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    login(page, base, "pm1", DEFAULT_PASSWORD)
    page.goto(f"{base}/supervision/")
    page.wait_for_url("**/supervision/items?mine=1")
    page.click(f"#item-row-{item_id} a")
    page.wait_for_url(f"**/supervision/items/{item_id}")
    page.evaluate("window.__marker = 1")
    page.click("button[value=acknowledge]")
    page.locator("textarea[name=evidence]").wait_for()
    assert page.evaluate("window.__marker") == 1  # swapped in place by htmx, no reload
    page.locator("#finding-photos img").first.wait_for()
    _wait_for_images(page)
    assert _loaded_images(page, "#finding-photos") == 1
    page.fill("textarea[name=evidence]", "已安排两名志愿者轮流测温登记")
    page.set_input_files("#evidence-form input[name=photos]", str(fixed))
    page.click("button[value=submit]")
    page.locator("#item-status", has_text="已提交整改材料").wait_for()
    assert page.evaluate("window.__marker") == 1  # the photo went up through htmx, no reload
    assert page.locator("button[value=verify]").count() == 0  # the owner is not offered verifying
    assert _status(item_id) == "submitted"
    assert _photo_kinds(item_id) == ["finding", "evidence"]
    ctx.close()

    ctx, page = _phone(chromium)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    login(page, base, "sup2", DEFAULT_PASSWORD)
    page.goto(f"{base}/supervision/items/{item_id}")
    assert "已安排两名志愿者轮流测温登记" in page.inner_text("main")
    _wait_for_images(page)
    assert _loaded_images(page, "#finding-photos") == 1 and _loaded_images(page, "#evidence-photos") == 1
    page.fill("input[name=note]", "复查合格")
    page.click("button[value=verify]")
    page.locator("#item-status", has_text="已核验").wait_for()
    assert page.locator("#history li").count() == 4
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "supervision-item-verified.png"), full_page=True)
    ctx.close()
    assert _status(item_id) == "verified"
    assert not [e for e in errors if "Content Security Policy" in e], errors


def test_choosing_a_checkpoint_swaps_in_its_owner(world, chromium, live_server):
    from gridapp.duty.models import Checkpoint
    from tests.supervision.factories import make_inspection

    cp = Checkpoint(community_id=world.c1.id, compound_id=world.k1.id, name="阳光小区北门卡口")
    db.session.add(cp)
    db.session.commit()
    inspection_id = make_inspection(world, target=world.c1).id
    cp_id, sec1, gm1 = cp.id, world.sec1.id, world.gm1.id
    db.session.commit()
    ctx, page = _phone(chromium)
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    login(page, live_server.url, "sup1", DEFAULT_PASSWORD)
    page.goto(f"{live_server.url}/supervision/inspections/{inspection_id}")
    assert page.locator("#owner_id option:checked").get_attribute("value") == str(sec1)
    page.evaluate("window.__marker = 1")
    page.select_option("#target", f"checkpoint:{cp_id}")
    page.locator(f"#owner-field[data-owner-for='checkpoint:{cp_id}']").wait_for()
    assert page.locator("#owner_id option:checked").get_attribute("value") == str(gm1)
    assert page.evaluate("window.__marker") == 1
    page.fill("#description", "卡口无人值守")
    page.click("#finding-form button[type=submit]")
    page.locator("#findings li a").first.wait_for()
    item = db.session.scalars(select(RectificationItem)).one()
    assert (item.target_type, item.target_id, item.owner_id) == ("checkpoint", cp_id, gm1)
    db.session.commit()
    ctx.close()
    assert not errors, errors


def test_the_place_filter_and_the_team_checkboxes_on_a_phone(world, chromium, live_server):
    """The filter box app.js shows narrows the grouped picker (the choice survives clearing it); each
    team member is a 44 px row that a tap on the name ticks."""
    add_sup2(world)
    k2, sup1, sup2 = world.k2.id, world.sup.id, world.sup2.id
    db.session.commit()
    ctx, page = _phone(chromium)
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    login(page, live_server.url, "sup1", DEFAULT_PASSWORD)
    page.goto(f"{live_server.url}/supervision/inspections/new")
    every = page.locator("#target option").count()
    page.fill("#target-filter", "育才")
    assert page.eval_on_selector_all("#target option", "os => os.map(o => o.value)") == ["", f"compound:{k2}"]
    page.fill("#target-filter", "城关 第二")  # every word, in the option or its group's label
    assert page.eval_on_selector_all("#target option", "os => os.map(o => o.value)") == ["", f"compound:{k2}"]
    page.select_option("#target", f"compound:{k2}")
    page.fill("#target-filter", "")
    assert page.locator("#target option").count() == every
    assert page.locator("#target").input_value() == f"compound:{k2}"
    rows = page.eval_on_selector_all("#team_ids label", "ls => ls.map(l => l.getBoundingClientRect().height)")
    assert len(rows) == 2 and min(rows) >= 44, rows
    page.get_by_text("Sup2", exact=True).click()  # the name, not the little box
    assert page.is_checked(f"#team_ids input[value='{sup2}']")
    page.click("main button[type=submit].primary")
    page.wait_for_url(re.compile(r".*/supervision/inspections/\d+$"))  # not /new, where the form is
    inspection = db.session.scalars(select(Inspection)).one()
    assert (inspection.target_type, inspection.target_id) == ("compound", k2)
    assert sorted(u.id for u in inspection.team) == sorted([sup1, sup2])
    db.session.commit()
    ctx.close()
    assert not errors, errors
