"""The grid pages: inline (htmx) and plain edits, creation, search, pagination, headers, query counts."""
import json
from datetime import timedelta

from sqlalchemy import func, select

from gridapp.audit.models import AuditEvent
from gridapp.extensions import db
from gridapp.grid.models import Community, Compound, Grid, Household, Town
from gridapp.grid.services import town_today
from tests.factories import make_household
from tests.grid.helpers import add_households, logged_in

NEW_H1 = {"building": "1", "unit": "1", "room": "101", "head_name": "张三丰", "phone": "13811112222",
          "housebound": "y", "notes": "腿脚不便"}


def fresh(model, pk):
    """The row as the database has it now (requests ran in their own sessions)."""
    db.session.expire_all()
    return db.session.get(model, pk)


def listed(html, list_id="households"):
    """The inside of a page's list (the search box and footer also echo the query)."""
    return html.split(f'id="{list_id}"', 1)[1].split("</ul>", 1)[0]


def changes(action):
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


# --- htmx inline edit -------------------------------------------------------------------------------

def test_htmx_edit_returns_fragments_and_saves(make_client, world):
    sec = logged_in(make_client, "secretary1")
    url = f"/grid/households/{world.h1.id}/edit"

    form = sec.htmx_get(url)
    html = form.get_data(as_text=True)
    assert form.status_code == 200
    assert "<html" not in html
    assert html.lstrip().startswith(f'<li id="household-{world.h1.id}"')
    assert f'hx-post="{url}"' in html and f'hx-target="#household-{world.h1.id}"' in html
    assert 'name="csrf_token"' in html and 'value="张三"' in html
    assert "HX-Request" in form.headers["Vary"]

    saved = sec.htmx_post(url, NEW_H1)
    html = saved.get_data(as_text=True)
    assert saved.status_code == 200
    assert "<html" not in html and "<form" not in html
    assert f'id="household-{world.h1.id}"' in html and "张三丰" in html and "13811112222" in html
    assert "HX-Request" in saved.headers["Vary"]
    assert "gridapp:toast" in json.loads(saved.headers["HX-Trigger"])
    row = fresh(Household, world.h1.id)
    assert (row.head_name, row.phone, row.notes, row.living_alone) == ("张三丰", "13811112222", "腿脚不便", False)


def test_htmx_invalid_edit_returns_the_inline_form_with_errors(make_client, world):
    sec = logged_in(make_client, "secretary1")
    resp = sec.htmx_post(f"/grid/households/{world.h1.id}/edit", {**NEW_H1, "phone": "12ab"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "<html" not in html and f'hx-post="/grid/households/{world.h1.id}/edit"' in html
    assert "7 到 20 位数字" in html and 'value="12ab"' in html and 'value="张三丰"' in html
    assert fresh(Household, world.h1.id).head_name == "张三"


def test_post_without_csrf_token_is_refused(make_client, world):
    sec = logged_in(make_client, "secretary1")
    resp = sec.post(f"/grid/households/{world.h1.id}/edit", NEW_H1, csrf=False)
    assert resp.status_code == 400
    resp = sec.post(f"/grid/households/{world.h1.id}/edit", NEW_H1, csrf=False, headers={"HX-Request": "true"})
    assert resp.status_code == 400
    assert fresh(Household, world.h1.id).head_name == "张三"
    assert changes("household_updated") == []


def test_cancel_restores_the_row(make_client, world):
    sec = logged_in(make_client, "secretary1")
    resp = sec.htmx_get(f"/grid/households/{world.h1.id}")
    html = resp.get_data(as_text=True)
    assert html.lstrip().startswith(f'<li id="household-{world.h1.id}"') and "张三" in html
    assert resp.headers["Cache-Control"] == "no-store"
    plain = sec.get(f"/grid/households/{world.h1.id}")
    assert plain.status_code == 302 and f"/grid/compounds/{world.k1.id}" in plain.headers["Location"]


def test_htmx_edit_of_a_place_card(make_client, world):
    sec = logged_in(make_client, "secretary1")
    url = f"/grid/compounds/{world.k1.id}/edit"
    html = sec.htmx_get(url).get_data(as_text=True)
    assert html.lstrip().startswith(f'<section id="compound-{world.k1.id}"') and "<html" not in html
    resp = sec.htmx_post(url, {"name": "阳光小区", "address": "建设路1号", "entrance": "南门",
                               "property_company_id": "", "work_unit_id": str(world.unit.id)})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<form" not in html and "南门" in html and "县市场监管局" in html
    k1 = fresh(Compound, world.k1.id)
    assert (k1.entrance, k1.property_company_id, k1.work_unit_id) == ("南门", None, world.unit.id)


# --- plain (no-JS) edit -----------------------------------------------------------------------------

def test_plain_edit_redirects_and_saves(make_client, world):
    sec = logged_in(make_client, "secretary1")
    page = sec.get(f"/grid/households/{world.h1.id}/edit")
    assert page.status_code == 200 and "<html" in page.get_data(as_text=True)
    resp = sec.post(f"/grid/households/{world.h1.id}/edit", NEW_H1)
    assert resp.status_code == 302
    assert resp.headers["Location"].endswith(f"/grid/compounds/{world.k1.id}")
    assert fresh(Household, world.h1.id).head_name == "张三丰"
    assert "张三丰" in sec.get(resp.headers["Location"]).get_data(as_text=True)


def test_plain_invalid_edit_shows_the_form_with_input_and_messages(make_client, world):
    sec = logged_in(make_client, "secretary1")
    resp = sec.post(f"/grid/households/{world.h1.id}/edit", {**NEW_H1, "room": "", "phone": "12ab"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "<html" in html
    assert f'id="household-{world.h1.id}-room-err"' in html
    assert "7 到 20 位数字" in html
    assert 'value="12ab"' in html and 'value="张三丰"' in html and "腿脚不便" in html
    assert fresh(Household, world.h1.id).head_name == "张三"
    assert changes("household_updated") == []


def test_duplicate_room_is_a_form_error_not_a_crash(make_client, world):
    sec = logged_in(make_client, "secretary1")
    taken = {**NEW_H1, "room": "102"}  # h2's room in the same building and unit
    for resp in (sec.post(f"/grid/households/{world.h1.id}/edit", taken),
                 sec.htmx_post(f"/grid/households/{world.h1.id}/edit", taken),
                 sec.post(f"/grid/compounds/{world.k1.id}/households/new", taken)):
        assert resp.status_code == 422
        assert "已有登记住户" in resp.get_data(as_text=True)
    assert fresh(Household, world.h1.id).room == "101"
    assert db.session.scalar(select(func.count(Household.id))) == 4


def test_compound_cannot_have_both_a_company_and_a_unit(make_client, world):
    sec = logged_in(make_client, "secretary1")
    resp = sec.post(f"/grid/compounds/{world.k1.id}/edit", {
        "name": "阳光小区", "address": "", "entrance": "北门",
        "property_company_id": str(world.hzo.id), "work_unit_id": str(world.unit.id)})
    assert resp.status_code == 422
    assert "不能同时选择" in resp.get_data(as_text=True)
    assert fresh(Compound, world.k1.id).work_unit_id is None


def test_unknown_choice_is_a_form_error(make_client, world):
    sec = logged_in(make_client, "secretary1")
    resp = sec.post(f"/grid/compounds/{world.k1.id}/edit", {
        "name": "阳光小区", "property_company_id": "99999", "work_unit_id": "abc"})
    assert resp.status_code == 422
    assert fresh(Compound, world.k1.id).property_company_id == world.hzo.id


# --- audit --------------------------------------------------------------------------------------------

def test_household_edit_audit_names_personal_fields_without_values(make_client, world):
    sec = logged_in(make_client, "secretary1")
    sec.htmx_post(f"/grid/households/{world.h1.id}/edit", {**NEW_H1, "room": "101A"})
    (event,) = changes("household_updated")
    assert event.object_type == "Household" and event.object_id == world.h1.id
    assert event.actor_name == "secretary1"
    assert "head_name: changed" in event.summary and "phone: changed" in event.summary
    assert "notes: changed" in event.summary
    assert "room: changed" in event.summary and "101" not in event.summary
    for secret in ("张三", "张三丰", "13900000101", "13811112222", "腿脚不便"):
        assert secret not in event.summary
        assert secret not in event.object_name


# --- creation ---------------------------------------------------------------------------------------

def test_admin_creates_a_community(make_client, world):
    admin = logged_in(make_client, "admin")
    resp = admin.post("/grid/communities/new", {"name": "王家坝城中村", "kind": "urban_village"})
    assert resp.status_code == 302
    c = db.session.scalars(select(Community).where(Community.name == "王家坝城中村")).one()
    assert c.kind == "urban_village" and c.town_id == world.town.id
    assert resp.headers["Location"].endswith(f"/grid/communities/{c.id}")
    assert [e.object_id for e in changes("community_created")] == [c.id]
    dup = admin.post("/grid/communities/new", {"name": "王家坝城中村", "kind": "village"})
    assert dup.status_code == 422 and "已被使用" in dup.get_data(as_text=True)


def test_secretary_creates_grid_and_compound_in_their_community_only(make_client, world):
    sec = logged_in(make_client, "secretary1")
    assert sec.post(f"/grid/communities/{world.c1.id}/grids/new", {"name": "第四网格"}).status_code == 302
    grid = db.session.scalars(select(Grid).where(Grid.name == "第四网格")).one()
    assert grid.community_id == world.c1.id

    resp = sec.post(f"/grid/grids/{grid.id}/compounds/new", {
        "name": "金山花园", "address": "城关镇滨河路5号", "entrance": "西门",
        "property_company_id": str(world.yj.id), "work_unit_id": ""})
    assert resp.status_code == 302
    k = db.session.scalars(select(Compound).where(Compound.name == "金山花园")).one()
    assert (k.grid_id, k.property_company_id, k.entrance) == (grid.id, world.yj.id, "西门")

    assert sec.post(f"/grid/communities/{world.c2.id}/grids/new", {"name": "越权网格"}).status_code == 403
    assert sec.post(f"/grid/grids/{world.g3.id}/compounds/new", {"name": "越权小区"}).status_code == 403
    assert db.session.scalar(select(func.count(Grid.id)).where(Grid.name == "越权网格")) == 0
    assert db.session.scalar(select(func.count(Compound.id)).where(Compound.name == "越权小区")) == 0


def test_gridder_registers_a_household_in_their_grid(make_client, world):
    gm = logged_in(make_client, "gridder1")
    resp = gm.post(f"/grid/compounds/{world.k1.id}/households/new", {
        "building": "2", "unit": "1", "room": "501", "head_name": "钱七", "phone": "+86 139-1234-5678",
        "living_alone": "y", "observation_until": "2020-02-20"})
    assert resp.status_code == 302
    h = db.session.scalars(select(Household).where(Household.head_name == "钱七")).one()
    assert (h.compound_id, h.label, h.phone, h.living_alone, h.housebound) == (
        world.k1.id, "2-1-501", "+8613912345678", True, False)
    assert h.observation_until is None  # follows the people's observations, never typed
    assert gm.post(f"/grid/compounds/{world.k2.id}/households/new",
                   {"room": "9", "head_name": "越权"}).status_code == 403


def test_invalid_create_shows_the_form_again(make_client, world):
    gm = logged_in(make_client, "gridder1")
    resp = gm.post(f"/grid/compounds/{world.k1.id}/households/new", {"room": "601", "head_name": ""})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and 'value="601"' in html and 'aria-invalid="true"' in html
    assert db.session.scalar(select(func.count(Household.id))) == 4


def test_admin_manages_orgs_others_read(make_client, world):
    admin = logged_in(make_client, "admin")
    assert admin.post("/grid/orgs/companies/new", {"name": "东升物业", "phone": "0939-5121003"}).status_code == 302
    resp = admin.htmx_post(f"/grid/orgs/units/{world.unit.id}/edit", {"name": "县市场监督管理局", "phone": ""})
    assert resp.status_code == 200 and "县市场监督管理局" in resp.get_data(as_text=True)
    page = logged_in(make_client, "pm1").get("/grid/orgs").get_data(as_text=True)
    assert "东升物业" in page and "县市场监督管理局" in page
    assert "/edit" not in page and "/grid/orgs/companies/new" not in page


def test_admin_renames_the_town(make_client, world):
    admin = logged_in(make_client, "admin")
    resp = admin.htmx_post("/grid/town/edit", {"name": "城关镇人民政府"})
    assert resp.status_code == 200 and "城关镇人民政府" in resp.get_data(as_text=True)
    assert fresh(Town, world.town.id).name == "城关镇人民政府"


# --- search and pagination -------------------------------------------------------------------------

def test_compound_households_search_and_pages(app, make_client, world):
    app.config["PAGE_SIZE"] = 5
    add_households(world.k1, 12)  # 14 households in k1
    sec = logged_in(make_client, "secretary1")
    url = f"/grid/compounds/{world.k1.id}"

    first = sec.get(url).get_data(as_text=True)
    assert first.count('<li id="household-') == 5
    assert f"{url}?page=2" in first
    third = sec.get(f"{url}?page=3").get_data(as_text=True)
    assert third.count('<li id="household-') == 4 and f"{url}?page=2" in third
    assert sec.get(f"{url}?page=99").status_code == 200

    by_name = sec.get(f"{url}?q=张三").get_data(as_text=True)
    assert by_name.count('<li id="household-') == 1 and "张三" in by_name
    by_room = sec.get(f"{url}?q=102").get_data(as_text=True)
    assert f'id="household-{world.h2.id}"' in by_room and f'id="household-{world.h1.id}"' not in by_room
    by_phone = sec.get(f"{url}?q=13900001005").get_data(as_text=True)
    assert by_phone.count('<li id="household-') == 1 and "住户1005" in by_phone
    wildcard = sec.get(f"{url}?q=%25").get_data(as_text=True)
    assert '<li id="household-' not in wildcard


def test_pager_keeps_the_search(app, make_client, world):
    app.config["PAGE_SIZE"] = 5
    add_households(world.k1, 12, head_name="刘备")
    page = logged_in(make_client, "secretary1").get(f"/grid/compounds/{world.k1.id}?q=刘备").get_data(as_text=True)
    assert "page=2" in page and "q=%E5%88%98%E5%A4%87" in page


def test_household_search_is_scoped_and_filtered(make_client, world):
    h2 = db.session.get(Household, world.h2.id)
    h2.observation_until = town_today() + timedelta(days=3)
    db.session.get(Household, world.h3.id).observation_until = town_today() - timedelta(days=1)
    db.session.commit()

    sec = logged_in(make_client, "secretary1")
    everything = sec.get("/grid/households/").get_data(as_text=True)
    assert all(n in everything for n in ("张三", "李四", "王五")) and "赵六" not in everything
    assert "育才楼院" in everything  # rows name their compound here
    gm = logged_in(make_client, "gridder1").get("/grid/households/?q=王五").get_data(as_text=True)
    assert "王五" not in listed(gm)

    housebound = listed(sec.get("/grid/households/?housebound=y").get_data(as_text=True))
    assert "张三" in housebound and "李四" not in housebound
    observed = listed(sec.get("/grid/households/?observed=y").get_data(as_text=True))
    assert "李四" in observed and "王五" not in observed and "张三" not in observed
    by_compound = listed(sec.get("/grid/households/?q=育才").get_data(as_text=True))
    assert "王五" in by_compound and "张三" not in by_compound


def test_household_search_pages(app, make_client, world):
    app.config["PAGE_SIZE"] = 3
    add_households(world.k2, 5, head_name="王五")
    sec = logged_in(make_client, "secretary1")
    first = sec.get("/grid/households/?q=王五").get_data(as_text=True)
    assert first.count('<li id="household-') == 3 and "page=2" in first and "q=%E7%8E%8B%E4%BA%94" in first
    second = sec.get("/grid/households/?q=王五&page=2").get_data(as_text=True)
    assert second.count('<li id="household-') == 3


def test_search_rows_edit_inline_and_keep_naming_their_compound(make_client, world):
    sec = logged_in(make_client, "secretary1")
    page = sec.get("/grid/households/").get_data(as_text=True)
    edit = f"/grid/households/{world.h3.id}/edit?show_place=1"
    assert f'hx-get="{edit}"' in page
    resp = sec.htmx_post(edit, {"room": "201", "building": "1", "unit": "1", "head_name": "王五一"})
    assert "育才楼院" in resp.get_data(as_text=True) and "王五一" in resp.get_data(as_text=True)


# --- headers ----------------------------------------------------------------------------------------

def test_pages_with_households_are_not_stored(make_client, world):
    sec = logged_in(make_client, "secretary1")
    for url in (f"/grid/compounds/{world.k1.id}", "/grid/households/", f"/grid/households/{world.h1.id}/edit",
                f"/grid/compounds/{world.k1.id}/households/new"):
        resp = sec.get(url)
        assert resp.headers["Cache-Control"] == "no-store", url
        assert 'hx-history="false"' in resp.get_data(as_text=True)
    assert sec.htmx_get(f"/grid/households/{world.h1.id}/edit").headers["Cache-Control"] == "no-store"
    assert sec.htmx_post(f"/grid/households/{world.h1.id}/edit", NEW_H1).headers["Cache-Control"] == "no-store"
    # Without households on it, the compound page may be revalidated like any other page.
    pm_page = logged_in(make_client, "pm1").get(f"/grid/compounds/{world.k1.id}")
    assert pm_page.headers["Cache-Control"] == "private, no-cache"


def test_refusal_inside_htmx_is_a_toast_not_a_swap(make_client, world):
    head = logged_in(make_client, "head1")
    resp = head.htmx_post(f"/grid/households/{world.h1.id}/edit", NEW_H1)
    assert resp.status_code == 403
    assert resp.headers["HX-Reswap"] == "none" and "gridapp:toast" in resp.headers["HX-Trigger"]


# --- query counts -----------------------------------------------------------------------------------

def _queries(count_queries, c, url):
    c.get(url)  # warm up (first request of a session)
    with count_queries() as box:
        resp = c.get(url)
    assert resp.status_code == 200
    return box["n"], resp.get_data(as_text=True)


def test_compound_page_queries_do_not_grow_with_households(count_queries, make_client, world):
    add_households(world.k1, 3, housebound=True)  # 5 households
    sec = logged_in(make_client, "secretary1")
    url = f"/grid/compounds/{world.k1.id}"
    few, html = _queries(count_queries, sec, url)
    assert html.count('<li id="household-') == 5
    add_households(world.k1, 55, start=2000, living_alone=True)  # 60 households
    many, html = _queries(count_queries, sec, url)
    assert html.count('<li id="household-') == 25
    assert few == many


def _community_with_places(town, i):
    c = Community(town=town, name=f"社区{i}", kind="village")
    g = Grid(community=c, name="网格")
    k = Compound(grid=g, name="小区")
    db.session.add_all([c, g, k])
    db.session.flush()
    for room in range(3):
        make_household(k, room + 1)
    return c


def test_town_overview_queries_do_not_grow_with_communities(count_queries, make_client, world):
    admin = logged_in(make_client, "admin")
    few, html = _queries(count_queries, admin, "/grid/")
    assert html.count('<li id="community-row-') == 2
    town = db.session.get(Town, world.town.id)
    for i in range(8):
        _community_with_places(town, i)
    db.session.commit()
    many, html = _queries(count_queries, admin, "/grid/")
    assert html.count('<li id="community-row-') == 10
    assert few == many


def test_town_overview_counts(make_client, world):
    html = logged_in(make_client, "leader").get("/grid/").get_data(as_text=True)
    row = html.split(f'id="community-row-{world.c1.id}"')[1].split("</li>")[0]
    assert " 2 · " in row and row.rstrip().endswith("3</span>")  # 2 grids, 2 compounds, 3 households


def test_household_search_queries_do_not_grow_with_rows(count_queries, make_client, world):
    sec = logged_in(make_client, "secretary1")
    few, _ = _queries(count_queries, sec, "/grid/households/")
    for grid in (world.g1, world.g2):
        for n in range(3):
            k = Compound(grid=db.session.get(Grid, grid.id), name=f"新小区{n}")
            db.session.add(k)
            db.session.flush()
            add_households(k, 4)
    many, html = _queries(count_queries, sec, "/grid/households/")
    assert html.count('<li id="household-') == 25
    assert few == many


def test_grid_and_community_pages_queries_do_not_grow(count_queries, make_client, world):
    sec = logged_in(make_client, "secretary1")
    few_c, _ = _queries(count_queries, sec, f"/grid/communities/{world.c1.id}")
    few_g, _ = _queries(count_queries, sec, f"/grid/grids/{world.g1.id}")
    c1 = db.session.get(Community, world.c1.id)
    g1 = db.session.get(Grid, world.g1.id)
    for n in range(6):
        db.session.add(Grid(community=c1, name=f"加网格{n}"))
        db.session.add(Compound(grid=g1, name=f"加小区{n}", work_unit_id=world.unit.id))
    db.session.commit()
    many_c, html_c = _queries(count_queries, sec, f"/grid/communities/{world.c1.id}")
    many_g, html_g = _queries(count_queries, sec, f"/grid/grids/{world.g1.id}")
    assert html_c.count('<li id="grid-row-') == 8 and html_g.count('<li id="compound-row-') == 7
    assert (few_c, few_g) == (many_c, many_g)
