"""Every download of the app, clicked in a real browser with JavaScript on: each one is a plain
navigation that the browser saves as a file — never a workbook swapped into the page by htmx."""
from io import BytesIO

import pytest
from openpyxl import load_workbook

from tests.browser import login
from tests.conftest import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser

# (who, page, what to click)
DOWNLOADS = [
    ("secretary1", "/duty/hours", "#hours-export"),
    ("sup1", "/supervision/", "#export-period"),
    ("secretary1", "/errands/staff", "#errand-export"),
    ("leader", "/disinfection/board", "#rounds-export"),
    ("admin", "/imports/", "a[href$='/imports/template/households.xlsx']"),
    ("secretary1", "/imports/", "a[href$='/imports/export/households.xlsx']"),
]


@pytest.mark.parametrize("who,path,selector", DOWNLOADS, ids=[f"{p}{s}" for _w, p, s in DOWNLOADS])
def test_each_download_arrives_as_a_file(world, live_server, phone, who, path, selector):
    login(phone, live_server.url, who, DEFAULT_PASSWORD)
    # Exports ask for the password again first; type it now, as a person would when asked.
    phone.goto(f"{live_server.url}/reauth")
    phone.fill("input[name=password]", DEFAULT_PASSWORD)
    phone.click("button[type=submit].primary")
    phone.wait_for_url(lambda url: "/reauth" not in url)
    phone.goto(live_server.url + path)
    before = phone.content()
    with phone.expect_download() as download:
        phone.click(selector)
    saved = download.value
    assert saved.suggested_filename.endswith(".xlsx")
    load_workbook(BytesIO(open(saved.path(), "rb").read()))  # a whole workbook, not a page
    assert phone.url.startswith(live_server.url + path.split("?")[0])
    assert "PK\x03\x04" not in phone.content() and len(phone.content()) >= len(before) // 2
