"""A secretary imports her community's households on a phone: the file chosen, the preview read,
the import confirmed, and the progress followed to the report while a real RQ worker writes it —
with htmx (the status swaps itself in place) and without JavaScript (the page reloads itself)."""
import pytest
from sqlalchemy import func, select

from gridapp.extensions import db
from gridapp.grid.models import Household
from tests.browser import SCREENSHOTS, login
from tests.conftest import DEFAULT_PASSWORD
from tests.imports.helpers import HOUSEHOLD_HEADERS, xlsx_bytes
from tests.workers import start_worker

pytestmark = pytest.mark.browser


def _file(tmp_path, rows, name="住户登记表.xlsx"):
    path = tmp_path / name
    path.write_bytes(xlsx_bytes([HOUSEHOLD_HEADERS, *rows]))
    return path


def _rows(n, building="9"):
    return [["城关社区", "第一网格", "阳光小区", building, "1", str(100 + i), f"户主{i}", "", "否", "否"]
            for i in range(n)] + [["东城社区", "第三网格", "监管局家属楼", "1", "1", "1", "外人", "", "", ""]]


def _households():
    db.session.expire_all()
    count = db.session.scalar(select(func.count(Household.id)))
    db.session.commit()
    return count


def _stop(worker):
    import os
    import signal

    os.killpg(worker.pid, signal.SIGTERM)
    worker.wait(timeout=20)


def test_upload_preview_confirm_and_follow_the_job_with_htmx(app, world, live_server, phone, tmp_path):
    before = _households()
    errors = []
    phone.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    login(phone, live_server.url, "secretary1", DEFAULT_PASSWORD)
    phone.goto(f"{live_server.url}/imports/")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    phone.select_option("#kind", "households")
    phone.set_input_files("#file", str(_file(tmp_path, _rows(40))))
    phone.locator("form button.primary").click()
    phone.wait_for_url(lambda url: "/imports/" in url and url.rstrip("/").split("/")[-1].isdigit())
    assert phone.locator("#count-created").inner_text() == "40"
    assert phone.locator("#count-skipped").inner_text() == "1"
    assert "Outside your community" in phone.locator("#import-problems").inner_text()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    assert _households() == before  # the preview wrote nothing

    phone.locator("#import-status form button.primary").click()  # Import 40 rows, skip 1
    phone.wait_for_selector("#import-progress")
    url_while_waiting = phone.url
    worker = start_worker(app)
    try:
        # htmx polls the status and swaps the report in, without a navigation.
        phone.wait_for_selector("#count-created", timeout=30_000)
    finally:
        _stop(worker)
    assert phone.url == url_while_waiting
    assert phone.locator("#import-state").inner_text() == "Imported"
    assert phone.locator("#count-created").inner_text() == "40"
    assert _households() == before + 40
    phone.screenshot(path=str(SCREENSHOTS / "imports-report.png"), full_page=True)
    assert not errors


def test_without_javascript_the_page_reloads_itself_until_the_report(app, world, live_server, phone_nojs, tmp_path):
    before = _households()
    login(phone_nojs, live_server.url, "admin", DEFAULT_PASSWORD)
    phone_nojs.goto(f"{live_server.url}/imports/")
    phone_nojs.select_option("#kind", "households")
    phone_nojs.set_input_files("#file", str(_file(tmp_path, _rows(5, building="8"))))
    phone_nojs.locator("form button.primary").click()
    phone_nojs.wait_for_selector("#import-counts")
    phone_nojs.locator("#import-status form button.primary").click()
    phone_nojs.wait_for_selector("#import-progress")
    worker = start_worker(app)
    try:
        phone_nojs.wait_for_selector("#count-created", timeout=30_000)  # after a meta refresh
    finally:
        _stop(worker)
    # The administrator imports for the whole town: the row of 东城社区 is written too.
    assert phone_nojs.locator("#count-created").inner_text() == "6"
    assert _households() == before + 6
