"""An administrator on a phone: the account pages fit 360 px, hold the strict CSP, and the
roles section works with htmx (in place) and without JavaScript (a plain form and redirect);
a change asks for the password again first (htmx: HX-Redirect to the page that asks)."""
import pytest

from gridapp.extensions import db
from tests.admin.helpers import fresh_user
from tests.browser import SCREENSHOTS, login
from tests.conftest import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser


def _ids(world):
    ids = {"nobody": world.nobody.id, "c2": world.c2.id, "g1": world.g1.id, "sec1": world.sec1.id}
    db.session.commit()  # the live server must not wait for the test's transaction
    return ids


def _roles(username):
    roles = sorted((ra.role, ra.scope_type, ra.scope_id) for ra in fresh_user(username).roles)
    db.session.commit()
    return roles


def _confirm_password(page, base_url):
    page.goto(f"{base_url}/reauth")
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(lambda url: "/reauth" not in url)


def test_assign_and_remove_a_role_in_place_with_htmx(world, live_server, phone):
    ids = _ids(world)
    errors = []
    phone.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    phone.on("dialog", lambda dialog: dialog.accept())  # the "remove this role?" confirmation
    login(phone, live_server.url, "admin", DEFAULT_PASSWORD)
    for path in ("/admin/users", f"/admin/users/{ids['sec1']}", "/admin/audit"):
        phone.goto(live_server.url + path)
        assert phone.evaluate("document.documentElement.scrollWidth") <= 360, path

    # The first change asks for the password again (htmx follows HX-Redirect), then comes back.
    phone.goto(f"{live_server.url}/admin/users/{ids['nobody']}")
    phone.select_option("#role", "secretary")
    phone.select_option("#scope", f"community:{ids['c2']}")
    phone.locator("#roles button.primary").click()
    phone.wait_for_url(lambda url: "/reauth?next=" in url)
    assert "请再次输入密码" in phone.content()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    assert _roles("nobody") == []  # nothing was changed yet
    phone.fill("input[name=password]", DEFAULT_PASSWORD)
    phone.click("button[type=submit].primary")
    phone.wait_for_url(f"**/admin/users/{ids['nobody']}")

    phone.evaluate("window.__marker = 1")  # lost if the page were loaded again
    phone.select_option("#role", "secretary")
    phone.select_option("#scope", f"community:{ids['c2']}")
    phone.locator("#roles button.primary").click()
    phone.locator("#roles li[id^=role-]").wait_for()
    assert "东城社区" in phone.locator("#roles").inner_text()
    assert phone.evaluate("window.__marker") == 1
    phone.locator("#toasts .toast").first.wait_for()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    phone.screenshot(path=str(SCREENSHOTS / "admin-user-roles.png"), full_page=True)
    assert _roles("nobody") == [("secretary", "community", ids["c2"])]

    # A place of the wrong kind: the message comes inline, nothing is saved.
    phone.select_option("#role", "grid_member")
    phone.select_option("#scope", f"community:{ids['c2']}")
    phone.locator("#roles button.primary").click()
    phone.locator("#roles .error").first.wait_for()
    assert _roles("nobody") == [("secretary", "community", ids["c2"])]

    phone.locator("#roles li[id^=role-] button").click()
    phone.get_by_text("暂无角色。").wait_for()
    assert phone.evaluate("window.__marker") == 1
    assert _roles("nobody") == []
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    assert not [e for e in errors if "Content Security Policy" in e], errors


def test_assign_a_role_without_javascript(world, live_server, phone_nojs):
    ids = _ids(world)
    page = phone_nojs
    login(page, live_server.url, "admin", DEFAULT_PASSWORD)
    _confirm_password(page, live_server.url)
    page.goto(f"{live_server.url}/admin/users/{ids['nobody']}")
    page.select_option("#role", "grid_member")
    page.select_option("#scope", f"grid:{ids['g1']}")
    page.locator("#roles button.primary").click()
    page.wait_for_url(f"**/admin/users/{ids['nobody']}#roles")
    assert "角色已分配。" in page.locator("#toasts").inner_text() or "第一网格" in page.locator("#roles").inner_text()
    assert _roles("nobody") == [("grid_member", "grid", ids["g1"])]
