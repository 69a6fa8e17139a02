"""Imports: upload → preview with nothing written → confirm → the job writes all of it or nothing."""
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from gridapp.audit.models import AuditEvent
from gridapp.extensions import db
from gridapp.grid.models import Community, Compound, Grid, Household, PropertyCompany
from gridapp.imports import services
from tests.exports import personal
from tests.imports.helpers import HOUSEHOLD_HEADERS, csv_bytes, last_run, upload, xlsx_bytes


def _households():
    db.session.expire_all()
    return db.session.scalar(select(func.count(Household.id)))


def _run_job(run_id):
    from jobs.imports import run_import

    db.session.commit()
    return run_import(run_id)


ROWS = [
    ["城关社区", "第一网格", "阳光小区", "1", "1", "101", "张三", "13900000101", "是", "否"],  # as it is: unchanged
    ["城关社区", "第一网格", "阳光小区", "2", "1", "501", "钱七", "139 0000 0501", "否", "是"],  # new
    ["城关社区", "", "育才楼院", "1", "1", "201", "王五改", "13900000201", "", ""],  # grid left out; renamed head
    ["城关社区", "第一网格", "阳光小区", "2", "1", "501", "钱七", "", "", ""],  # the same room again
    ["城关社区", "第一网格", "无名小区", "1", "1", "1", "某人", "", "", ""],  # unknown compound
    ["东城社区", "第三网格", "监管局家属楼", "1", "1", "999", "外人", "", "", ""],  # another community
    ["城关社区", "第一网格", "阳光小区", "3", "1", "", "缺房号", "12", "也许", ""],  # no room, bad phone
]


def test_preview_shows_every_problem_by_line_and_column_and_writes_nothing(client, world):
    client.login("secretary1")
    before = _households()
    resp = upload(client, "households", xlsx_bytes([HOUSEHOLD_HEADERS, *ROWS], title="城关社区住户登记表"))
    assert resp.status_code == 303
    run = last_run()
    assert run.status == "previewed" and run.community_id == world.c1.id
    assert _households() == before
    p = run.preview
    assert (p["total"], p["created"], p["updated"], p["unchanged"], p["skipped"]) == (7, 1, 1, 1, 4)
    problems = {(line, column): message for line, column, message in p["problems"]}
    # Line numbers are the sheet's own: the title on line 1, the header on line 2.
    assert "The same row as line 4" in problems[(6, "")]
    assert problems[(7, "小区")] == "No compound named 无名小区 in 城关社区."
    assert "Outside your community" in problems[(8, "社区")]
    assert problems[(9, "房号")] == "Required."  # the row's first problem is the one reported

    page = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "import-problems" in page and "Import 3 rows, skip 4" in page


def test_confirm_runs_the_job_and_reports_what_it_did(client, world):
    client.login("secretary1")
    upload(client, "households", xlsx_bytes([HOUSEHOLD_HEADERS, *ROWS]))
    run = last_run()
    before = _households()
    resp = client.post(f"/imports/{run.id}/confirm")
    assert resp.status_code == 303
    assert last_run().status == "queued"
    report = _run_job(run.id)
    assert (report["created"], report["updated"], report["unchanged"], report["skipped"]) == (1, 1, 1, 4)
    assert _households() == before + 1
    new = db.session.scalars(select(Household).where(Household.room == "501")).one()
    assert (new.head_name, new.phone, new.housebound, new.living_alone) == ("钱七", "13900000501", False, True)
    assert db.session.get(Household, world.h3.id).head_name == "王五改"
    run = last_run()
    assert run.status == "done" and run.confirmed_by_id == world.sec1.id
    page = client.get(f"/imports/{run.id}").get_data(as_text=True)
    assert 'id="count-created">1<' in page and "Imported" in page
    events = {e.action: e for e in db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == "ImportRun"))}
    assert events["import_confirmed"].actor_id == world.sec1.id
    assert "created 1" in events["import_done"].summary and events["import_done"].object_name == "住户.xlsx"
    # The job again: it finds the import no longer waiting and writes nothing twice.
    assert _run_job(run.id) is None


def test_the_same_file_again_changes_nothing(client, world):
    client.login("admin")
    rows = [HOUSEHOLD_HEADERS] + [["城关社区", "第一网格", "阳光小区", "5", "1", str(n), f"户主{n}", "", "否", "否"]
                                  for n in range(1, 31)]
    data = xlsx_bytes(rows)
    for expected in ((30, 0, 0), (0, 0, 30)):
        upload(client, "households", data)
        run = last_run()
        client.post(f"/imports/{run.id}/confirm")
        report = _run_job(run.id)
        assert (report["created"], report["updated"], report["unchanged"]) == expected


def test_a_failure_half_way_leaves_nothing_written(client, world, monkeypatch):
    client.login("admin")
    rows = [HOUSEHOLD_HEADERS] + [["城关社区", "第一网格", "阳光小区", "7", "1", str(n), f"户主{n}", "", "", ""]
                                  for n in range(1, 1201)]
    upload(client, "households", xlsx_bytes(rows))
    run = last_run()
    client.post(f"/imports/{run.id}/confirm")
    before = _households()
    calls = {"n": 0}
    real = services.KINDS["households"].write

    def breaks_on_the_third_batch(places, batch):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk full")
        return real(places, batch)

    monkeypatch.setattr(services.KINDS["households"], "write", breaks_on_the_third_batch)
    with pytest.raises(RuntimeError):
        _run_job(run.id)
    assert _households() == before  # two batches had been written in the transaction: rolled back
    run = last_run()
    assert run.status == "failed" and "nothing of the file was written" in run.failure
    monkeypatch.undo()
    # Tried again, it completes.
    assert client.post(f"/imports/{run.id}/confirm").status_code == 303
    assert _run_job(run.id)["created"] == 1200
    assert _households() == before + 1200


def test_places_and_compounds_build_a_town_from_nothing_but_names(client, world):
    client.login("admin")
    upload(client, "places", xlsx_bytes([["社区", "类型", "网格"], ["南关村", "村", "一组"], ["南关村", "村", "二组"],
                                          ["城关社区", "社区", "第一网格"]]), name="places.xlsx")
    run = last_run()
    assert run.preview["created"] == 2 and run.preview["unchanged"] == 1
    client.post(f"/imports/{run.id}/confirm")
    _run_job(run.id)
    village = db.session.scalars(select(Community).where(Community.name == "南关村")).one()
    assert village.kind == "village" and sorted(g.name for g in village.grids) == ["一组", "二组"]

    upload(client, "compounds", csv_bytes([["社区", "网格", "小区名称", "地址", "开放出入口", "物业公司", "单位"],
                                           ["南关村", "一组", "南关新村", "南关路1号", "西门", "东升物业", ""],
                                           ["南关村", "一组", "坏小区", "", "", "东升物业", "县医院"]],
                                          encoding="gb18030"), name="小区.csv")
    run = last_run()
    assert run.preview["created"] == 1 and run.preview["skipped"] == 1
    client.post(f"/imports/{run.id}/confirm")
    _run_job(run.id)
    compound = db.session.scalars(select(Compound).where(Compound.name == "南关新村")).one()
    assert compound.property_company.name == "东升物业" and compound.entrance == "西门"
    assert db.session.scalar(select(func.count(PropertyCompany.id)).where(PropertyCompany.name == "东升物业")) == 1


def test_a_secretary_cannot_create_communities_nor_import_for_another(client, world):
    client.login("secretary1")
    upload(client, "places", xlsx_bytes([["社区", "网格"], ["新社区", "一"], ["东城社区", "新网格"],
                                          ["城关社区", "第九网格"]]))
    p = last_run().preview
    assert (p["created"], p["skipped"]) == (1, 2)
    assert db.session.scalar(select(func.count(Grid.id)).where(Grid.name == "第九网格")) == 0


@pytest.mark.parametrize("who,status", [("vol1", 403), ("gridder1", 403), ("leader", 403), ("pm1", 403)])
def test_only_the_administrator_and_secretaries_import(client, world, who, status):
    client.login(who)
    assert client.get("/imports/").status_code == status
    assert upload(client, "households", xlsx_bytes([HOUSEHOLD_HEADERS])).status_code == status


def test_another_communitys_import_is_not_shown_nor_confirmed(client, make_client, world):
    client.login("secretary1")
    upload(client, "households", xlsx_bytes([HOUSEHOLD_HEADERS, ROWS[1]]))
    run = last_run()
    other = make_client()
    other.login("secretary2")
    assert other.get(f"/imports/{run.id}").status_code == 403
    assert other.post(f"/imports/{run.id}/confirm").status_code == 403
    assert last_run().status == "previewed"
    admin = make_client()
    admin.login("admin")
    assert admin.get(f"/imports/{run.id}").status_code == 200


@pytest.mark.parametrize("name,data,message", [
    ("people.xls", b"\xd0\xcf\x11\xe0old excel", "saved again as .xlsx"),
    ("people.xlsx", b"not a zip at all", "not an .xlsx workbook"),
    ("people.csv", "姓名,年龄\n张三,3\n".encode(), "no header row"),
    ("people.csv", b"", "empty"),
    ("people.csv", b"\xff\xfe\x00\xd8broken", "neither UTF-8 nor GB18030"),
])
def test_a_file_that_cannot_be_read_is_refused_plainly(client, world, name, data, message):
    client.login("admin")
    resp = upload(client, "households", data, name=name)
    assert resp.status_code == 422
    assert message in resp.get_data(as_text=True)
    assert last_run() is None


def test_discard_forgets_the_file_and_writes_nothing(client, world):
    client.login("admin")
    upload(client, "households", xlsx_bytes([HOUSEHOLD_HEADERS, ROWS[1]]))
    run = last_run()
    stored = services.folder() / run.stored_name
    assert stored.exists()
    assert client.post(f"/imports/{run.id}/discard").status_code == 303
    assert last_run().status == "discarded" and not stored.exists()
    assert client.post(f"/imports/{run.id}/confirm").status_code == 303
    assert last_run().status == "discarded"


def test_the_template_has_chinese_headers_and_an_example_that_is_never_imported(client, world):
    client.login("admin")
    resp = client.get("/imports/template/households.xlsx")
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("application/vnd.openxml")
    ws = load_workbook(io.BytesIO(resp.data)).active
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    assert rows[1][:3] == ["社区*", "网格", "小区*"]
    assert rows[2][0].startswith("示例")
    before = _households()
    upload(client, "households", resp.data, name="template.xlsx")
    run = last_run()
    assert run.preview["total"] == 0 and run.preview["examples"] == 1
    assert _households() == before


def test_an_export_imports_back_unchanged(client, world):
    client.login("secretary1")
    client.confirm_password()  # an export carries names and phones: the password is asked again first
    for kind, count in (("households", 3), ("compounds", 2), ("places", 2)):
        exported = client.get(personal(f"/imports/export/{kind}.xlsx"))
        assert exported.status_code == 200
        upload(client, kind, exported.data, name=f"{kind}.xlsx")
        p = last_run().preview
        assert (p["total"], p["unchanged"], p["created"], p["updated"], p["skipped"]) == (count, count, 0, 0, 0), kind


def _import(client, kind, data, name):
    upload(client, kind, data, name=name)
    run = last_run()
    client.post(f"/imports/{run.id}/confirm")
    return run.preview, _run_job(run.id)


def test_checkpoints_come_with_their_shifts_and_points_with_their_rounds(client, world, clock):
    from gridapp.disinfection.models import DisinfectionPoint, DisinfectionSlot
    from gridapp.duty.models import Checkpoint, Shift

    clock.town("2026-12-01 09:00")
    client.login("secretary1")
    preview, report = _import(client, "checkpoints", xlsx_bytes([
        ["社区", "检查点名称", "类型", "网格", "小区", "位置", "负责单位", "班次", "每班最少人数", "每班最多人数"],
        ["城关社区", "阳光小区北门", "门岗", "", "阳光小区", "北门岗亭", "", "", "1", "3"],
        ["城关社区", "建设路先锋岗", "先锋岗", "", "", "建设路口", "县市场监管局", "07:00-19:00,19:00-07:00", "2", "2"],
        ["城关社区", "坏班次", "门岗", "", "", "", "", "08:00-16:00,09:00-17:00", "", ""],
        ["城关社区", "人数反了", "门岗", "", "", "", "", "", "3", "2"],
        ["城关社区", "无名单位", "门岗", "", "", "", "不存在的局", "", "", ""],
    ]), "checkpoints.xlsx")
    assert (report["created"], report["skipped"]) == (2, 3)
    problems = {line: (column, message) for line, column, message in report["problems"]}
    assert problems[4] == ("班次", "Shifts of a day must not overlap.")
    assert problems[5][0] == "每班最多人数" and problems[6][0] == "负责单位"
    gate = db.session.scalars(select(Checkpoint).where(Checkpoint.name == "阳光小区北门")).one()
    assert (gate.compound_id, gate.max_people, gate.kind) == (world.k1.id, 3, "gate")
    post = db.session.scalars(select(Checkpoint).where(Checkpoint.name == "建设路先锋岗")).one()
    assert (post.kind, post.pattern, post.work_unit_id) == ("vanguard", "07:00-19:00,19:00-07:00", world.unit.id)
    assert db.session.scalar(select(func.count(Shift.id)).where(Shift.checkpoint_id == post.id)) >= 28

    preview, report = _import(client, "points", xlsx_bytes([
        ["社区", "网格", "小区", "公共场所", "点位名称", "点位类型", "任务", "时段"],
        ["城关社区", "", "阳光小区", "", "1号楼电梯", "电梯", "消毒", "06:00-10:00,14:00-18:00"],
        ["城关社区", "", "", "城关农贸市场", "公厕", "公厕", "", ""],
        ["城关社区", "", "阳光小区", "城关农贸市场", "两处都填", "电梯", "", ""],
        ["城关社区", "", "阳光小区", "", "坏时段", "电梯", "", "6点到10点"],
    ]), "points.xlsx")
    assert (report["created"], report["skipped"]) == (2, 2)
    lift = db.session.scalars(select(DisinfectionPoint).where(DisinfectionPoint.name == "1号楼电梯")).one()
    assert (lift.compound_id, lift.kind, lift.windows) == (world.k1.id, "elevator", "06:00-10:00,14:00-18:00")
    assert db.session.scalar(select(func.count(DisinfectionSlot.id)).where(DisinfectionSlot.point_id == lift.id)) > 0
    toilet = db.session.scalars(select(DisinfectionPoint).where(DisinfectionPoint.place_name == "城关农贸市场")).one()
    assert (toilet.kind, toilet.task, toilet.compound_id) == ("public_toilet", "disinfection", None)

    # Exported and imported again: nothing changes; a corrected size updates the checkpoint in place.
    client.confirm_password()
    for kind in ("checkpoints", "points"):
        data = client.get(personal(f"/imports/export/{kind}.xlsx")).data
        upload(client, kind, data, name=f"{kind}.xlsx")
        p = last_run().preview
        assert (p["created"], p["updated"], p["skipped"]) == (0, 0, 0), (kind, p)
    preview, report = _import(client, "checkpoints", xlsx_bytes([
        ["社区", "检查点名称", "小区", "每班最多人数"], ["城关社区", "阳光小区北门", "阳光小区", "4"]]), "fix.xlsx")
    assert report["updated"] == 1
    db.session.expire_all()
    gate = db.session.get(Checkpoint, gate.id)
    assert (gate.max_people, gate.min_people, gate.location) == (4, 1, "北门岗亭")  # columns left out are kept
    preview, report = _import(client, "checkpoints", xlsx_bytes([
        ["社区", "检查点名称", "每班最多人数", "位置"], ["城关社区", "建设路先锋岗", "1", ""]]), "fix2.xlsx")
    assert report["skipped"] == 1 and report["problems"][0][1] == "每班最多人数"  # below its minimum of 2
    db.session.expire_all()
    assert db.session.get(Checkpoint, post.id).location == "建设路口"


def test_a_left_out_column_keeps_the_households_values_and_an_empty_cell_clears_them(client, world):
    client.login("admin")
    _import(client, "households", xlsx_bytes([["社区", "小区", "楼栋", "单元", "房号", "户主姓名", "独居"],
                                               ["城关社区", "阳光小区", "1", "1", "101", "张三", ""]]), "h.xlsx")
    h1 = db.session.get(Household, world.h1.id)
    assert (h1.phone, h1.housebound, h1.living_alone) == ("13900000101", True, False)
    _import(client, "households", xlsx_bytes([["社区", "小区", "楼栋", "单元", "房号", "户主姓名", "联系电话"],
                                               ["城关社区", "阳光小区", "1", "1", "101", "张三", ""]]), "h.xlsx")
    db.session.expire_all()
    assert db.session.get(Household, world.h1.id).phone == ""


@pytest.mark.parametrize("kind", ["places", "compounds", "households", "checkpoints", "points", "accounts"])
def test_every_template_reads_back_as_its_kind_with_only_the_example(client, world, kind):
    client.login("admin")
    resp = client.get(f"/imports/template/{kind}.xlsx")
    assert resp.status_code == 200
    headers = [c.value for c in next(load_workbook(io.BytesIO(resp.data)).active.iter_rows(min_row=2, max_row=2))]
    required = [f.header + "*" for f in services.KINDS[kind].fields if f.required]
    assert set(required) <= set(headers) and all(h for h in headers)
    assert upload(client, kind, resp.data, name=f"{kind}.xlsx").status_code == 303
    p = last_run().preview
    assert (p["total"], p["examples"]) == (0, 1)


def test_a_secretary_is_offered_every_kind_but_gets_her_own_community_in_exports(client, world):
    client.login("secretary1")
    page = client.get("/imports/").get_data(as_text=True)
    assert all(f'id="kind-{k}"' in page for k in services.KINDS)
    client.confirm_password()
    ws = load_workbook(io.BytesIO(client.get(personal("/imports/export/households.xlsx")).data)).active
    communities = {row[0] for row in ws.iter_rows(min_row=3, values_only=True)}
    assert communities == {"城关社区"}


def test_files_of_imports_left_waiting_are_deleted_after_their_days(client, world, clock):
    from jobs.maintenance import purge_import_files

    clock.town("2026-12-01 09:00")
    client.login("admin")
    upload(client, "households", xlsx_bytes([HOUSEHOLD_HEADERS, ROWS[1]]))
    waiting = last_run()
    path = services.folder() / waiting.stored_name
    clock.town("2026-12-07 09:00")
    assert purge_import_files() == 0 and path.exists()
    clock.town("2026-12-08 09:30")
    assert purge_import_files() == 1 and not path.exists()
    assert last_run().status == "discarded"
    assert client.post(f"/imports/{waiting.id}/confirm").status_code == 303
    assert last_run().status == "discarded"
