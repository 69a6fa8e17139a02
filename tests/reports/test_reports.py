"""Daily reports: the day's figures as of a cut-off, written once per (scope, day) by the evening
job, the same numbers when the day is computed again later, regenerated only with a reason (a new
version, audited), the pages, the Excel file, the town's wording, and delivery up the grid with
nothing personal in group texts."""
import json
from datetime import timedelta
from io import BytesIO

from openpyxl import load_workbook
from sqlalchemy import func, select

from gridapp.audit.models import AuditEvent
from gridapp.duty import services as duty
from gridapp.extensions import db
from gridapp.notifications.models import GroupWebhook, Notification, OutboxMessage
from gridapp.reports.figures import TOWN, day_figures
from gridapp.reports.models import DailyReport
from jobs.cli import register_jobs_cli
from jobs.reports import daily_report
from tests.disinfection.factories import make_points
from tests.duty.factories import DAY, T0, at, make_checkpoint, shift_of
from tests.errands.factories import add_volunteers, delivered, make_errand
from tests.supervision.factories import make_item

CUTOFF = at(DAY, "20:00")


def _a_day(world):
    """DAY in 城关社区 (c1): one checkpoint (one shift of three staffed and served), two errands
    (one delivered), two points × two windows (one round done), one finding."""
    add_volunteers(world)
    cp = make_checkpoint(world.c1, world.k1, min_people=1)
    signup = duty.sign_up(shift_of(cp, label="08:00-16:00"), world.vol1, now=T0)
    db.session.commit()
    duty.check_in(signup, world.vol1, now=at(DAY, "08:05"))
    make_errand(world, now=at(DAY, "09:00"))
    delivered(world, now=at(DAY, "10:00"))
    first, _second = make_points(world.k1, count=2, windows="06:00-10:00,14:00-18:00", now=T0)
    from gridapp.disinfection import services as disinfection

    disinfection.ensure_slots([DAY])
    disinfection.tick(first, world.pm1, token="t1", now=at(DAY, "07:00"))
    make_item(world, now=at(DAY, "09:00"))
    db.session.commit()
    return cp


def test_the_figures_of_a_day_as_of_its_cut_off(world):
    _a_day(world)
    figures = day_figures(DAY, CUTOFF, [world.c1.id, world.c2.id])
    c1 = figures[world.c1.id]
    assert (c1["duty_checkpoints"], c1["duty_shifts"], c1["duty_staffed"], c1["duty_short"], c1["duty_empty"]) \
        == (1, 3, 1, 0, 2)
    assert (c1["duty_volunteers"], c1["duty_hours"]) == (1, 8.0)
    assert (c1["errands_filed"], c1["errands_delivered"], c1["errands_open"]) == (2, 1, 1)
    assert (c1["rounds_due"], c1["rounds_done"], c1["rounds_missed"], c1["rounds_rate"]) == (4, 1, 3, 25)
    assert (c1["findings"], c1["items_issued"]) == (1, 1)
    assert figures[world.c2.id]["duty_shifts"] == 0 and figures[world.c2.id]["rounds_rate"] is None
    town = figures[TOWN]
    assert town["errands_filed"] == 2 and town["rounds_rate"] == 25 and town["duty_volunteers"] == 1


def test_the_evening_job_writes_each_report_once_and_the_same_numbers_come_back_later(app, world):
    _a_day(world)
    db.session.add(GroupWebhook(community_id=world.c1.id, provider="wecom", name="城关群",
                                url="http://127.0.0.1:9/hook", active=True))
    db.session.commit()
    assert daily_report(at=CUTOFF.isoformat()) == {"reports": 3, "notices": 3}  # leader; c1's and c2's secretaries
    assert daily_report(at=CUTOFF.isoformat()) == {"reports": 0, "notices": 0}  # a re-run, a second scheduler
    reports = db.session.scalars(select(DailyReport).order_by(DailyReport.id)).all()
    assert [(r.scope_key, r.version) for r in reports] == [
        ("town", 1), (f"community:{world.c1.id}", 1), (f"community:{world.c2.id}", 1)]
    stored = json.loads(reports[1].figures)
    # After the cut-off the day goes on: a sign-up, an errand, a tick. Computed again as of the
    # same cut-off (`flask jobs run daily-report --at …`), the numbers are the job's.
    from gridapp.errands import services as errands
    from gridapp.errands.models import Errand

    still_open = db.session.scalars(select(Errand).where(Errand.status == "open")).one()
    errands.claim(still_open, world.vol2, now=at(DAY, "20:10"))
    errands.purchase(still_open, world.vol2, "12", now=at(DAY, "20:20"))
    errands.deliver(still_open, world.vol2, "交给本人", now=at(DAY, "20:30"))
    make_errand(world, now=at(DAY, "21:00"))
    db.session.commit()
    assert day_figures(DAY, at(DAY, "23:00"), [world.c1.id])[world.c1.id]["errands_delivered"] == 2
    db.session.commit()
    again = day_figures(DAY, CUTOFF, [world.c1.id, world.c2.id])
    assert again[world.c1.id] == stored
    # The text in the town's formal wording.
    assert "城关社区疫情防控工作日报（2026-03-02）" in reports[1].text
    assert "完成率25%" in reports[1].text and "（数据截至2026-03-02 20:00）" in reports[1].text
    # Delivered: the leader has the town's, each secretary her community's; the robot a short
    # text of numbers, with no name, address, phone or items.
    notices = {n.user_id: n for n in db.session.scalars(
        select(Notification).where(Notification.kind == "daily_report"))}
    assert notices[world.leader.id].link == f"/reports/{reports[0].id}"
    assert notices[world.sec1.id].link == f"/reports/{reports[1].id}"
    robot = db.session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "webhook")).one()
    for private in ("张三", "建设路", "布洛芬", "13800000001", "Vol1", "vol1"):
        assert private not in robot.body + robot.subject
    assert "1/3" in robot.body


def test_the_cli_writes_a_past_day_with_the_same_numbers(app, world):
    _a_day(world)
    db.session.commit()
    register_jobs_cli(app)  # as wsgi.py does
    result = app.test_cli_runner().invoke(args=["jobs", "run", "daily-report", "--at", "2026-03-02T20:00:00+08:00"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    report = db.session.scalars(select(DailyReport).where(DailyReport.community_id == world.c1.id)).one()
    assert json.loads(report.figures) == day_figures(DAY, CUTOFF, [world.c1.id])[world.c1.id]


def _as(make_client, username):
    c = make_client()
    c.login(username)
    return c


def test_pages_who_reads_what(app, world, make_client, clock):
    _a_day(world)
    daily_report(at=CUTOFF.isoformat())
    db.session.commit()
    clock.set(CUTOFF + timedelta(hours=1))
    town, c1, c2 = db.session.scalars(select(DailyReport).order_by(DailyReport.id)).all()
    leader = _as(make_client, "leader")
    listing = leader.get("/reports/").get_data(as_text=True)
    assert all(f'href="/reports/{r.id}"' in listing for r in (town, c1, c2))
    page = leader.get(f"/reports/{town.id}").get_data(as_text=True)
    # The town's report links its communities'.
    assert f'href="/reports/{c1.id}"' in page and f'href="/reports/{c2.id}"' in page
    assert 'data-figure="rounds_rate">25%' in page
    sec1 = _as(make_client, "secretary1")
    mine = sec1.get("/reports/").get_data(as_text=True)
    assert f'href="/reports/{c1.id}"' in mine and f'href="/reports/{c2.id}"' not in mine
    assert sec1.get(f"/reports/{c2.id}").status_code == 404
    assert sec1.get(f"/reports/{town.id}").status_code == 200
    assert _as(make_client, "vol1").get("/reports/").status_code == 403
    assert _as(make_client, "pm1").get(f"/reports/{c1.id}").status_code in (403, 404)
    # The Excel file: the figures, and for the town one line per community.
    book = load_workbook(BytesIO(leader.get(f"/reports/{town.id}.xlsx").data))
    figures = {row[1]: row[2] for row in book.worksheets[0].iter_rows(min_row=3, values_only=True)}
    assert figures["完成率"] == "25%" and figures["已登记"] == 2
    communities = [row[0] for row in book.worksheets[1].iter_rows(min_row=3, values_only=True)]
    assert communities == [world.c1.name, world.c2.name]


def test_writing_a_report_again_needs_a_reason_and_keeps_the_first(app, world, make_client, clock):
    _a_day(world)
    daily_report(at=CUTOFF.isoformat())
    db.session.commit()
    _town, c1, c2 = db.session.scalars(select(DailyReport).order_by(DailyReport.id)).all()
    clock.set(at(DAY + timedelta(days=1), "09:00"))
    sec1 = _as(make_client, "secretary1")
    empty = sec1.post(f"/reports/{c1.id}/regenerate", {"reason": "  "})
    assert empty.status_code == 422 and 'role="alert"' in empty.get_data(as_text=True)
    assert sec1.post(f"/reports/{c2.id}/regenerate", {"reason": "补录"}).status_code == 404
    resp = sec1.post(f"/reports/{c1.id}/regenerate", {"reason": "补录晚上的消毒记录"})
    assert resp.status_code == 303
    versions = db.session.scalars(select(DailyReport).where(DailyReport.scope_key == c1.scope_key)
                                  .order_by(DailyReport.version)).all()
    assert [v.version for v in versions] == [1, 2] and versions[0].text == c1.text
    assert resp.headers["Location"].endswith(f"/reports/{versions[1].id}")
    # The whole day now (to its end): the 16:00-24:00 window's misses are final, the same rounds.
    assert versions[1].created_by_id == world.sec1.id and versions[1].reason == "补录晚上的消毒记录"
    assert versions[1].cutoff_at == at(DAY + timedelta(days=1), "00:00")
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "report_regenerated")).one()
    assert event.actor_id == world.sec1.id and "补录晚上的消毒记录" in event.summary
    page = sec1.get(f"/reports/{versions[1].id}").get_data(as_text=True)
    assert "补录晚上的消毒记录" in page and f'href="/reports/{c1.id}"' in page  # the earlier version listed


def test_the_town_writes_its_own_wording(app, world, make_client):
    leader = _as(make_client, "leader")
    page = leader.get("/reports/template?kind=community").get_data(as_text=True)
    assert "{duty_shifts}" in page
    bad = leader.post("/reports/template", {"kind": "community", "body": "{place}日报 {no_such_figure}"})
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert "{no_such_figure}" in html and "{place}日报" in html  # said, and nothing typed lost
    ok = leader.post("/reports/template", {"kind": "community", "body": "{place} {day}：空岗{duty_empty}班次"})
    assert ok.status_code == 303
    _a_day(world)
    daily_report(at=CUTOFF.isoformat())
    db.session.commit()
    c1 = db.session.scalars(select(DailyReport).where(DailyReport.community_id == world.c1.id)).one()
    assert c1.text == f"{world.c1.name} 2026-03-02：空岗2班次"
    assert _as(make_client, "secretary1").get("/reports/template").status_code == 403
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "report_template_saved")) == 1
