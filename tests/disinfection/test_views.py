"""The pages: permissions on every object route, the tick by form and by htmx, bad input, QR, export."""
from datetime import timedelta
from io import BytesIO

from openpyxl import load_workbook
from sqlalchemy import func, select

from gridapp.audit.models import AuditEvent
from gridapp.disinfection import services
from gridapp.disinfection.models import CompoundRisk, DisinfectionPoint, DisinfectionRound, DisinfectionSlot
from gridapp.extensions import db
from gridapp.timeutil import town_today
from tests.disinfection.factories import ALL_DAY, make_point, make_points
from tests.exports import personal


def _as(make_client, username):
    c = make_client()
    c.login(username)
    return c


def _rounds(point_id):
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(DisinfectionRound)
                             .where(DisinfectionRound.point_id == point_id))


def _today_slot(point_id):
    db.session.expire_all()
    return db.session.scalars(select(DisinfectionSlot).where(DisinfectionSlot.point_id == point_id,
                                                             DisinfectionSlot.day == town_today())).one()


def test_pm1_ticks_a_point_with_the_form(make_client, world):
    p = make_point(world.k1, windows=ALL_DAY)
    c = _as(make_client, "pm1")
    page = c.get(f"/disinfection/points/{p.id}")
    assert page.status_code == 200 and "tick-button" in page.get_data(as_text=True)
    resp = c.post(f"/disinfection/points/{p.id}/tick", {"disinfectant": "84消毒液", "note": "已通风", "token": "tok-1"})
    assert resp.status_code == 303
    slot = _today_slot(p.id)
    assert slot.status == "done" and slot.done_by_id == world.pm1.id
    # Resent by a bad connection: still one round.
    c.post(f"/disinfection/points/{p.id}/tick", {"disinfectant": "84消毒液", "token": "tok-1"})
    assert _rounds(p.id) == 1
    # The disinfectant is remembered for the next time.
    assert 'value="84消毒液"' in c.get(f"/disinfection/points/{p.id}").get_data(as_text=True)


def test_nobody_can_back_date_a_tick(make_client, world):
    p = make_point(world.k1, windows=ALL_DAY)
    c = _as(make_client, "pm1")
    yesterday = (town_today() - timedelta(days=1)).isoformat()
    c.post(f"/disinfection/points/{p.id}/tick", {"token": "t", "ticked_at": f"{yesterday}T08:00:00",
                                                 "done_at": f"{yesterday}T08:00:00", "slot_id": "1"})
    db.session.expire_all()
    r = db.session.scalars(select(DisinfectionRound)).one()
    assert town_today() == r.ticked_at.astimezone(services.town_zone()).date()
    assert abs((r.ticked_at - services.utcnow()).total_seconds()) < 60


def test_htmx_tick_returns_the_panel_with_a_toast(make_client, world):
    p = make_point(world.k1, windows=ALL_DAY)
    c = _as(make_client, "pm1")
    resp = c.htmx_post(f"/disinfection/points/{p.id}/tick", {"token": "h1", "view": "point"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert 'id="tick-panel"' in html and "<html" not in html
    assert 'data-status="done"' in html
    assert "gridapp:toast" in resp.headers["HX-Trigger"]
    assert "HX-Request" in resp.headers.get("Vary", "")
    # The recent rounds come along out of band: the round just made shows at once, no reload.
    recent = html.split('id="recent-rounds" hx-swap-oob="true"', 1)[1]
    assert "Pm1" in recent and "No rounds recorded yet." not in recent
    page = c.get(f"/disinfection/points/{p.id}").get_data(as_text=True)
    assert 'id="recent-rounds"' in page and "hx-swap-oob" not in page  # a whole page swaps nothing out of band


def test_htmx_tick_from_today_returns_the_row(make_client, world):
    p = make_point(world.k1, windows=ALL_DAY)
    c = _as(make_client, "pm1")
    today = c.get("/disinfection/").get_data(as_text=True)
    slot = _today_slot(p.id)
    assert f'id="slot-{slot.id}" data-status="due"' in today
    resp = c.htmx_post(f"/disinfection/points/{p.id}/tick", {"token": "h2", "view": "today"})
    html = resp.get_data(as_text=True)
    assert html.strip().startswith(f'<li id="slot-{slot.id}" data-status="done"')


def test_pm1_cannot_tick_yuanjing_points(make_client, world):
    p = make_point(world.k2, windows=ALL_DAY)  # 育才楼院, 远景
    c = _as(make_client, "pm1")
    assert c.post(f"/disinfection/points/{p.id}/tick", {"token": "x"}).status_code == 403
    assert c.get(f"/disinfection/points/{p.id}").status_code == 403
    assert _rounds(p.id) == 0
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "denied")) >= 1
    # pm2 answers for it.
    assert _as(make_client, "pm2").post(f"/disinfection/points/{p.id}/tick", {"token": "y"}).status_code == 303
    assert _rounds(p.id) == 1


def test_who_may_tick_what(make_client, world):
    company = make_point(world.k1, windows=ALL_DAY)
    community_run = make_point(world.k3, windows=ALL_DAY)  # a work unit's compound: no property company
    cases = [("secretary1", company, 403), ("head1", company, 403), ("vol1", company, 403),
             ("nobody", company, 403), ("admin", company, 403), ("pm2", company, 403),
             ("secretary2", community_run, 303), ("gridder3", community_run, 303), ("pm1", community_run, 403),
             ("unit1", community_run, 403)]
    for username, point, expected in cases:
        resp = _as(make_client, username).post(f"/disinfection/points/{point.id}/tick", {"token": username})
        assert resp.status_code == expected, (username, point.id)
    assert _rounds(company.id) == 0
    assert _rounds(community_run.id) == 1  # the second was the same slot: taken


def test_an_inactive_point_is_refused_with_a_message(make_client, world):
    p = make_point(world.k1, windows=ALL_DAY)
    services.ensure_slots([town_today()], [p.id])
    db.session.get(DisinfectionPoint, p.id).active = False
    db.session.commit()
    c = _as(make_client, "pm1")
    resp = c.htmx_post(f"/disinfection/points/{p.id}/tick", {"token": "x"})
    assert resp.status_code == 409 and "已停用" in resp.get_data(as_text=True)
    resp = c.post(f"/disinfection/points/{p.id}/tick", {"token": "x"})  # without JavaScript: back, with the reason
    assert resp.status_code == 303
    assert "已停用" in c.get(resp.headers["Location"]).get_data(as_text=True)
    assert _rounds(p.id) == 0
    assert _today_slot(p.id).status == "pending"


def test_a_missing_point_is_404(make_client, world):
    c = _as(make_client, "pm1")
    assert c.get("/disinfection/points/999999").status_code == 404
    assert c.post("/disinfection/points/999999/tick", {"token": "x"}).status_code == 404


def test_today_lists_my_points_only_and_due_first(make_client, world):
    mine = make_point(world.k1, windows=ALL_DAY, name="我的电梯")
    make_point(world.k2, windows=ALL_DAY, name="远景的电梯")
    html = _as(make_client, "pm1").get("/disinfection/").get_data(as_text=True)
    assert "我的电梯" in html and "远景的电梯" not in html
    assert f'href="/disinfection/points/{mine.id}"' in html


def test_bulk_creation_and_bad_windows(make_client, world):
    c = _as(make_client, "pm1")
    resp = c.post(f"/disinfection/compounds/{world.k1.id}/points",
                  {"kind": "elevator", "task": "disinfection", "count": "6", "name": "电梯", "windows": ""})
    assert resp.status_code == 302
    names = db.session.scalars(select(DisinfectionPoint.name).where(DisinfectionPoint.compound_id == world.k1.id)
                               .order_by(DisinfectionPoint.id)).all()
    assert names == [f"电梯 {i}" for i in range(1, 7)]
    bad = c.post(f"/disinfection/compounds/{world.k1.id}/points",
                 {"kind": "stairwell", "task": "disinfection", "count": "2", "name": "楼梯", "windows": "6点到10点"})
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert "06:00-10:00" in html and 'value="6点到10点"' in html  # the message, and nothing typed lost
    assert db.session.scalar(select(func.count()).select_from(DisinfectionPoint)) == 6
    # 远景's compound is not pm1's.
    assert c.post(f"/disinfection/compounds/{world.k2.id}/points",
                  {"kind": "elevator", "task": "disinfection", "count": "1"}).status_code == 403


def test_public_places_of_a_community(make_client, world):
    c = _as(make_client, "secretary1")
    resp = c.post(f"/disinfection/communities/{world.c1.id}/places",
                  {"place_name": "惠民超市", "kind": "shop", "task": "disinfection", "count": "1"})
    assert resp.status_code == 302
    p = db.session.scalars(select(DisinfectionPoint)).one()
    assert (p.compound_id, p.community_id, p.place_name) == (None, world.c1.id, "惠民超市")
    assert _as(make_client, "secretary2").post(f"/disinfection/communities/{world.c1.id}/places",
                                               {"place_name": "x", "kind": "shop", "count": "1"}).status_code == 403


def test_risk_tier_is_set_by_the_secretary_not_the_property_manager(make_client, world):
    assert _as(make_client, "pm1").post(f"/disinfection/compounds/{world.k1.id}/risk",
                                        {"tier": "high"}).status_code == 403
    assert _as(make_client, "secretary1").post(f"/disinfection/compounds/{world.k1.id}/risk",
                                               {"tier": "high"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(CompoundRisk, world.k1.id).tier == "high"


def test_edit_windows(make_client, world):
    p = make_point(world.k1)
    c = _as(make_client, "pm1")
    resp = c.post(f"/disinfection/points/{p.id}/edit", {"name": "1号梯", "windows": "07:00-09:00", "active": "y"})
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(DisinfectionPoint, p.id).windows == "07:00-09:00"
    assert _as(make_client, "head1").post(f"/disinfection/points/{p.id}/edit",
                                          {"name": "x", "active": "y"}).status_code == 403


def test_qr_code_and_sheet(make_client, world):
    p = make_point(world.k1)
    c = _as(make_client, "pm1")
    svg = c.get(f"/disinfection/points/{p.id}/qr.svg")
    assert svg.status_code == 200 and svg.headers["Content-Type"].startswith("image/svg+xml")
    assert svg.get_data(as_text=True).startswith("<svg")
    sheet = c.get(f"/disinfection/compounds/{world.k1.id}/qr").get_data(as_text=True)
    assert f'id="qr-{p.id}"' in sheet and "<svg" in sheet and "style=" not in sheet
    assert _as(make_client, "pm2").get(f"/disinfection/compounds/{world.k1.id}/qr").status_code == 403


def test_board_and_drill_down(make_client, world):
    a = make_point(world.k1, windows=ALL_DAY)
    make_point(world.k2, windows=ALL_DAY)
    services.ensure_slots([town_today()])
    db.session.commit()
    _as(make_client, "pm1").post(f"/disinfection/points/{a.id}/tick", {"token": "t"})
    html = _as(make_client, "leader").get("/disinfection/board").get_data(as_text=True)
    assert f'id="compound-{world.k1.id}"' in html and f'id="compound-{world.k2.id}"' in html
    assert "compliance-chart" in html
    # pm1 sees only 红嘴鸥's compounds.
    own = _as(make_client, "pm1").get("/disinfection/board").get_data(as_text=True)
    assert f'id="compound-{world.k1.id}"' in own and f'id="compound-{world.k2.id}"' not in own
    drill = _as(make_client, "leader").get(f"/disinfection/board/compounds/{world.k1.id}").get_data(as_text=True)
    assert f'id="point-{a.id}"' in drill and 'data-status="done"' in drill
    assert _as(make_client, "vol1").get("/disinfection/board").status_code == 403
    assert _as(make_client, "pm1").get(f"/disinfection/board/compounds/{world.k2.id}").status_code == 403


def test_excel_export_of_a_period(make_client, world):
    a = make_point(world.k1, windows=ALL_DAY, name="电梯")
    make_point(world.k2, windows=ALL_DAY, name="远景电梯")
    c = _as(make_client, "pm1")
    c.post(f"/disinfection/points/{a.id}/tick", {"token": "t", "disinfectant": "84消毒液"})
    today = town_today().isoformat()
    c.confirm_password()  # an export asks for it
    resp = c.get(personal(f"/disinfection/rounds.xlsx?start={today}&end={today}"))
    assert resp.status_code == 200
    wb = load_workbook(BytesIO(resp.data))
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    assert len(rows) == 3  # the title, the header and pm1's one slot; 远景's is out of sight
    assert rows[2][8] == "电梯" and rows[2][11] == "84消毒液" and rows[2][5] == "Pm1"
    too_long = c.get(personal("/disinfection/rounds.xlsx?start=2026-01-01&end=2026-03-01"))
    assert too_long.status_code == 302


def test_today_pages_a_long_list_due_first_and_reads_only_once_slots_exist(make_client, world, count_queries):
    from tests.disinfection.factories import make_points

    make_points(world.k1, count=30, windows=ALL_DAY, name="电梯")
    c = _as(make_client, "pm1")
    first = c.get("/disinfection/").get_data(as_text=True)  # makes today's slots (one window each)
    assert first.count('data-status="due"') == 25  # PAGE_SIZE rows, all due now
    second = c.get("/disinfection/?page=2").get_data(as_text=True)
    assert second.count('data-status="due"') == 5
    assert "?page=1" in second or "page=1" in second
    assert c.get("/disinfection/?page=99").status_code == 200  # clamped to the last page
    with count_queries() as box:
        assert c.get("/disinfection/").status_code == 200
    assert box["n"] <= 12
    assert not [s for s in box["sql"] if s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]


def _group_line(html, key):
    start = html.index(f'data-group="{key}"')
    return html[start:html.index("</li>", start)]


def test_today_groups_by_compound_with_what_is_due_first(make_client, world, clock, count_queries):
    from gridapp.grid.models import Compound

    clock.town("2026-11-25 05:00")
    k4 = Compound(grid=world.g1, name="新华小区", address="城关镇新华路2号", property_company=world.hzo)
    db.session.add(k4)
    db.session.commit()
    make_points(world.k1, count=2, windows=ALL_DAY, name="阳光电梯")
    make_point(world.k1, windows="20:00-21:00", name="阳光楼道")          # later today
    make_point(k4, windows="06:00-07:00", name="新华垃圾点")             # its window will close unticked
    clock.town("2026-11-25 10:00")
    make_point(k4, windows=ALL_DAY, name="新华电梯")
    make_point(world.k2, windows=ALL_DAY, name="远景的电梯")              # not pm1's
    k5 = Compound(grid=world.g1, name="东风小区", address="城关镇东风路5号", property_company=world.hzo)
    db.session.add(k5)
    db.session.commit()
    make_point(k5, windows="20:00-21:00", name="东风楼道")
    c = _as(make_client, "pm1")
    html = c.get("/disinfection/").get_data(as_text=True)
    due = html[html.index('id="today"'):html.index('id="today-groups"')]
    # Only what can be ticked now, compound after compound, each under its name.
    assert due.count('data-status="due"') == 3 and "阳光楼道" not in due and "新华垃圾点" not in due
    heads = due.split('class="group-head"')[1:]
    assert len(heads) == 2  # one head per compound: its rows come together
    sections = {h[h.index("<strong>") + 8:h.index("</strong>")]: h for h in heads}
    assert sections["阳光小区"].count("阳光电梯") == 2 and "新华" not in sections["阳光小区"].split("</strong>")[1]
    assert sections["新华小区"].count('data-status="due"') == 1 and "新华电梯" in sections["新华小区"]
    assert "远景的电梯" not in html
    # Each compound's day in one line, linked to the whole of its day.
    sunny = _group_line(html, f"compound-{world.k1.id}")
    assert f'href="/disinfection/?compound={world.k1.id}"' in sunny
    assert "已完成 0/3" in sunny and "现在应做：2" in sunny and "今天稍后：1" in sunny and "漏做" not in sunny
    xinhua = _group_line(html, f"compound-{k4.id}")
    assert "已完成 0/2" in xinhua and "现在应做：1" in xinhua and "漏做：1" in xinhua
    # Compounds with rounds due now come first, those with misses before the others.
    order = [html.index(f'data-group="compound-{k.id}"') for k in (k4, world.k1, k5)]
    assert order == sorted(order)
    # One compound's whole day: every row, the due first.
    page = c.get(f"/disinfection/?compound={world.k1.id}").get_data(as_text=True)
    assert page.count('data-status="due"') == 2 and page.count('data-status="upcoming"') == 1
    assert page.index('data-status="due"') < page.index('data-status="upcoming"')
    assert "新华" not in page.split('id="today"')[1]
    # Another company's compound, or nonsense, is not a page of pm1's.
    assert c.get(f"/disinfection/?compound={world.k2.id}").status_code == 404
    assert c.get("/disinfection/?compound=x").status_code == 200
    # The grouping costs no statement per compound.
    with count_queries() as box:
        assert c.get("/disinfection/").status_code == 200
    small = box["n"]
    for i in range(5):
        k = Compound(grid=world.g1, name=f"加测小区{i}", address="", property_company=world.hzo)
        db.session.add(k)
        db.session.commit()
        make_points(k, count=3, windows=ALL_DAY, name="电梯")
    c.get("/disinfection/")  # the new points' slots
    with count_queries() as box:
        assert c.get("/disinfection/").status_code == 200
    assert box["n"] == small


def test_today_groups_a_communitys_public_places(make_client, world, clock):
    clock.town("2026-11-25 10:00")
    make_point(community=world.c1, windows=ALL_DAY, kind="public_toilet", name="公厕", place_name="建设路公厕")
    c = _as(make_client, "secretary1")
    html = c.get("/disinfection/").get_data(as_text=True)
    line = _group_line(html, f"places-{world.c1.id}")
    assert world.c1.name in line and "公共场所" in line
    page = c.get(f"/disinfection/?places={world.c1.id}").get_data(as_text=True)
    assert page.count('data-status="due"') == 1 and "建设路公厕" in page
    assert c.get(f"/disinfection/?places={world.c2.id}").status_code == 404
