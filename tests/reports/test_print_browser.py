"""The daily report printed from a real browser: one A4 page, without the menu or the forms."""
import re

import pytest

from gridapp.auth.passwords import DEMO_PASSWORD
from gridapp.demo import liven, seed
from gridapp.extensions import db
from gridapp.reports.models import DailyReport
from tests.browser import SCREENSHOTS, login

pytestmark = pytest.mark.browser


def test_a_town_report_prints_on_one_a4_page(app, live_server, chromium):
    seed()
    liven()  # yesterday's reports
    db.session.commit()
    town_id = db.session.query(DailyReport.id).filter(DailyReport.community_id.is_(None)).scalar()
    db.session.close()  # no transaction of the test's own holds the database while the browser works
    context = chromium.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    login(page, live_server.url, "leader", DEMO_PASSWORD)
    page.goto(f"{live_server.url}/reports/{town_id}")
    assert "疫情防控工作日报" in page.inner_text("#report")
    page.screenshot(path=str(SCREENSHOTS / "report-town-phone.png"), full_page=True)
    page.emulate_media(media="print")
    assert not page.is_visible("header.topbar") and not page.is_visible("form")
    pdf = page.pdf(format="A4", print_background=False)
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", pdf))
    assert pages == 1, f"the report prints on {pages} pages"
    context.close()
