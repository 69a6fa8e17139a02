"""Every Excel export carries people's names out of gridapp: it asks for the password again first
(after the permission check, so a refusal stays a refusal), then sends the very file asked for."""
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.exports import workbook

PERIOD = "start=2026-11-01&end=2026-11-20"
EXPORTS = [
    ("secretary1", "vol1", "/errands/export.xlsx?since=2026-11-01&until=2026-11-20"),
    ("sup1", "vol1", "/supervision/items.xlsx?" + PERIOD),
    ("leader", "vol1", "/disinfection/rounds.xlsx?" + PERIOD),
    ("secretary1", "vol1", "/duty/hours.xlsx?" + PERIOD),
    ("secretary1", "vol1", "/imports/export/households.xlsx"),
]


@pytest.mark.parametrize("allowed,refused,url", EXPORTS)
def test_an_export_asks_for_the_password_again(make_client, world, allowed, refused, url):
    outsider = make_client()
    outsider.login(refused)
    assert outsider.get(url).status_code == 403  # refused before any prompt

    c = make_client()
    c.login(allowed)
    asked = c.get(url)
    assert asked.status_code == 303
    target = urlsplit(asked.headers["Location"])
    assert target.path == "/reauth" and parse_qs(target.query)["next"] == [url]

    back = c.post(f"/reauth?{target.query}", {"password": "wrong-password-1"})
    assert back.status_code == 200  # the prompt again, with its message: no file
    assert c.get(url).status_code == 303

    back = c.post(f"/reauth?{target.query}", {"password": "correct-horse-42"})
    assert back.status_code == 302 and back.headers["Location"] == url
    workbook(c.get(url))  # the file, and the next export within the window asks nothing
    workbook(c.get(url))
