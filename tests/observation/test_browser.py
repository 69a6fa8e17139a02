"""The personal link on a 360×740 phone with JavaScript off: one form, the temperature and a symptom,
recorded as a self-report, the fever alert raised."""
from datetime import timedelta

from sqlalchemy import select

from gridapp.extensions import db
from gridapp.observation import services
from gridapp.observation.models import FeverFollowUp, ObservationCheck
from gridapp.timeutil import pin_clock
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
