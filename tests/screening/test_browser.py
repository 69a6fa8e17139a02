"""On a 360×740 phone: head1 finds his households in "my visits", records one in a few taps (the fields
that do not apply fold away), and the household leaves the list; without JavaScript too."""
import pytest

from gridapp.extensions import db
from tests.browser import SCREENSHOTS, login
from tests.conftest import DEFAULT_PASSWORD
from tests.screening.helpers import open_campaign, visit_of

pytestmark = pytest.mark.browser


@pytest.fixture
def campaign(world):
    return open_campaign(world.leader)


def _status(campaign, household):
    status = visit_of(campaign, household).status
    db.session.commit()
    return status


def test_a_building_head_records_a_visit_on_a_phone(world, campaign, chromium, live_server):
    v1, cid = visit_of(campaign, world.h1).id, campaign.id
    db.session.commit()  # the browser's server must not wait for a transaction of the test's own
    errors = []
    context = chromium.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN")
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    login(page, live_server.url, "head1", DEFAULT_PASSWORD)
    page.click("header label[for=nav-toggle]")
    page.click("header nav a[href='/screening/']")
    page.wait_for_url("**/screening/")
    page.wait_for_load_state("networkidle")
    page.click(f"a[href='/screening/{cid}/mine']")
    page.wait_for_url(f"**/screening/{cid}/mine")
    assert page.locator("#my-to-visit li[id^=visit-]").count() == 2
    page.click(f"#visit-{v1} a")
    page.wait_for_selector("#visit-form")
    # Nothing chosen yet: the returnees' count and the day to come back are folded away.
    assert not page.is_visible("#revisit_on") and not page.is_visible("#returnees")
    page.click("label.choice-nobody_home")
    assert page.is_visible("#revisit_on") and not page.is_visible("#present")
    page.click("label.choice-seen")
    assert not page.is_visible("#revisit_on") and page.is_visible("#present") and page.is_visible("#item_mask")
    page.fill("#present", "3")
    page.uncheck("#item_leaflet")
    page.fill("#notes", "已测体温，正常")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    for box in page.locator("label.choice").all():  # each choice a full tap target
        assert box.bounding_box()["height"] >= 44
    # caret="initial": Playwright hides the caret with a <style> of its own, which the next htmx swap
    # would carry over and the CSP refuse (a console error that is the test's, not the page's).
    page.screenshot(path=str(SCREENSHOTS / "screening-visit.png"), full_page=True, caret="initial")
    page.click("#visit-form button[type=submit]")
    page.wait_for_url(f"**/screening/{cid}/mine")
    assert page.locator("#my-to-visit li[id^=visit-]").count() == 1
    assert "已记录" in page.inner_text("#toasts")
    assert _status(campaign, world.h1) == "seen"
    v = visit_of(campaign, world.h1)
    assert v.present == 3 and "leaflet" not in v.items_handed and v.notes == "已测体温，正常"
    db.session.commit()
    assert errors == [], errors
    context.close()


def test_without_javascript_a_mistake_keeps_what_was_typed(world, campaign, phone_nojs, live_server):
    v2, h2 = visit_of(campaign, world.h2).id, world.h2.id
    db.session.commit()
    login(phone_nojs, live_server.url, "head1", DEFAULT_PASSWORD)
    phone_nojs.goto(f"{live_server.url}/screening/visits/{v2}")
    phone_nojs.click("label.choice-returnees")
    phone_nojs.fill("#present", "")
    phone_nojs.fill("#notes", "儿子从西安返回")
    phone_nojs.click("#visit-form button[type=submit]")
    assert "在家几人" in phone_nojs.inner_text("#visit-form")
    assert phone_nojs.input_value("#notes") == "儿子从西安返回"
    assert phone_nojs.is_checked("#result-1")
    phone_nojs.fill("#present", "4")
    phone_nojs.fill("#returnees", "1")
    phone_nojs.click("#visit-form button[type=submit]")
    phone_nojs.wait_for_url(f"**/people/households/{h2}")
    assert _status(campaign, world.h2) == "returnees"
