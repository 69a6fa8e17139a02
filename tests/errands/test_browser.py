"""On 360×740 phones: head1 files an errand, vol2 claims it and sees the address, vol3 no longer
sees it on the board, vol2 buys and delivers, head1 confirms."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from gridapp.errands import services
from gridapp.errands.models import Errand
from gridapp.extensions import db
from gridapp.timeutil import to_local, utcnow
from tests.browser import SCREENSHOTS, login
from tests.conftest import DEFAULT_PASSWORD
from tests.errands.factories import add_volunteers, make_errand
from tests.errands.helpers import png_with_gps

pytestmark = pytest.mark.browser


def _phone(chromium, errors):
    context = chromium.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN")
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return context, page


def _status(errand_id):
    db.session.expire_all()
    status = db.session.get(Errand, errand_id).status
    db.session.commit()
    return status


def test_file_claim_deliver_confirm_on_phones(world, chromium, live_server):
    add_volunteers(world)
    h1 = world.h1.id
    db.session.commit()
    base, errors = live_server.url, []

    ctx, page = _phone(chromium, errors)
    login(page, base, "head1", DEFAULT_PASSWORD)
    page.goto(f"{base}/errands/new")
    page.fill("input[name=q]", "张三")
    page.locator(f"#household_id option[value='{h1}']").wait_for(state="attached")
    page.select_option("#household_id", str(h1))
    page.select_option("#category", "medicine")
    page.fill("#items", "布洛芬 1盒\n口罩 10只")
    page.fill("#estimated_cost", "40")
    page.fill("#needed_by_at", to_local(utcnow() + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"))
    page.check("#urgent")
    page.click("#errand-form button[type=submit]")
    page.wait_for_url(re.compile(r"/errands/\d+$"))
    # The "filed" message fades even after this boosted navigation, and a tap takes it away at once,
    # so it does not sit over the errand's card.
    page.wait_for_selector("#toasts .toast[data-fading]", timeout=3000)
    page.locator("#toasts .toast").first.click()
    assert page.locator("#toasts .toast").count() == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    errand_id = db.session.scalars(select(Errand.id)).one()
    db.session.commit()
    ctx.close()

    ctx, page = _phone(chromium, errors)
    login(page, base, "vol2", DEFAULT_PASSWORD)
    page.goto(f"{base}/errands/")
    card = page.locator(f"#errand-card-{errand_id}")
    assert "阳光小区" in card.inner_text() and "建设路" not in page.inner_text("main")
    page.evaluate("window.__marker = 1")
    card.locator("button[value=claim]").click()
    page.locator(f"#errand-card-{errand_id} .badge.ok").wait_for()
    assert page.evaluate("window.__marker") == 1  # swapped in place by htmx, no reload
    page.click(f"#errand-card-{errand_id} a")
    page.wait_for_url(f"**/errands/{errand_id}")
    assert "城关镇建设路1号" in page.inner_text("#errand-address")
    assert page.get_attribute("#errand-phone", "href") == "tel:13900000101"
    assert _status(errand_id) == "claimed"

    ctx3, page3 = _phone(chromium, errors)
    login(page3, base, "vol3", DEFAULT_PASSWORD)
    page3.goto(f"{base}/errands/")
    assert page3.locator(f"#errand-card-{errand_id}").count() == 0
    assert "建设路" not in page3.inner_text("main")
    ctx3.close()

    page.fill("#actual_cost", "38.5")
    page.set_input_files("#receipt", files=[{"name": "receipt.png", "mimeType": "image/png",
                                             "buffer": png_with_gps()}])
    page.click("button[value=purchase]")
    page.locator("#errand-status", has_text="Purchased").wait_for()
    # The receipt shows inline, loaded through the permission-checked route (CSP img-src 'self').
    thumb = page.locator("#errand-photo-receipt")
    thumb.scroll_into_view_if_needed()
    page.wait_for_function("document.getElementById('errand-photo-receipt').naturalWidth > 0")
    assert thumb.get_attribute("loading") == "lazy" and thumb.get_attribute("width") == "40"
    page.fill("#note", "交给本人")
    page.click("button[value=deliver]")
    page.locator("#errand-status", has_text="Delivered").wait_for()
    assert _status(errand_id) == "delivered"
    ctx.close()

    ctx, page = _phone(chromium, errors)
    login(page, base, "head1", DEFAULT_PASSWORD)
    page.goto(f"{base}/errands/staff?list=awaiting")
    page.click(f"#staff-errand-{errand_id} a")
    page.wait_for_url(f"**/errands/{errand_id}")
    page.check("#money_settled")
    page.click("button[value=confirm]")
    page.locator("#errand-status", has_text="Confirmed").wait_for()
    assert page.locator("#timeline li").count() == 5
    assert "志愿者二" in page.inner_text("#contact-views")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "errands-confirmed.png"), full_page=True)
    ctx.close()
    assert _status(errand_id) == "confirmed"
    assert not [e for e in errors if "Content Security Policy" in e], errors


def test_a_claim_lost_on_a_stale_board_shows_who_has_it_in_place(world, chromium, live_server):
    """The 409 of a lost claim is swapped in like any answer (htmx's responseHandling in base.html):
    the card says who has it, an error toast says the same, and the page is not reloaded."""
    add_volunteers(world)
    errand_id = make_errand(world).id
    db.session.commit()  # no transaction of the test's left open while the browser's requests write
    base, errors = live_server.url, []
    ctx, page = _phone(chromium, errors)
    login(page, base, "vol3", DEFAULT_PASSWORD)
    page.goto(f"{base}/errands/")
    card = page.locator(f"#errand-card-{errand_id}")
    card.locator("button[value=claim]").wait_for()
    # Meanwhile vol2 takes it.
    services.claim(db.session.get(Errand, errand_id), world.vol2)
    db.session.commit()
    page.evaluate("window.__marker = 1")
    card.locator("button[value=claim]").click()
    page.locator(f"#errand-card-{errand_id} .error").wait_for()
    assert "Already taken by 志愿者二" in page.inner_text(f"#errand-card-{errand_id}")
    assert "Already taken by 志愿者二" in page.locator("#toasts .toast-error").first.inner_text()
    assert page.evaluate("window.__marker") == 1  # swapped in place, no reload
    assert card.locator("button[value=claim]").count() == 0
    assert _status(errand_id) == "claimed"
    ctx.close()
    assert not [e for e in errors if "Content Security Policy" in e], errors
