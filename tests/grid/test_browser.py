"""A secretary edits a household on a phone: inline with htmx, and the same without JavaScript."""
import pytest

from gridapp.extensions import db
from gridapp.grid.models import Household
from tests.browser import SCREENSHOTS, login
from tests.conftest import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser


def _ids(world):
    """Read what the test needs, then end the transaction: the live server must not wait for it."""
    ids = {"k1": world.k1.id, "h1": world.h1.id, "h2": world.h2.id}
    db.session.commit()
    return ids


def _head_name(household_id):
    db.session.expire_all()
    name = db.session.get(Household, household_id).head_name
    db.session.commit()
    return name


def test_inline_edit_with_htmx_keeps_the_page(world, live_server, phone):
    ids = _ids(world)
    errors = []
    phone.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    login(phone, live_server.url, "secretary1", DEFAULT_PASSWORD)
    phone.goto(f"{live_server.url}/grid/compounds/{ids['k1']}")
    row = phone.locator(f"#household-{ids['h1']}")
    assert "张三" in row.inner_text()

    phone.evaluate("window.__marker = 1")  # lost if the page were loaded again
    row.locator("a.edit").click()
    name_input = phone.locator(f"#household-{ids['h1']}-head_name")
    name_input.wait_for()
    assert phone.url.endswith(f"/grid/compounds/{ids['k1']}")  # the form came inline
    name_input.fill("张三丰")
    row.locator("button[type=submit]").click()
    phone.locator(f"#household-{ids['h1']}:not(.editing)").wait_for()

    row_text = phone.locator(f"#household-{ids['h1']}").inner_text()
    assert "张三丰" in row_text
    assert phone.evaluate("window.__marker") == 1
    assert phone.url.endswith(f"/grid/compounds/{ids['k1']}")
    phone.locator("#toasts .toast").first.wait_for()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    phone.screenshot(path=str(SCREENSHOTS / "grid-household-edit.png"), full_page=True)
    assert _head_name(ids["h1"]) == "张三丰"
    # Nothing overflows sideways on a 360 px screen.
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    assert not [e for e in errors if "Content Security Policy" in e], errors


def test_the_same_edit_without_javascript(world, live_server, phone_nojs):
    ids = _ids(world)
    page = phone_nojs
    login(page, live_server.url, "secretary1", DEFAULT_PASSWORD)
    page.goto(f"{live_server.url}/grid/compounds/{ids['k1']}")
    page.locator(f"#household-{ids['h2']} a.edit").click()
    page.wait_for_url(f"**/grid/households/{ids['h2']}/edit")
    page.fill(f"#household-{ids['h2']}-head_name", "李四光")
    page.click("main form button[type=submit].primary")
    page.wait_for_url(f"**/grid/compounds/{ids['k1']}")
    assert "李四光" in page.locator(f"#household-{ids['h2']}").inner_text()
    assert _head_name(ids["h2"]) == "李四光"
