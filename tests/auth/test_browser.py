"""The invitee on a 360 px phone without JavaScript: opens the link, is refused a weak password with
the reason, sets a good one, lands logged in; the link then says it was used."""
import pytest
from werkzeug.security import check_password_hash

from gridapp.extensions import db
from tests.admin.helpers import fresh_user
from tests.browser import SCREENSHOTS
from tests.factories import make_invitation, make_invitee

pytestmark = pytest.mark.browser

PASSWORD = "maple-river-91"


def test_the_invitee_sets_a_password_on_a_phone_without_javascript(world, live_server, phone_nojs):
    user = make_invitee("zhangwei", ("volunteer", world.c1), display_name="张伟")
    _invitation, token = make_invitation(user, created_by=world.sec1)
    db.session.commit()  # the live server must not wait for the test's transaction
    page = phone_nojs
    opened = page.goto(f"{live_server.url}/invite/{token}")
    assert opened.status == 200
    text = page.inner_text("main")
    assert "设置密码" in text and "张伟" in text and "zhangwei" in text and "至少 8 个字符" in text
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    # A weak password: the reason, at the field, and nothing set.
    page.fill("input[name=new_password]", "zhangwei1990")
    page.fill("input[name=confirm]", "zhangwei1990")
    page.click("button[type=submit].primary")
    page.locator("#new_password-err").wait_for()
    assert "不能包含您的用户名、姓名或手机号" in page.inner_text("#new_password-err")
    assert fresh_user("zhangwei").password_hash is None
    db.session.commit()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "invitation-set-password.png"), full_page=True)

    page.fill("input[name=new_password]", PASSWORD)
    page.fill("input[name=confirm]", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{live_server.url}/")
    assert "张伟，密码已设置" in page.inner_text("#toasts")
    assert "张伟" in page.inner_text("header nav")  # logged in: the name in the navigation
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert check_password_hash(fresh_user("zhangwei").password_hash, PASSWORD)
    db.session.commit()

    again = page.goto(f"{live_server.url}/invite/{token}")
    assert again.status == 410 and "邀请已使用" in page.inner_text("main")
