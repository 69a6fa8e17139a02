"""People from a spreadsheet: accounts by mobile number with their roles on places, no password, and an
invitation whose link goes out by SMS from the import job and lets them set their own."""
import re

from sqlalchemy import func, select

from gridapp.auth.models import Invitation, User
from gridapp.extensions import db
from gridapp.notifications.models import OutboxMessage
from tests.exports import personal
from tests.imports.helpers import last_run, upload, xlsx_bytes
from tests.notifications.servers import HTTPPeer
from tests.workers import run_burst_worker

HEADERS = ["姓名", "手机号", "社区", "网格", "小区", "角色", "党员", "用户名"]
PASSWORD = "maple-river-91"


def _job(run_id):
    from jobs.imports import run_import

    db.session.commit()
    return run_import(run_id)


def _user(phone):
    db.session.expire_all()
    return db.session.scalars(select(User).where(User.phone == phone)).first()


def test_people_arrive_with_their_roles_and_an_invitation_by_sms(app, client, make_client, world):
    rows = [HEADERS,
            ["李梅", "138 0000 5678", "城关社区", "", "", "志愿者", "是", ""],
            ["周强", "13800005679", "城关社区", "第一网格", "阳光小区", "网格员、楼院长", "否", "zhouqiang"],
            ["钱书记", "13800005680", "城关社区", "", "", "书记", "是", ""],  # not the secretary's to give
            ["无角色", "13800005681", "城关社区", "", "", "", "", ""],
            ["网格员甲", "13800005682", "城关社区", "", "", "网格员", "", ""],  # a grid member needs the grid
            ["外人", "13800005683", "东城社区", "", "", "志愿者", "", ""],
            ["Vol1", "13800005684", "城关社区", "", "", "志愿者", "", "vol1"]]  # vol1 is someone's username
    with HTTPPeer(answer={"ok": True}) as gateway:
        app.config["SMS_GATEWAY_URL"] = gateway.url + "/send"
        client.login("secretary1")
        upload(client, "accounts", xlsx_bytes(rows), name="志愿者名单.xlsx")
        run = last_run()
        p = run.preview
        assert (p["created"], p["skipped"]) == (2, 5), p
        problems = {line: column for line, column, _m in p["problems"]}
        assert problems == {4: "角色", 5: "角色", 6: "网格", 7: "社区", 8: "用户名"}
        assert db.session.scalar(select(func.count(Invitation.id))) == 0  # the preview invited no one
        assert db.session.scalar(select(func.count(OutboxMessage.id))) == 0

        client.post(f"/imports/{run.id}/confirm")
        report = _job(run.id)
        assert report["created"] == 2
        li, zhou = _user("13800005678"), _user("13800005679")
        assert (li.username, li.display_name, li.is_party_member, li.password_hash) == ("13800005678", "李梅", True,
                                                                                          None)
        assert sorted((r.role, r.scope_id) for r in li.roles) == [("volunteer", world.c1.id)]
        assert sorted((r.role, r.scope_id) for r in zhou.roles) == [("building_head", world.k1.id),
                                                                     ("grid_member", world.g1.id)]
        assert zhou.username == "zhouqiang"
        done = run_burst_worker(app)
        assert done.returncode == 0, done.stderr[-2000:]
    texts = {r["json"]["to"]: r["json"]["text"] for r in gateway.requests}
    assert set(texts) == {"13800005678", "13800005679"}
    path = re.search(r"http://localhost(/invite/\S+)", texts["13800005678"]).group(1)

    # 李梅 follows the link from her SMS, chooses her password, and is a volunteer of 城关社区.
    li_client = make_client()
    assert li_client.post(path, {"new_password": PASSWORD, "confirm": PASSWORD}).status_code == 302
    li_client.logout()
    li_client.login("13800005678", PASSWORD)
    assert li_client.get("/errands/").status_code == 200


def test_the_same_list_again_changes_nothing_and_adds_a_role_without_removing_one(client, world):
    client.login("admin")
    rows = [HEADERS, ["李梅", "13800005678", "城关社区", "", "", "志愿者", "是", ""]]
    for expected in ((1, 0, 0), (0, 0, 1)):
        upload(client, "accounts", xlsx_bytes(rows))
        run = last_run()
        client.post(f"/imports/{run.id}/confirm")
        report = _job(run.id)
        assert (report["created"], report["updated"], report["unchanged"]) == expected
    assert db.session.scalar(select(func.count(Invitation.id))) == 1  # invited once, not again
    rows[1][5] = "网格员"
    rows[1][3] = "第二网格"
    upload(client, "accounts", xlsx_bytes(rows))
    run = last_run()
    client.post(f"/imports/{run.id}/confirm")
    assert _job(run.id)["updated"] == 1
    assert sorted(r.role for r in _user("13800005678").roles) == ["grid_member", "volunteer"]


def test_a_secretary_cannot_reach_an_account_of_another_community(client, world):
    client.login("secretary1")
    # secretary2 and gridder3 serve 东城社区, pm1 a property company: matched by phone, they are not touched.
    world.sec2.phone, world.gm3.phone, world.pm1.phone = "13800009998", "13800009999", "13800009997"
    db.session.commit()
    rows = [HEADERS] + [["改名", phone, "城关社区", "", "", "志愿者", "", ""]
                        for phone in ("13800009998", "13800009999", "13800009997")]
    upload(client, "accounts", xlsx_bytes(rows))
    p = last_run().preview
    assert p["skipped"] == 3 and {c for _l, c, _m in p["problems"]} == {"手机号"}
    client.logout()
    client.login("admin")  # the administrator reaches everyone
    upload(client, "accounts", xlsx_bytes(rows))
    assert last_run().preview["updated"] == 3


def test_the_export_of_people_imports_back_unchanged(client, world):
    client.login("secretary1")
    client.confirm_password()
    exported = client.get(personal("/imports/export/accounts.xlsx"))
    assert exported.status_code == 200
    upload(client, "accounts", exported.data, name="people.xlsx")
    p = last_run().preview
    # secretary1 comes back as she is; gridder1, head1 and vol1 have no phone, the natural key: they
    # are listed, and skipped with the reason.
    assert (p["total"], p["unchanged"], p["created"], p["updated"], p["skipped"]) == (4, 1, 0, 0, 3), p
    assert {column for _l, column, _m in p["problems"]} == {"手机号"}
