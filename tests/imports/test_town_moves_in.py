"""A town that has never seen gridapp, in one afternoon: an empty database, `flask town init`, the
administrator's imports of its own sheets (places, compounds, households, checkpoints, points, people),
and a volunteer who follows her invitation, sets her password and signs up for a shift — no seed-demo,
nothing typed into the database by hand."""
import re
from datetime import timedelta

from sqlalchemy import func, select

from gridapp.disinfection.models import DisinfectionSlot
from gridapp.duty.models import Shift
from gridapp.extensions import db
from gridapp.grid.models import Household
from gridapp.timeutil import utcnow
from tests.imports.helpers import csv_bytes, last_run, upload, xlsx_bytes
from tests.notifications.servers import HTTPPeer
from tests.workers import run_burst_worker

ADMIN_PASSWORD = "Tq7-vexrm-Kd93"
VOLUNTEER_PASSWORD = "maple-river-91"

SHEETS = [
    ("places", [["社区", "类型", "网格"], ["城关社区", "社区", "第一网格"], ["城关社区", "社区", "第二网格"],
                ["南关村", "村", "一组"]]),
    ("compounds", [["社区", "网格", "小区名称", "地址", "开放出入口", "物业公司"],
                   ["城关社区", "第一网格", "阳光小区", "建设路1号", "北门", "红嘴鸥物业"],
                   ["南关村", "一组", "南关新村", "南关路2号", "西门", ""]]),
    ("households", [["社区", "小区", "楼栋", "单元", "房号", "户主姓名", "联系电话", "居家不便", "独居"]]
     + [["城关社区", "阳光小区", "1", "1", str(100 + n), f"住户{n}", f"1390000{n:04d}", "是" if n < 3 else "否", "否"]
        for n in range(40)]),
    ("checkpoints", [["社区", "检查点名称", "类型", "小区", "每班最少人数", "每班最多人数"],
                     ["城关社区", "阳光小区北门", "门岗", "阳光小区", "1", "2"]]),
    ("points", [["社区", "小区", "点位名称", "点位类型", "任务"],
                ["城关社区", "阳光小区", "1号楼电梯", "电梯", "消毒"],
                ["城关社区", "阳光小区", "垃圾收集点", "垃圾点", "垃圾清运"]]),
    ("accounts", [["姓名", "手机号", "社区", "网格", "角色", "党员"],
                  ["李梅", "13800005678", "城关社区", "", "志愿者", "是"],
                  ["周强", "13800005679", "城关社区", "第一网格", "网格员", "否"]]),
]


def test_an_empty_database_becomes_a_working_grid(app, make_client):
    # The clock runs (the worker processes read the same one): no pinned instant here.
    init = app.test_cli_runner().invoke(args=["town", "init", "--name", "城关镇", "--admin-name", "王建国"],
                                        env={"GRIDAPP_ADMIN_PASSWORD": ADMIN_PASSWORD})
    assert init.exit_code == 0, init.output

    admin = make_client()
    admin.login("admin", ADMIN_PASSWORD)
    with HTTPPeer(answer={"ok": True}) as gateway:
        app.config["SMS_GATEWAY_URL"] = gateway.url + "/send"
        for kind, rows in SHEETS:
            data = csv_bytes(rows, encoding="gb18030") if kind == "households" else xlsx_bytes(rows)
            name = f"{kind}.csv" if kind == "households" else f"{kind}.xlsx"
            assert upload(admin, kind, data, name=name).status_code == 303
            run = last_run()
            assert run.preview["skipped"] == 0, (kind, run.preview["problems"])
            assert admin.post(f"/imports/{run.id}/confirm").status_code == 303
            done = run_burst_worker(app)  # a real RQ worker runs the import job
            assert done.returncode == 0, done.stderr[-2000:]
            db.session.expire_all()
            assert last_run().status == "done", (kind, last_run().failure)
        sms = {r["json"]["to"]: r["json"]["text"] for r in gateway.requests}

    assert db.session.scalar(select(func.count(Household.id))) == 40
    assert db.session.scalar(select(func.count(Shift.id))) >= 3 * 13  # 14 days ahead, three shifts a day
    assert db.session.scalar(select(func.count(DisinfectionSlot.id))) > 0

    # 李梅 opens the link of her SMS, chooses her password and signs up for tomorrow's first shift.
    # The link stands alone in the Chinese text (a space after it), so a phone makes all of it, and only it, a link.
    link = re.search(r"http://localhost(/invite/[0-9A-Z-]+) ", sms["13800005678"]).group(1)
    volunteer = make_client()
    assert volunteer.post(link, {"new_password": VOLUNTEER_PASSWORD, "confirm": VOLUNTEER_PASSWORD}).status_code == 302
    volunteer.logout()
    volunteer.login("13800005678", VOLUNTEER_PASSWORD)
    tomorrow = utcnow() + timedelta(days=1)
    shift = db.session.scalars(select(Shift).where(Shift.starts_at > tomorrow).order_by(Shift.starts_at)).first()
    db.session.commit()
    assert volunteer.post(f"/duty/shifts/{shift.id}/signup").status_code in (302, 303)
    db.session.expire_all()
    assert db.session.get(Shift, shift.id).filled == 1
