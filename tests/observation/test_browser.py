"""On a 360×740 phone: the building head records a check (a fever) in a few taps, the grid member
marks the call and closes the follow-up; and the personal link with JavaScript off: one form, the
temperature and a symptom, recorded as a self-report, the fever alert raised."""
from datetime import timedelta

from sqlalchemy import select

from gridapp.extensions import db
from gridapp.observation import services
from gridapp.observation.models import FeverFollowUp, ObservationCheck
from gridapp.timeutil import pin_clock
from tests.browser import login
from tests.conftest import DEFAULT_PASSWORD
from tests.observation.factories import T0, start


def test_the_person_reports_through_the_link_on_a_phone_without_javascript(world, live_server, phone_nojs):
    try:
        obs = start(world)
        pin_clock(T0 + timedelta(hours=2))  # 09:00: the morning check is due
        token = services.make_link(obs, world.gm1)
        db.session.commit()
        page = phone_nojs
        opened = page.goto(f"{live_server.url}/observation/self/{token}")
        assert opened.status == 200
        text = page.inner_text("main")
        assert "健康监测" in text and "08:00" in text and "王小明" not in text
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        page.fill("input[name=temperature]", "37.6")
        page.check("input[name=cough]")
        page.click("button[type=submit].primary")
        page.wait_for_load_state()
        assert "已收到您的填报" in page.inner_text("main")
        assert "18:00" in page.inner_text("main")  # the next check, for the evening
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        db.session.expire_all()
        (check,) = db.session.scalars(select(ObservationCheck).where(ObservationCheck.status == "done")).all()
        assert (check.method, str(check.temperature), check.cough, check.done_by_id) == ("self", "37.6", True, None)
        assert db.session.scalars(select(FeverFollowUp.check_id)).all() == [check.id]
    finally:
        pin_clock(None)


def test_the_building_head_records_a_check_and_the_grid_member_follows_up_on_a_phone(world, live_server, chromium):
    try:
        obs_id = start(world).id
        pin_clock(T0 + timedelta(hours=2))  # 09:00: the morning check is due
        db.session.commit()  # no transaction of the test's left open while the server writes
        context = chromium.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN")
        page = context.new_page()
        login(page, live_server.url, "head1", DEFAULT_PASSWORD)
        page.goto(f"{live_server.url}/observation/{obs_id}")
        assert "登记 08:00 的健康监测" in page.inner_text("#record-check")
        page.fill("input[name=temperature]", "38.1")
        page.check("input[name=method][value=in_person]")
        page.click("#record-check button[type=submit].primary")
        page.wait_for_selector("#followups")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        assert "待随访" in page.inner_text("#followups")
        context.close()

        context = chromium.new_context(viewport={"width": 360, "height": 740}, locale="zh-CN")
        page = context.new_page()
        login(page, live_server.url, "gridder1", DEFAULT_PASSWORD)
        page.goto(f"{live_server.url}/observation/{obs_id}")
        page.fill(".followup-call textarea[name=note]", "已电话联系，体温复测37.9")
        page.click(".followup-call button[type=submit]")
        page.wait_for_selector(".followup-close")
        followups = page.inner_text("#followups")
        assert "已于" in followups and "体温复测37.9" in followups and "待随访" in followups
        assert page.locator(".followup-call").count() == 0  # called once; the follow-up stays open
        page.check(".followup-close input[name=outcome][value=referred]")
        page.click(".followup-close button[type=submit]")
        page.wait_for_selector(".followup-close", state="detached")
        assert "已转发热门诊" in page.inner_text("#followups")
        context.close()
        db.session.expire_all()
        (followup,) = db.session.scalars(select(FeverFollowUp)).all()
        assert (followup.outcome, followup.called_by_id, followup.closed_by_id) == (
            "referred", world.gm1.id, world.gm1.id)
        (check,) = db.session.scalars(select(ObservationCheck).where(ObservationCheck.status == "done")).all()
        assert (check.method, str(check.temperature), check.done_by_id) == ("in_person", "38.1", world.head1.id)
    finally:
        pin_clock(None)
