"""Every Excel export leaves personal columns out unless they are asked for explicitly, with a
reason, and then only after the password is typed again (after the permission check, so a refusal
stays a refusal). Each file names who exported it; each export, with or without personal columns,
is recorded with its reason."""
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from gridapp.auth.models import User
from gridapp.extensions import db
from gridapp.privacy.models import AccessRecord
from tests.exports import workbook

PERIOD = "start=2026-11-01&end=2026-11-20"
# (allowed, refused, url, what is recorded, how many personal columns the file has)
EXPORTS = [
    ("secretary1", "vol1", "/errands/export.xlsx?since=2026-11-01&until=2026-11-20", "export:errands", 3),
    ("sup1", "vol1", "/supervision/items.xlsx?" + PERIOD, "export:items", 2),
    ("leader", "vol1", "/disinfection/rounds.xlsx?" + PERIOD, "export:rounds", 2),
    ("secretary1", "vol1", "/duty/hours.xlsx?" + PERIOD, "export:duty_hours", 2),
    ("secretary1", "vol1", "/imports/export/households.xlsx", "export:households", 4),
    ("secretary1", "vol1", "/imports/export/accounts.xlsx", "export:accounts", 5),
]
REASON = "区疫情防控办核对独居老人名单"


def _headers(wb) -> list[list]:
    return [[c.value for c in next(ws.iter_rows(min_row=2, max_row=2))] for ws in wb]


def _records(what):
    db.session.expire_all()
    return db.session.scalars(select(AccessRecord).where(AccessRecord.what == what).order_by(AccessRecord.id)).all()


def _with(url, **params):
    joiner = "&" if "?" in url else "?"
    return url + joiner + "&".join(f"{k}={v}" for k, v in params.items())


@pytest.mark.parametrize("allowed,refused,url,what,n_personal", EXPORTS)
def test_an_export_without_personal_columns_asks_nothing_and_is_recorded(make_client, world, allowed, refused, url,
                                                                          what, n_personal):
    outsider = make_client()
    outsider.login(refused)
    assert outsider.get(url).status_code == 403
    assert outsider.get(_with(url, personal=1, reason=REASON)).status_code == 403  # refused before any prompt

    c = make_client()
    c.login(allowed)
    wb = workbook(c.get(url))
    heading = next(iter(wb)).cell(1, 1).value
    assert db.session.scalar(select(User.display_name).where(User.username == allowed)) in heading
    assert REASON not in heading
    (rec,) = _records(what)
    assert rec.kind == "export" and rec.user.username == allowed and not rec.personal and rec.reason == ""


@pytest.mark.parametrize("allowed,refused,url,what,n_personal", EXPORTS)
def test_personal_columns_need_a_reason_and_the_password(make_client, world, allowed, refused, url, what, n_personal):
    c = make_client()
    c.login(allowed)
    plain = _headers(workbook(c.get(url)))

    # Asked for without a reason: the form again, with its message and the filters kept; no file.
    resp = c.get(_with(url, personal=1, reason="x"))
    assert resp.status_code == 422 and 'name="reason"' in resp.text and 'class="error"' in resp.text
    for key, values in parse_qs(urlsplit(url).query).items():
        assert f'name="{key}" value="{values[0]}"' in resp.text

    asked_url = _with(url, personal=1, reason=REASON)
    asked = c.get(asked_url)
    assert asked.status_code == 303
    target = urlsplit(asked.headers["Location"])
    assert target.path == "/reauth"
    back = c.post(f"/reauth?{target.query}", {"password": "wrong-password-1"})
    assert back.status_code == 200  # the prompt again: no file
    back = c.post(f"/reauth?{target.query}", {"password": "correct-horse-42"})
    assert back.status_code == 302
    wb = workbook(c.get(back.headers["Location"]))
    personal = _headers(wb)
    assert sum(len(h) for h in personal) - sum(len(h) for h in plain) >= n_personal
    assert all(set(p) <= set(q) for p, q in zip(plain, personal, strict=True))  # the same columns, and more
    assert REASON in next(iter(wb)).cell(1, 1).value
    records = _records(what)
    assert [r.personal for r in records] == [False, True]
    assert records[1].reason == REASON and records[1].user.username == allowed


def test_the_households_file_carries_names_and_phones_only_when_asked(make_client, world):
    c = make_client()
    c.login("secretary1")
    c.confirm_password()
    cells = {v for ws in workbook(c.get("/imports/export/households.xlsx")) for row in ws.iter_rows(values_only=True)
             for v in row}
    assert "101" in cells and "张三" not in cells and world.h1.phone not in cells
    cells = {v for ws in workbook(c.get(_with("/imports/export/households.xlsx", personal=1, reason=REASON)))
             for row in ws.iter_rows(values_only=True) for v in row}
    assert "张三" in cells and world.h1.phone in cells
    (_plain, rec) = _records("export:households")
    assert rec.personal and rec.rows >= 2


def test_each_page_offers_the_file_with_and_without_personal_columns(make_client, world):
    c = make_client()
    c.login("secretary1")
    for page, marker in (("/errands/staff", 'id="errand-export-personal"'),
                         ("/imports/", 'id="export-households-personal"'),
                         ("/duty/hours?" + PERIOD, 'id="hours-export-personal"')):
        html = c.get(page).text
        assert marker in html and 'name="reason"' in html, page


def test_a_reason_with_control_characters_is_refused_not_stored(make_client, world):
    c = make_client()
    c.login("secretary1")
    c.confirm_password()
    resp = c.get("/imports/export/households.xlsx?personal=1&reason=%E6%A0%B8%E5%AF%B9%00%1B%5B31m")
    assert resp.status_code == 422 and 'class="error"' in resp.text
    assert _records("export:households") == []
