"""The pages: permissions on every route, the item's actions with and without htmx, the
dashboard's tally, the export, circulars and interviews, bounded queries."""
import json
import re
from datetime import timedelta
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from gridapp.extensions import db
from gridapp.supervision import services
from gridapp.supervision.models import Circular, Inspection, Interview, RectificationItem
from gridapp.timeutil import utcnow
from tests.exports import confirmed, personal
from tests.grid.helpers import logged_in
from tests.supervision.factories import add_sup2, make_inspection, make_item

H = timedelta(hours=1)


def fresh(item_id):
    db.session.expire_all()
    item = db.session.get(RectificationItem, item_id)
    db.session.commit()
    return item


@pytest.fixture
def item(world):
    add_sup2(world)
    return make_item(world, now=utcnow(), photos=1)


def test_volunteer_sees_nothing_of_supervision(make_client, world, item):
    circular = services.issue_circular(world.sup, {"number": None, "title": "通报", "body": "x",
                                                   "issued_on": utcnow().date(), "item_ids": []})
    db.session.commit()
    vol = logged_in(make_client, "vol1")
    for url in ["/supervision/", "/supervision/items", f"/supervision/items/{item.id}", "/supervision/inspections",
                f"/supervision/inspections/{item.finding.inspection_id}", "/supervision/inspections/new",
                "/supervision/circulars", f"/supervision/circulars/{circular.id}", "/supervision/interviews",
                "/supervision/items.xlsx", "/supervision/circulars/new", "/supervision/interviews/new"]:
        assert vol.get(url).status_code == 403, url
    for action in ("acknowledge", "submit", "verify", "reject", "comments", "extend", "owner"):
        assert vol.post(f"/supervision/items/{item.id}/{action}", {"body": "x"}).status_code == 403
    assert "/supervision/" not in vol.get("/").get_data(as_text=True)


# (method, url, data, a user who may, their status, a user who must be refused)
ROUTES = [
    ("get", lambda w, i: "/supervision/", None, "sup1", 200, "nobody"),
    ("get", lambda w, i: "/supervision/inspections", None, "leader", 200, "pm1"),
    ("get", lambda w, i: "/supervision/", None, "leader", 200, "vol1"),
    ("get", lambda w, i: "/supervision/items", None, "pm1", 200, "vol1"),
    ("get", lambda w, i: f"/supervision/items/{i.id}", None, "pm1", 200, "pm2"),
    ("get", lambda w, i: f"/supervision/items/{i.id}", None, "secretary1", 200, "secretary2"),
    ("get", lambda w, i: "/supervision/inspections/new", None, "sup1", 200, "leader"),
    ("post", lambda w, i: f"/supervision/inspections/{i.finding.inspection_id}/findings",
     {"category": "sanitation", "severity": "minor", "description": "垃圾未清运"}, "sup1", 302, "pm1"),
    ("post", lambda w, i: f"/supervision/items/{i.id}/acknowledge", {}, "pm1", 303, "sup1"),
    ("post", lambda w, i: f"/supervision/items/{i.id}/verify", {}, "sup2", 303, "pm1"),  # owner cannot verify
    ("post", lambda w, i: f"/supervision/items/{i.id}/extend",
     {"due_at": (utcnow() + 100 * H).strftime("%Y-%m-%dT%H:%M"), "reason": "x"}, "leader", 303, "sup1"),
    ("post", lambda w, i: f"/supervision/items/{i.id}/comments", {"body": "请尽快"}, "secretary1", 303, "secretary2"),
    ("post", lambda w, i: f"/supervision/items/{i.id}/owner", lambda w: {"owner_id": str(w.head1.id)}, "sup1", 303,
     "leader"),
    ("get", lambda w, i: "/supervision/items.xlsx", None, "leader", 200, "pm1"),
    ("get", lambda w, i: "/supervision/items.xlsx", None, "secretary1", 200, "gridder1"),
    ("get", lambda w, i: f"/supervision/items/{i.id}/photos/{i.photos[0].id}", None, "pm1", 200, "pm2"),
    ("get", lambda w, i: f"/supervision/items/{i.id}/photos/{i.photos[0].id}", None, "secretary1", 200,
     "secretary2"),
    ("get", lambda w, i: "/supervision/circulars", None, "gridder1", 200, "vol1"),
    ("get", lambda w, i: "/supervision/interviews/new", None, "sup1", 200, "leader"),
    ("get", lambda w, i: "/supervision/circulars/new", None, "sup1", 200, "secretary1"),
]


@pytest.mark.parametrize("method,url,data,allowed,status,refused", ROUTES)
def test_route_permissions(make_client, world, item, method, url, data, allowed, status, refused):
    target = url(world, item)
    data = data(world) if callable(data) else data
    db.session.commit()
    denied = logged_in(make_client, refused)
    resp = denied.get(target) if method == "get" else denied.post(target, data)
    assert resp.status_code == 403
    ok = logged_in(make_client, allowed)
    if target.endswith(".xlsx"):
        ok.confirm_password()  # an export asks for it once permitted
    resp = ok.get(target) if method == "get" else ok.post(target, data)
    assert resp.status_code == status, resp.get_data(as_text=True)[:2000]


def test_unannounced_inspection_is_hidden_until_it_has_taken_place(make_client, world):
    planned = make_inspection(world, kind="unannounced", planned_at=utcnow() + 48 * H)
    done = make_inspection(world, kind="unannounced", planned_at=utcnow() - H)
    leader = logged_in(make_client, "leader")
    assert leader.get(f"/supervision/inspections/{planned.id}").status_code == 403
    assert leader.get(f"/supervision/inspections/{done.id}").status_code == 200
    listing = leader.get("/supervision/inspections").get_data(as_text=True)
    assert listing.count(f"/supervision/inspections/{done.id}\"") == 1
    assert f"/supervision/inspections/{planned.id}\"" not in listing
    sup = logged_in(make_client, "sup1")
    assert sup.get(f"/supervision/inspections/{planned.id}").status_code == 200


def test_plan_an_inspection_and_record_a_finding(make_client, world):
    sup = logged_in(make_client, "sup1")
    resp = sup.post("/supervision/inspections/new", {"kind": "unannounced", "planned_at": "2026-03-02T21:30",
                                                     "target": f"compound:{world.k2.id}", "participants": "甲、乙",
                                                     "summary": ""})
    assert resp.status_code == 302
    inspection = db.session.scalars(select(Inspection)).one()
    assert inspection.target_name == "育才楼院" and inspection.planned_at.hour == 13  # 21:30 in the town, UTC
    resp = sup.post(f"/supervision/inspections/{inspection.id}/findings",
                    {"category": "no_temperature_check", "severity": "critical", "description": "门岗无人"},
                    follow_redirects=True)
    item = db.session.scalars(select(RectificationItem)).one()
    assert item.owner_id == world.pm2.id and item.due_at - item.issued_at == 4 * H
    assert f"#{item.id}" in resp.get_data(as_text=True)


def test_bad_input_shows_the_form_again(make_client, world):
    sup = logged_in(make_client, "sup1")
    resp = sup.post("/supervision/inspections/new", {"kind": "routine", "planned_at": "", "target": "",
                                                     "participants": "保留的名字", "summary": ""})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "保留的名字" in html and 'class="error"' in html
    assert db.session.scalars(select(Inspection)).all() == []


def test_owner_acknowledges_and_submits_then_another_supervisor_verifies(make_client, world, item):
    pm = logged_in(make_client, "pm1")
    page = pm.get(f"/supervision/items/{item.id}").get_data(as_text=True)
    assert "/acknowledge" in page and "/verify" not in page
    resp = pm.htmx_post(f"/supervision/items/{item.id}/acknowledge")
    assert resp.status_code == 200 and "HX-Trigger" in resp.headers
    assert resp.get_data(as_text=True).lstrip().startswith('<section class="card" id="item-')  # the fragment only
    resp = pm.post(f"/supervision/items/{item.id}/submit", {"evidence": ""})
    assert resp.status_code == 422 and 'class="error"' in resp.get_data(as_text=True)
    assert fresh(item.id).status == "acknowledged"
    assert pm.post(f"/supervision/items/{item.id}/submit", {"evidence": "已安排两人值守"}).status_code == 303
    assert pm.post(f"/supervision/items/{item.id}/verify", {}).status_code == 403  # an owner cannot verify
    sup2 = logged_in(make_client, "sup2")
    page = sup2.get(f"/supervision/items/{item.id}").get_data(as_text=True)
    assert "已安排两人值守" in page and "/verify" in page
    sup2.post(f"/supervision/items/{item.id}/verify", {"note": "复查合格"})
    assert fresh(item.id).status == "verified"
    # A second check arrives late: it is refused with who won, and nothing changes.
    sup1 = logged_in(make_client, "sup1")
    resp = sup1.post(f"/supervision/items/{item.id}/reject", {"reason": "晚了"}, follow_redirects=True)
    assert "已由 Sup2 核验" in resp.get_data(as_text=True)
    resp = sup1.htmx_post(f"/supervision/items/{item.id}/reject", {"reason": "晚了"})
    assert "Sup2" in json.loads(resp.headers["HX-Trigger"])["gridapp:toast"]["message"] and resp.status_code == 409
    assert fresh(item.id).status == "verified"


def test_the_town_leader_extends_with_a_reason(make_client, world, item):
    leader = logged_in(make_client, "leader")
    old_due = item.due_at
    resp = leader.post(f"/supervision/items/{item.id}/extend", {"due_at": "", "reason": "x"})
    assert resp.status_code == 422 and 'class="error"' in resp.get_data(as_text=True)
    new_local = (old_due + 48 * H).astimezone(ZoneInfo("Asia/Shanghai"))
    leader.post(f"/supervision/items/{item.id}/extend", {"due_at": new_local.strftime("%Y-%m-%dT%H:%M"),
                                                         "reason": "节日物资", "seen_due_at": old_due.isoformat()})
    assert fresh(item.id).due_at == (old_due + 48 * H).replace(second=0, microsecond=0)
    page = leader.get(f"/supervision/items/{item.id}").get_data(as_text=True)
    assert "节日物资" in page


def test_dashboard_tally_and_bounded_queries(make_client, world, count_queries):
    sup = logged_in(make_client, "sup1")
    for _ in range(2):
        make_item(world, now=utcnow() - 30 * H)
    services.escalate_overdue()
    db.session.commit()
    sup.get("/supervision/")
    with count_queries() as few:
        html = sup.get("/supervision/").get_data(as_text=True)
    assert "印发通报 0 期、督办整改问题 2 条" in html
    assert html.count('id="item-row-') == 2
    for _ in range(8):
        make_item(world, target=world.k3, category="sanitation", now=utcnow() - 30 * H)
    services.escalate_overdue()
    db.session.commit()
    with count_queries() as many:
        html = sup.get("/supervision/").get_data(as_text=True)
    assert "督办整改问题 10 条" in html and html.count('id="item-row-') == 10
    assert few["n"] == many["n"]
    with count_queries() as listing:
        resp = sup.get("/supervision/items")
    assert resp.status_code == 200 and listing["n"] <= few["n"] + 2


def test_item_page_queries_do_not_grow_with_history(make_client, world, item, count_queries):
    sec = logged_in(make_client, "secretary1")
    sec.post(f"/supervision/items/{item.id}/comments", {"body": "一"})
    sec.get(f"/supervision/items/{item.id}")
    with count_queries() as few:
        sec.get(f"/supervision/items/{item.id}")
    for i in range(6):
        sec.post(f"/supervision/items/{item.id}/comments", {"body": f"评论{i}"})
    with count_queries() as many:
        html = sec.get(f"/supervision/items/{item.id}").get_data(as_text=True)
    assert "评论5" in html and few["n"] == many["n"]


def test_excel_export(make_client, world, item):
    from openpyxl import load_workbook

    resp = confirmed(logged_in(make_client, "sup1")).get(personal("/supervision/items.xlsx"))
    assert resp.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = list(load_workbook(BytesIO(resp.data)).active.iter_rows(values_only=True))
    assert len(rows) == 3 and rows[2][0] == item.id and rows[2][1] == "阳光小区" and rows[2][5] == "Pm1"


def test_circular_is_published_to_staff_and_printable(make_client, world, item):
    sup = logged_in(make_client, "sup1")
    resp = sup.post("/supervision/circulars/new", {"number": "1", "title": "关于卡口值守的通报",
                                                   "issued_on": "2026-03-02", "body": "第一段\n第二段",
                                                   "item_ids": [str(item.id)]})
    assert resp.status_code == 302
    circular = db.session.scalars(select(Circular)).one()
    resp = sup.post("/supervision/circulars/new", {"number": "1", "title": "重复", "issued_on": "2026-03-02",
                                                   "body": "x"})
    assert "下一个可用期号是 2" in resp.get_data(as_text=True)
    head = logged_in(make_client, "head1")
    page = head.get(f"/supervision/circulars/{circular.id}").get_data(as_text=True)
    assert "关于卡口值守的通报" in page and "阳光小区" in page
    printable = head.get(f"/supervision/circulars/{circular.id}/print").get_data(as_text=True)
    assert re.search(r"print\.[0-9a-f]{12}\.css", printable)
    assert 'class="topbar"' not in printable and "第二段" in printable


def test_record_an_interview(make_client, world, item):
    sup = logged_in(make_client, "sup1")
    resp = sup.post("/supervision/interviews/new", {"person_name": "红嘴鸥物业负责人", "interviewer": "督查组",
                                                    "held_on": "2026-03-02", "reason": "整改不力",
                                                    "item_ids": [str(item.id)]})
    assert resp.status_code == 302
    interview = db.session.scalars(select(Interview)).one()
    assert [i.id for i in interview.items] == [item.id]
    assert "红嘴鸥物业负责人" in logged_in(make_client, "leader").get("/supervision/interviews").get_data(as_text=True)


def test_a_rejected_item_goes_back_to_work_and_links_its_inspection(make_client, world, item):
    pm = logged_in(make_client, "pm1")
    pm.post(f"/supervision/items/{item.id}/acknowledge", {})
    pm.post(f"/supervision/items/{item.id}/submit", {"evidence": "已整改"})
    sup1 = logged_in(make_client, "sup1")
    page = sup1.get(f"/supervision/items/{item.id}").get_data(as_text=True)
    assert f'id="item-inspection" href="/supervision/inspections/{item.finding.inspection_id}"' in page
    sup1.post(f"/supervision/items/{item.id}/reject", {"reason": "照片不清楚"})
    assert fresh(item.id).status == "rejected"
    page = pm.get(f"/supervision/items/{item.id}").get_data(as_text=True)
    assert f"/supervision/items/{item.id}/submit" in page and f"/supervision/items/{item.id}/acknowledge" not in page
    assert pm.post(f"/supervision/items/{item.id}/submit", {"evidence": "补拍照片"}).status_code == 303
    assert fresh(item.id).status == "submitted"


def test_the_items_list_narrows_to_a_community_from_its_today_board(world, make_client):
    from tests.supervision.factories import make_item

    here = make_item(world, world.k1)  # c1
    there = make_item(world, world.k3)  # c2
    c = make_client()
    c.login("sup1")
    narrowed = c.get(f"/supervision/items?status=open&community={world.c1.id}").get_data(as_text=True)
    assert f'href="/supervision/items/{here.id}"' in narrowed
    assert f'href="/supervision/items/{there.id}"' not in narrowed
    both = c.get("/supervision/items?status=open").get_data(as_text=True)
    assert f'href="/supervision/items/{there.id}"' in both
    # Narrowing never widens: secretary1 asking for c2's items sees none of them.
    s = make_client()
    s.login("secretary1")
    assert f'/supervision/items/{there.id}"' not in s.get(
        f"/supervision/items?status=open&community={world.c2.id}").get_data(as_text=True)
    # The board of c1 links its numbers to the narrowed list.
    board = c.get(f"/today/?scope=community-{world.c1.id}").get_data(as_text=True)
    assert f"community={world.c1.id}" in board.split('id="panel-supervision"')[1]
