"""Every grid route, with a user who may and a user who must be refused (CONVENTIONS.md)."""
import pytest
from sqlalchemy import select

from gridapp.audit.models import AuditEvent
from gridapp.extensions import db
from tests.grid.helpers import logged_in

COMMUNITY = {"name": "城关社区", "kind": "community"}
GRID = {"name": "第一网格"}
COMPOUND = {"name": "阳光小区", "address": "城关镇建设路1号", "entrance": "西门", "property_company_id": "",
            "work_unit_id": ""}
HOUSEHOLD = {"building": "1", "unit": "1", "room": "101", "head_name": "张三", "phone": "13900000101"}
ORG = {"name": "红嘴鸥物业", "phone": "0939-5121001"}

# (method, url, form data, a user who may, the status they get, a user who must be refused)
ROUTES = [
    ("get", lambda w: "/grid/", None, "sup1", 200, "vol1"),
    ("get", lambda w: "/grid/", None, "pm1", 200, "nobody"),
    ("get", lambda w: "/grid/orgs", None, "unit1", 200, "vol1"),
    ("get", lambda w: "/grid/town/edit", None, "admin", 200, "leader"),
    ("post", lambda w: "/grid/town/edit", {"name": "城关镇"}, "admin", 302, "secretary1"),
    ("get", lambda w: "/grid/communities/new", None, "admin", 200, "secretary1"),
    ("post", lambda w: "/grid/communities/new", {"name": "王家坝城中村", "kind": "urban_village"}, "admin", 302,
     "leader"),
    ("get", lambda w: f"/grid/communities/{w.c1.id}", None, "head1", 200, "secretary2"),
    ("get", lambda w: f"/grid/communities/{w.c1.id}", None, "sup1", 200, "unit1"),
    ("get", lambda w: f"/grid/communities/{w.c1.id}/edit", None, "secretary1", 200, "gridder1"),
    ("post", lambda w: f"/grid/communities/{w.c1.id}/edit", COMMUNITY, "secretary1", 302, "secretary2"),
    ("get", lambda w: f"/grid/communities/{w.c1.id}/grids/new", None, "secretary1", 200, "gridder1"),
    ("post", lambda w: f"/grid/communities/{w.c1.id}/grids/new", {"name": "第四网格"}, "secretary1", 302,
     "secretary2"),
    ("get", lambda w: f"/grid/grids/{w.g1.id}", None, "gridder1", 200, "gridder3"),
    ("get", lambda w: f"/grid/grids/{w.g1.id}/edit", None, "secretary1", 200, "gridder1"),
    ("post", lambda w: f"/grid/grids/{w.g1.id}/edit", GRID, "admin", 302, "sup1"),
    ("get", lambda w: f"/grid/grids/{w.g1.id}/compounds/new", None, "secretary1", 200, "gridder1"),
    ("post", lambda w: f"/grid/grids/{w.g1.id}/compounds/new", {**COMPOUND, "name": "新村小区"}, "secretary1", 302,
     "pm1"),
    ("get", lambda w: f"/grid/compounds/{w.k1.id}", None, "pm1", 200, "secretary2"),
    ("get", lambda w: f"/grid/compounds/{w.k1.id}", None, "head1", 200, "pm2"),
    ("get", lambda w: f"/grid/compounds/{w.k3.id}", None, "unit1", 200, "gridder1"),
    ("get", lambda w: f"/grid/compounds/{w.k1.id}/edit", None, "secretary1", 200, "pm1"),
    ("post", lambda w: f"/grid/compounds/{w.k1.id}/edit", COMPOUND, "secretary1", 302, "gridder1"),
    ("get", lambda w: f"/grid/compounds/{w.k1.id}/households/new", None, "gridder1", 200, "head1"),
    ("post", lambda w: f"/grid/compounds/{w.k1.id}/households/new", {**HOUSEHOLD, "room": "501"}, "gridder1", 302,
     "gridder3"),
    ("get", lambda w: "/grid/households/", None, "head1", 200, "sup1"),
    ("get", lambda w: "/grid/households/", None, "gridder1", 200, "pm1"),
    ("get", lambda w: f"/grid/households/{w.h1.id}", None, "head1", 302, "pm1"),
    ("get", lambda w: f"/grid/households/{w.h1.id}/edit", None, "gridder1", 200, "head1"),
    ("get", lambda w: f"/grid/households/{w.h3.id}/edit", None, "secretary1", 200, "gridder1"),
    ("post", lambda w: f"/grid/households/{w.h1.id}/edit", HOUSEHOLD, "gridder1", 302, "secretary2"),
    ("post", lambda w: f"/grid/households/{w.h1.id}/edit", HOUSEHOLD, "admin", 302, "leader"),
    ("get", lambda w: "/grid/orgs/companies/new", None, "admin", 200, "secretary1"),
    ("post", lambda w: "/grid/orgs/units/new", {"name": "县人民医院", "phone": ""}, "admin", 302, "pm1"),
    ("get", lambda w: f"/grid/orgs/companies/{w.hzo.id}/edit", None, "admin", 200, "pm1"),
    ("post", lambda w: f"/grid/orgs/companies/{w.hzo.id}/edit", ORG, "admin", 302, "secretary1"),
]


def _changes():
    """Audit events of changes (not logins, not refusals): a refused request must add none."""
    return db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.action.not_in(["login", "login_failed", "logout", "denied"]))).all()


@pytest.mark.parametrize("route", ROUTES, ids=[f"{r[0]}-{i}-{r[3]}-vs-{r[5]}" for i, r in enumerate(ROUTES)])
def test_route_allows_one_user_and_refuses_another(make_client, world, route):
    method, url_of, data, may, code, refused = route
    url = url_of(world)

    denied = logged_in(make_client, refused)
    resp = denied.get(url) if method == "get" else denied.post(url, data)
    assert resp.status_code == 403, (refused, url)
    assert _changes() == []
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "denied")).first() is not None

    allowed = logged_in(make_client, may)
    resp = allowed.get(url) if method == "get" else allowed.post(url, data)
    assert resp.status_code == code, (may, url, resp.get_data(as_text=True)[:2000])
    if method == "post" and code == 302:
        assert len(_changes()) == 1


@pytest.mark.parametrize("route", ROUTES, ids=[f"{r[0]}-{i}" for i, r in enumerate(ROUTES)])
def test_anonymous_is_sent_to_login(client, world, route):
    method, url_of, data, *_ = route
    url = url_of(world)
    resp = client.get(url) if method == "get" else client.post(url, data)
    assert resp.status_code == 302
    assert "/login" in resp.headers["Location"]
    assert _changes() == []


@pytest.mark.parametrize("url", [
    "/grid/households/abc/edit", "/grid/communities/1x", "/grid/grids/-1", "/grid/compounds/99999",
    "/grid/households/99999/edit", "/grid/orgs/people/1/edit", "/grid/orgs/companies/zz/edit",
])
def test_unknown_or_malformed_ids_are_404(make_client, world, url):
    assert logged_in(make_client, "admin").get(url).status_code == 404


def test_pm_sees_the_compound_but_not_its_households(make_client, world):
    pm = logged_in(make_client, "pm1")
    page = pm.get(f"/grid/compounds/{world.k1.id}").get_data(as_text=True)
    assert "阳光小区" in page and "北门" in page
    assert "张三" not in page and "13900000101" not in page
    assert f"/grid/households/{world.h1.id}/edit" not in page
    assert pm.get(f"/grid/households/{world.h1.id}").status_code == 403


def test_supervisor_sees_places_but_not_households(make_client, world):
    sup = logged_in(make_client, "sup1")
    assert sup.get(f"/grid/grids/{world.g2.id}").status_code == 200
    page = sup.get(f"/grid/compounds/{world.k2.id}").get_data(as_text=True)
    assert "育才楼院" in page and "王五" not in page
    assert sup.get("/grid/households/").status_code == 403
    assert sup.get(f"/grid/households/{world.h3.id}").status_code == 403


def test_building_head_sees_households_without_edit_links(make_client, world):
    head = logged_in(make_client, "head1")
    page = head.get(f"/grid/compounds/{world.k1.id}").get_data(as_text=True)
    assert "张三" in page and "李四" in page
    assert "/edit" not in page.split('id="households"')[1]
    assert 'action="/grid/compounds/' not in page.split('id="households"')[1]  # no register form
    assert head.get(f"/grid/households/{world.h1.id}/edit").status_code == 403


def test_gridder_edits_households_of_their_grid_only(make_client, world):
    gm = logged_in(make_client, "gridder1")
    page = gm.get(f"/grid/compounds/{world.k1.id}").get_data(as_text=True)
    assert f"/grid/households/{world.h1.id}/edit" in page
    assert gm.get(f"/grid/households/{world.h1.id}/edit").status_code == 200
    assert gm.get(f"/grid/households/{world.h3.id}/edit").status_code == 403
    assert gm.get(f"/grid/compounds/{world.k2.id}").status_code == 403


def test_lists_show_only_the_places_in_scope(make_client, world):
    sec2 = logged_in(make_client, "secretary2")
    index = sec2.get("/grid/").get_data(as_text=True)
    assert "东城社区" in index and "城关社区" not in index
    pm = logged_in(make_client, "pm1")
    index = pm.get("/grid/").get_data(as_text=True)
    assert 'id="my-compounds"' in index and "阳光小区" in index and "育才楼院" not in index
    community = pm.get(f"/grid/communities/{world.c1.id}").get_data(as_text=True)
    assert "第一网格" in community and "第二网格" not in community


def test_town_leader_reads_households_but_does_not_edit_them(make_client, world):
    leader = logged_in(make_client, "leader")
    assert "王五" in leader.get("/grid/households/?q=王五").get_data(as_text=True)
    assert leader.get(f"/grid/households/{world.h3.id}/edit").status_code == 403
