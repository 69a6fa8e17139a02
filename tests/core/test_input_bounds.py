"""Bad input never gives a 500: page numbers, ids and dates out of range, control characters and
malformed text in fields, and `next` addresses that would leave the site."""
import importlib
import pkgutil
from datetime import timedelta

import pytest
from flask_wtf import FlaskForm
from sqlalchemy import func, select

import gridapp
from gridapp.core import params
from gridapp.core.forms import Form
from gridapp.errands.models import Errand
from gridapp.extensions import db
from gridapp.supervision.models import Inspection, Interview, RectificationItem
from gridapp.timeutil import to_local, utcnow
from tests.admin.helpers import logged_in
from tests.supervision.factories import add_sup2, make_item

HUGE = "99999999999999999999"
DATE_MESSAGE = "Enter a date between 2000 and 2100."
CONTROL_MESSAGE = "This field cannot contain control characters."
MALFORMED_MESSAGE = "This field contains characters that are not valid text."


def _raw_post(client, url, body: str):
    """A form body sent exactly as written (percent-escapes and all), with the CSRF token."""
    return client._open("post", url, data=f"csrf_token={client.token()}&{body}",
                        content_type="application/x-www-form-urlencoded")


@pytest.fixture
def item(world):
    add_sup2(world)
    return make_item(world, now=utcnow())


def _status(item_id):
    db.session.expire_all()
    return db.session.get(RectificationItem, item_id).status


# --- page numbers and ids ------------------------------------------------------------------------

@pytest.mark.parametrize("url", ["/supervision/items", "/supervision/inspections", "/supervision/interviews",
                                 "/supervision/circulars"])
def test_huge_page_numbers_on_the_supervision_lists(make_client, world, item, url):
    sup = logged_in(make_client, "sup1")
    for page in (HUGE, "-5", "abc", "1e9", "²"):
        assert sup.get(f"{url}?page={page}").status_code == 200, page


def test_huge_checkpoint_on_the_volunteers_shifts(make_client, world):
    vol = logged_in(make_client, "vol1")
    for value in (HUGE, str(2**31), "-1", "²"):
        assert vol.get(f"/duty/?checkpoint={value}").status_code == 200, value


def test_huge_community_on_the_roster_and_the_new_checkpoint_page(make_client, world):
    sec = logged_in(make_client, "secretary1")
    for value in (HUGE, str(2**31), "-1"):
        assert sec.get(f"/duty/roster?community={value}").status_code == 200, value
        assert sec.get(f"/duty/checkpoints/new?community={value}").status_code == 404, value
        assert sec.post(f"/duty/checkpoints/new?community={value}", {"name": "x"}).status_code == 404, value
    assert sec.get(f"/duty/checkpoints/new?community={world.c1.id}").status_code == 200


@pytest.mark.parametrize("ids", [[HUGE], [str(2**31)], ["-1"], ["1", HUGE]])
def test_huge_item_ids_of_an_interview_are_a_form_error(make_client, world, item, ids):
    sup = logged_in(make_client, "sup1")
    resp = sup.post("/supervision/interviews/new", {"person_name": "王五", "interviewer": "督查组",
                                                    "held_on": to_local(utcnow()).date().isoformat(),
                                                    "reason": "未整改", "item_ids": ids})
    assert resp.status_code == 422 and 'class="error"' in resp.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Interview.id))) == 0


def test_huge_ids_inside_choices_are_refused(make_client, world, item):
    """The inspection's team, the responsible person: a number too large for a row is not a choice."""
    sup = logged_in(make_client, "sup1")
    resp = sup.post("/supervision/inspections/new", {
        "kind": "routine", "planned_at": to_local(utcnow()).strftime("%Y-%m-%dT%H:%M"),
        "target": f"compound:{world.k1.id}", "team_ids": [HUGE]})
    assert resp.status_code == 422 and 'class="error"' in resp.get_data(as_text=True)
    resp = sup.post(f"/supervision/items/{item.id}/owner", {"owner_id": HUGE})
    assert resp.status_code == 422 and 'class="error"' in resp.get_data(as_text=True)


@pytest.mark.parametrize("token", ["a%00b", "%ED%A0%80", "x" * 3000, "%2e%2e"])
def test_a_calendar_feed_token_that_cannot_be_one_is_404(client, world, token):
    assert client.get(f"/duty/feed/{token}.ics").status_code == 404


# --- dates in the year 1 or 9999 -------------------------------------------------------------------

@pytest.mark.parametrize("query", ["start=0001-01-01", "end=9999-12-31", "start=9999-12-31&end=9999-12-31",
                                   "start=0001-01-01&end=0001-01-01", "start=2026-01-01&end=9999-12-31"])
def test_far_dates_on_the_supervision_dashboard(make_client, world, item, query):
    resp = logged_in(make_client, "sup1").get(f"/supervision/?{query}")
    assert resp.status_code == 200
    assert DATE_MESSAGE in resp.get_data(as_text=True)


@pytest.mark.parametrize("query", ["start=0001-01-01&end=0001-01-01", "start=9999-12-31", "end=9999-12-31",
                                   "start=2026-01-01&end=9999-12-31"])
def test_far_dates_in_the_item_export(make_client, world, item, query):
    resp = logged_in(make_client, "sup1").get(f"/supervision/items.xlsx?{query}")
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("application/vnd.openxmlformats")


@pytest.mark.parametrize("query", ["start=0001-01-01&end=0001-01-01", "start=9999-12-31&end=9999-12-31",
                                   "start=2026-01-01&end=9999-12-31"])
def test_far_dates_in_the_rounds_export(make_client, world, query):
    leader = logged_in(make_client, "leader")
    resp = leader.get(f"/disinfection/rounds.xlsx?{query}")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/disinfection/board")


@pytest.mark.parametrize("query", ["since=0001-01-01", "until=9999-12-31", "since=9999-12-31&until=9999-12-31"])
def test_far_dates_in_the_errand_export(make_client, world, query):
    resp = logged_in(make_client, "secretary1").get(f"/errands/export.xlsx?{query}")
    assert resp.status_code == 200 and DATE_MESSAGE in resp.get_data(as_text=True)


@pytest.mark.parametrize("needed_by", ["0001-01-01T00:00", "9999-12-31T23:59"])
def test_far_needed_by_time_of_an_errand(make_client, world, needed_by):
    head = logged_in(make_client, "head1")
    resp = head.post("/errands/new", {"household_id": str(world.h1.id), "category": "medicine", "items": "布洛芬",
                                      "needed_by_at": needed_by, "notes": "敲门三下"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and DATE_MESSAGE in html and "敲门三下" in html and needed_by in html
    assert db.session.scalar(select(func.count(Errand.id))) == 0


@pytest.mark.parametrize("due", ["0001-01-01T00:00", "9999-12-31T23:59"])
def test_far_due_time_when_extending(make_client, world, item, due):
    leader = logged_in(make_client, "leader")
    resp = leader.post(f"/supervision/items/{item.id}/extend", {"due_at": due, "reason": "节日"})
    assert resp.status_code == 422 and DATE_MESSAGE in resp.get_data(as_text=True)


@pytest.mark.parametrize("seen", ["0001-01-01", "9999-12-31T23:59", "2026-05-01T08:00", "x" * 100])
def test_a_far_or_naive_seen_due_time_is_ignored(make_client, world, item, seen):
    leader = logged_in(make_client, "leader")
    new_due = to_local(item.due_at + timedelta(hours=48)).strftime("%Y-%m-%dT%H:%M")
    resp = leader.post(f"/supervision/items/{item.id}/extend",
                       {"due_at": new_due, "reason": "节日", "seen_due_at": seen})
    assert resp.status_code == 303


@pytest.mark.parametrize("due", ["0001-01-01T00:00", "9999-12-31T23:59"])
def test_far_due_time_when_rejecting(make_client, world, item, due):
    pm = logged_in(make_client, "pm1")
    pm.post(f"/supervision/items/{item.id}/acknowledge")
    pm.post(f"/supervision/items/{item.id}/submit", {"evidence": "已安排两人值守"})
    assert _status(item.id) == "submitted"
    resp = logged_in(make_client, "sup2").post(f"/supervision/items/{item.id}/reject",
                                               {"reason": "不够", "due_at": due})
    assert resp.status_code == 422 and DATE_MESSAGE in resp.get_data(as_text=True)
    assert _status(item.id) == "submitted"


@pytest.mark.parametrize("planned", ["0001-01-01T00:00", "9999-12-31T23:59"])
def test_far_time_of_an_inspection(make_client, world, planned):
    resp = logged_in(make_client, "sup1").post("/supervision/inspections/new", {
        "kind": "routine", "planned_at": planned, "target": f"compound:{world.k1.id}"})
    assert resp.status_code == 422 and DATE_MESSAGE in resp.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Inspection.id))) == 0


@pytest.mark.parametrize("query", ["day=0001-01-01", "day=9999-12-31", "start=9999-12-31", "start=0001-01-01"])
def test_far_days_on_the_roster(make_client, world, query):
    assert logged_in(make_client, "secretary1").get(f"/duty/roster?{query}").status_code == 200


# --- numbers that are not numbers ------------------------------------------------------------------

@pytest.mark.parametrize("cost", ["sNaN", "NaN", "Infinity", "-Infinity"])
def test_an_estimated_cost_that_is_not_a_number(make_client, world, cost):
    head = logged_in(make_client, "head1")
    needed_by = to_local(utcnow() + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    resp = head.post("/errands/new", {"household_id": str(world.h1.id), "category": "medicine", "items": "布洛芬",
                                      "estimated_cost": cost, "needed_by_at": needed_by})
    assert resp.status_code == 422 and "Enter a number." in resp.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Errand.id))) == 0


@pytest.mark.parametrize("cost", ["sNaN", "Infinity"])
def test_an_actual_cost_that_is_not_a_number(app, cost):
    from gridapp.errands.forms import PurchaseForm

    with app.test_request_context("/", method="POST", data={"actual_cost": cost}):
        form = PurchaseForm(meta={"csrf": False})
        assert not form.validate()
        assert form.actual_cost.errors == ["请输入数字。"] and form.actual_cost.data is None


# --- `next` --------------------------------------------------------------------------------------

def test_a_newline_in_the_next_of_the_language_switch(client, world):
    resp = client.post("/lang", {"lang": "en", "next": "/grid/\r\nSet-Cookie: evil=1"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    assert "evil" not in resp.headers.get("Set-Cookie", "")


OFF_SITE = ["/%09/evil.example", "//evil.example", "/\\evil.example", "\\/evil.example", "https://evil.example",
            "http:evil.example", "javascript:alert(1)", "/%2F/evil.example", "/%5Cevil.example", "/\t/evil.example",
            " //evil.example", "/\u3000/evil.example", "/\u202e/evil.example", "%2F%2Fevil.example",
            "/%0d%0aSet-Cookie:x=1", "/x\r\nSet-Cookie: x=1", "data:text/html,x", "///evil.example"]


@pytest.mark.parametrize("target", OFF_SITE)
def test_login_never_redirects_off_site(client, world, target):
    from urllib.parse import quote

    resp = client.post(f"/login?next={quote(target, safe='')}", {"username": "vol1", "password": "correct-horse-42"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/"


@pytest.mark.parametrize("target", OFF_SITE)
def test_safe_next_refuses_addresses_that_leave_the_site(target):
    assert params.safe_next(target) is None


@pytest.mark.parametrize("target", ["/", "/duty/?day=2026-05-01", "/grid/compounds/3?q=%E5%BC%A0%20%E4%B8%89",
                                    "/duty/roster?start=2026-05-01&page=2", "/supervision/items/4#comments"])
def test_safe_next_keeps_same_site_paths(target):
    assert params.safe_next(target) == target


def test_login_keeps_a_same_site_next(client, world):
    resp = client.post("/login?next=%2Fduty%2F%3Fday%3D2026-05-01",
                       {"username": "vol1", "password": "correct-horse-42"})
    assert resp.headers["Location"] == "/duty/?day=2026-05-01"


# --- control characters and malformed text in fields ----------------------------------------------

def test_every_form_is_built_on_the_shared_base():
    for module in pkgutil.walk_packages(gridapp.__path__, "gridapp."):
        if module.name.endswith(".forms"):
            importlib.import_module(module.name)

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    ours = {c for c in subclasses(FlaskForm) if c.__module__.startswith("gridapp.") and c is not Form}
    assert len(ours) > 30
    assert [c.__qualname__ for c in ours if not issubclass(c, Form)] == []


@pytest.mark.parametrize("value", ["甲\tLi", "甲\nLi", "甲\x00Li", "甲\x1b[31mLi", "甲\x7fLi", "甲\x85Li"])
def test_single_line_fields_refuse_control_characters(make_client, world, value):
    admin = logged_in(make_client, "admin")
    resp = admin.post(f"/admin/users/{world.vol1.id}", {"display_name": value})
    assert resp.status_code == 422 and CONTROL_MESSAGE in resp.get_data(as_text=True)
    db.session.expire_all()
    assert world.vol1.display_name == "Vol1"


def test_the_message_is_chinese_by_default(make_client, world):
    c = make_client()
    c.login("admin")
    c.confirm_password()  # an account change asks for it
    resp = c.post(f"/admin/users/{world.vol1.id}", {"display_name": "甲\x00乙"})
    assert "不能包含控制字符" in resp.get_data(as_text=True)


def test_multi_line_fields_keep_newlines_and_tabs_but_refuse_other_controls(make_client, world, item):
    sup = logged_in(make_client, "sup1")
    assert sup.post(f"/supervision/items/{item.id}/comments", {"body": "第一行\r\n第二行\t完"}).status_code == 303
    resp = sup.post(f"/supervision/items/{item.id}/comments", {"body": "第一行\x00第二行"})
    assert resp.status_code == 422 and CONTROL_MESSAGE in resp.get_data(as_text=True)
    page = sup.get(f"/supervision/items/{item.id}").get_data(as_text=True)
    assert "第二行\t完" in page.replace("\r\n", "\n").replace("第一行\n", "")


@pytest.mark.parametrize("raw", [b"\xed\xa0\x80", b"\xff\xfe", b"a\xc3", "\ufffd".encode()])
def test_malformed_text_is_a_form_error(make_client, world, item, raw):
    """Bytes that are not UTF-8 (an encoded lone surrogate among them) in a multipart form."""
    sup = logged_in(make_client, "sup1")
    body = (b"--B\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n" + sup.token().encode()
            + b"\r\n--B\r\nContent-Disposition: form-data; name=\"body\"\r\n\r\n" + raw + b"\r\n--B--\r\n")
    resp = sup._open("post", f"/supervision/items/{item.id}/comments", data=body,
                     content_type="multipart/form-data; boundary=B")
    assert resp.status_code == 422 and MALFORMED_MESSAGE in resp.get_data(as_text=True)


@pytest.mark.parametrize("raw", ["%ED%A0%80", "%ff%fe", "a%C3"])
def test_undecodable_escapes_in_a_plain_form_stay_as_typed(make_client, world, item, raw):
    """Werkzeug keeps an escape that does not decode to UTF-8 as the text it was: no 500, and the
    comment holds exactly those characters."""
    sup = logged_in(make_client, "sup1")
    assert _raw_post(sup, f"/supervision/items/{item.id}/comments", f"body={raw}").status_code == 303
    assert raw.upper() in sup.get(f"/supervision/items/{item.id}").get_data(as_text=True).upper()


def test_a_lone_surrogate_given_directly_is_refused():
    assert params.text_problem("a\ud800b") == "malformed"
    assert params.text_problem("a\ud800b", multiline=True) == "malformed"
    assert params.text_problem("第一行\n第二行\t", multiline=True) is None
    assert params.text_problem("第一行\n") == "control"


@pytest.mark.parametrize("url", ["/grid/households/?q={v}", "/admin/users?q={v}", "/errands/new?q={v}",
                                 "/errands/new/households?q={v}", "/admin/audit?actor={v}&action={v}"])
@pytest.mark.parametrize("value", ["%00", "%ED%A0%80", "a%1b%5b31m"])
def test_searches_with_control_or_malformed_characters(make_client, world, url, value):
    user = "admin" if "/admin/" in url else ("secretary1" if "/errands/" in url else "admin")
    assert logged_in(make_client, user).get(url.format(v=value)).status_code == 200


def test_compound_search_with_a_nul(make_client, world):
    assert logged_in(make_client, "secretary1").get(f"/grid/compounds/{world.k1.id}?q=%00").status_code == 200


# --- the parsing helpers --------------------------------------------------------------------------

def test_parse_id_takes_only_row_ids():
    assert params.parse_id("42") == 42 and params.parse_id(" 7 ") == 7 and params.parse_id(2**31 - 1) == 2**31 - 1
    for bad in (HUGE, str(2**31), "0", "-1", "²", "٣", "1e3", "", None, "x" * 100_000, True, 2**31):
        assert params.parse_id(bad) is None, bad


def test_page_numbers_are_clamped(app):
    for raw, pages, expected in ((HUGE, 10, 10), ("-5", 10, 1), ("abc", 10, 1), ("3", 10, 3), ("²", 10, 1),
                                 (HUGE, params.MAX_PAGE * 10, params.MAX_PAGE), ("9" * 5000, 5, 5)):
        with app.test_request_context(f"/?page={raw}"):
            assert params.page_arg(pages) == expected, raw


def test_dates_are_kept_within_the_window():
    assert params.parse_date("2026-05-01").isoformat() == "2026-05-01"
    for bad in ("0001-01-01", "9999-12-31", "1999-12-31", "2101-01-01", "2026-02-30", "²⁰²⁶-01-01", "x" * 1000):
        assert params.parse_date(bad) is None, bad
    assert params.parse_datetime("2026-05-01T08:00:00+00:00") is not None
    for bad in ("2026-05-01T08:00", "0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59+14:00"):
        assert params.parse_datetime(bad) is None, bad
