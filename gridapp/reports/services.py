"""The rules of daily reports: written once per (scope, day) by the evening job, never recomputed
silently; regenerated only by a person with a reason (a new version, audited, the earlier kept);
written up in the town's own wording; delivered up the grid (aggregates only to group robots)."""
import json
import re
from datetime import date, datetime, time

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from gridapp.audit.services import record
from gridapp.auth.services import holders, town_leaders
from gridapp.core.rules import RuleError
from gridapp.extensions import db
from gridapp.grid.models import Community, Town
from gridapp.notifications.group import GroupText, Percent
from gridapp.notifications.kinds import kind
from gridapp.notifications.services import notify
from gridapp.reports.figures import FIGURES, TOWN, day_figures
from gridapp.reports.models import DailyReport, ReportTemplate
from gridapp.timeutil import town_days, town_today, town_zone, utcnow

NOTICE_KINDS = (kind("daily_report", _l("Daily reports (日报)"), channels=("email",),
                     roles={"town_leader", "secretary"}),)

# The wording a town sends up, until the town writes its own (/reports/template). Placeholders
# are {figure names} (FIGURES), {place}, {day} and {cutoff}; anything else is left as written.
DEFAULT_TEMPLATES = {
    "zh": (
        "{place}疫情防控工作日报（{day}）\n"
        "一、值班值守：{duty_checkpoints}个检查点排班{duty_shifts}班次，其中人员足额{duty_staffed}班次、"
        "缺人{duty_short}班次、空岗{duty_empty}班次；{duty_volunteers}名志愿者上岗，服务{duty_hours}小时。\n"
        "二、代办代买：新登记{errands_filed}件，送达{errands_delivered}件，尚未办结{errands_open}件。\n"
        "三、消毒消杀：应消毒{rounds_due}次，已完成{rounds_done}次，漏做{rounds_missed}次，完成率{rounds_rate}。\n"
        "四、督查督办：发现问题{findings}个，下发整改事项{items_issued}条，整改销号{items_rectified}条，"
        "逾期未整改{items_overdue}条，升级督办{items_escalated}条；当日约谈{interviews}人、印发通报{circulars}期。\n"
        "五、入户排查：当日走访{screening_visited}户，发现外地来（返）人员{screening_returnees}人；"
        "累计走访{screening_done}户（共{screening_households}户），待再访{screening_revisit}户。\n"
        "六、居家留观：在管{observation_active}人，当日发热或有症状报告{observation_fevers}人次，解除留观{observation_ended}人。\n"
        "（数据截至{cutoff}）"
    ),
    "en": (
        "{place} epidemic prevention daily report ({day})\n"
        "1. Duty: {duty_checkpoints} checkpoints, {duty_shifts} shifts: {duty_staffed} staffed, {duty_short} short, "
        "{duty_empty} empty; {duty_volunteers} volunteers on duty served {duty_hours} hours.\n"
        "2. Errands: {errands_filed} filed, {errands_delivered} delivered, {errands_open} still open.\n"
        "3. Disinfection: {rounds_due} rounds due, {rounds_done} done, {rounds_missed} missed, rate {rounds_rate}.\n"
        "4. Supervision: {findings} findings, {items_issued} items issued, {items_rectified} rectified, "
        "{items_overdue} overdue, {items_escalated} escalated; {interviews} interviews, {circulars} circulars today.\n"
        "5. Screening: {screening_visited} households visited today, {screening_returnees} returnees found; "
        "{screening_done} of {screening_households} households visited so far, {screening_revisit} to visit again.\n"
        "6. Home observation: {observation_active} people under observation, {observation_fevers} reports of fever "
        "or symptoms, {observation_ended} observations ended.\n"
        "(Figures as of {cutoff})"
    ),
}
TEMPLATE_KINDS = ("town", "community")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
MAX_TEMPLATE = 5000


def report_time() -> time:
    """When the evening job writes the day's reports (DAILY_REPORT_TIME, town time)."""
    return current_app.config.get("DAILY_REPORT_TIME") or time(20, 0)


def scope_key(community_id: int | None) -> str:
    return "town" if community_id is None else f"community:{community_id}"


# --- the wording ----------------------------------------------------------------------------------

def default_template() -> str:
    locale = str(current_app.config.get("BABEL_DEFAULT_LOCALE", "zh"))
    return DEFAULT_TEMPLATES["en" if locale.startswith("en") else "zh"]


def template_for(kind_: str) -> str:
    row = db.session.get(ReportTemplate, kind_)
    return row.body if row is not None else default_template()


def check_template(body: str) -> str:
    """The template as it will be stored, or a RuleError naming what is wrong."""
    body = (body or "").replace("\r\n", "\n").strip()
    if not body:
        raise RuleError(_("Write the report's wording."), "body")
    if len(body) > MAX_TEMPLATE:
        raise RuleError(_("At most %(n)d characters.", n=MAX_TEMPLATE), "body")
    unknown = sorted({name for name in _PLACEHOLDER.findall(body)} - set(FIGURES) - {"place", "day", "cutoff"})
    if unknown:
        raise RuleError(_("Unknown placeholders: %(names)s", names=", ".join("{" + n + "}" for n in unknown)),
                        "body")
    return body


def save_template(actor, kind_: str, body: str, now: datetime | None = None) -> ReportTemplate:
    if kind_ not in TEMPLATE_KINDS:
        raise RuleError(_("Choose a kind from the list."), "kind")
    body = check_template(body)
    row = db.session.get(ReportTemplate, kind_)
    if row is None:
        row = ReportTemplate(kind=kind_, body=body)
        db.session.add(row)
    row.body, row.updated_at, row.updated_by_id = body, now or utcnow(), actor.id
    record("report_template_saved", None, kind_, actor=actor)
    return row


def render_text(template: str, figures: dict, place: str, day: date, cutoff: datetime) -> str:
    values = {name: ("—" if figures.get(name) is None else figures[name]) for name in FIGURES}
    if figures.get("rounds_rate") is not None:
        values["rounds_rate"] = f"{figures['rounds_rate']}%"
    values.update(place=place, day=day.isoformat(),
                  cutoff=cutoff.astimezone(town_zone()).strftime("%Y-%m-%d %H:%M"))
    return _PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), m.group(0))), template)


# --- writing reports -------------------------------------------------------------------------------

def _insert():
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(DailyReport)


def _places() -> tuple[str, list[Community]]:
    return town_name(), list(db.session.scalars(select(Community).order_by(Community.id)))


def town_name() -> str:
    return db.session.scalar(select(Town.name).order_by(Town.id).limit(1)) or ""


def place_name(report: DailyReport) -> str:
    """The community a report is of, or the town."""
    return report.community.name if report.community is not None else town_name()


def write_day(day: date, cutoff: datetime) -> list[DailyReport]:
    """The evening job: the day's first version for the town and every community, as of `cutoff`.
    A (scope, day) already written is left as it is (two schedulers, a re-run: nothing new).
    Returns the reports written now."""
    town, communities = _places()
    figures = day_figures(day, cutoff, [c.id for c in communities])
    rows = []
    for community in [None, *communities]:
        cid = None if community is None else community.id
        f = figures[TOWN if community is None else cid]
        place = town if community is None else community.name
        text = render_text(template_for("town" if community is None else "community"), f, place, day, cutoff)
        rows.append({"scope_key": scope_key(cid), "community_id": cid, "day": day, "version": 1, "cutoff_at": cutoff,
                     "figures": json.dumps(f, sort_keys=True), "text": text, "created_at": cutoff,
                     "created_by_id": None, "reason": ""})
    ids = db.session.scalars(_insert().on_conflict_do_nothing(index_elements=["scope_key", "day", "version"])
                             .returning(DailyReport.id), rows).all()
    return list(db.session.scalars(select(DailyReport).where(DailyReport.id.in_(ids)).order_by(DailyReport.id)))


def regenerate(report: DailyReport, actor, reason: str, now: datetime | None = None) -> DailyReport:
    """A new version of this report's (scope, day), as the day stands now (up to its end), with who
    and why; the earlier versions stay."""
    reason = (reason or "").strip()
    if not reason:
        raise RuleError(_("Say why the report is written again."), "reason")
    now = now or utcnow()
    cutoff = min(now, town_days(report.day, report.day)[1])
    ids = ([c.id for c in _places()[1]] if report.community_id is None else [report.community_id])
    figures = day_figures(report.day, cutoff, ids)[TOWN if report.community_id is None else report.community_id]
    place = place_name(report)
    latest = db.session.scalar(select(func.max(DailyReport.version)).where(DailyReport.scope_key == report.scope_key,
                                                                          DailyReport.day == report.day))
    text = render_text(template_for("town" if report.community_id is None else "community"), figures, place,
                       report.day, cutoff)
    new_id = db.session.scalar(_insert().on_conflict_do_nothing(index_elements=["scope_key", "day", "version"])
                               .values(scope_key=report.scope_key, community_id=report.community_id, day=report.day,
                                       version=latest + 1, cutoff_at=cutoff,
                                       figures=json.dumps(figures, sort_keys=True),
                                       text=text, created_at=now, created_by_id=actor.id, reason=reason[:500])
                               .returning(DailyReport.id))
    if new_id is None:
        raise RuleError(_("Someone wrote this report again at the same moment; reload the page."))
    new = db.session.get(DailyReport, new_id)
    record("report_regenerated", new, _("version %(n)d", n=new.version) + ": " + reason[:500], actor=actor)
    return new


def deliver(reports: list[DailyReport], now: datetime | None = None) -> int:
    """Each report to its readers' inboxes and e-mail (the town's to the town leaders, a community's
    to its secretaries), and a community's figures as a short text to its group robots: numbers
    only, never a name, address, phone or health detail."""
    now = now or utcnow()
    secretaries = holders("secretary", [r.community_id for r in reports if r.community_id])
    leaders = town_leaders() if any(r.community_id is None for r in reports) else []
    told = 0
    for r in reports:
        title = _("Daily report: %(place)s, %(day)s", place=place_name(r), day=r.day.isoformat())
        recipients = leaders if r.community_id is None else secretaries.get(r.community_id, [])
        places = [r.community] if r.community is not None else []
        res = notify(recipients, "daily_report", title, r.text, dedupe_key=f"daily-report:{r.id}",
                     link=f"/reports/{r.id}", places=places, group_text=robot_text(r) if places else None, now=now)
        told += res.inbox
    return told


ROBOT_TITLE = _l("Daily report: %(place)s, %(day)s")
ROBOT_FIGURES = _l("Shifts %(staffed)d/%(shifts)d staffed, %(empty)d empty; errands %(filed)d filed, %(delivered)d "
                   "delivered, %(open)d open; disinfection %(done)d/%(due)d (%(rate)s); items overdue %(overdue)d.")


def robot_text(report: DailyReport) -> GroupText:
    """A community's report for its group chats: its place and day, its numbers and its link."""
    f = figures_of(report)
    return GroupText(ROBOT_TITLE, ROBOT_FIGURES, link=f"/reports/{report.id}", place=report.community,
                     day=report.day, staffed=f["duty_staffed"], shifts=f["duty_shifts"], empty=f["duty_empty"],
                     filed=f["errands_filed"], delivered=f["errands_delivered"], open=f["errands_open"],
                     done=f["rounds_done"], due=f["rounds_due"], rate=Percent(f.get("rounds_rate")),
                     overdue=f["items_overdue"])


def evening(now: datetime | None = None) -> dict:
    """The job: today's reports as of now (it runs at report_time()), delivered once."""
    now = now or utcnow()
    written = write_day(town_today(now), now)
    told = deliver(written, now) if written else 0
    return {"reports": len(written), "notices": told}


# --- reading --------------------------------------------------------------------------------------

def figures_of(report: DailyReport) -> dict:
    return json.loads(report.figures or "{}")


def latest_versions(day_from: date, day_to: date, community_ids=None) -> list[DailyReport]:
    """The latest version of each report between two days (both included), newest day first; only
    these communities' (and the town's) when community_ids is given."""
    latest = (select(DailyReport.scope_key, DailyReport.day, func.max(DailyReport.version).label("v"))
              .where(DailyReport.day >= day_from, DailyReport.day <= day_to)
              .group_by(DailyReport.scope_key, DailyReport.day).subquery())
    stmt = (select(DailyReport).join(latest, (latest.c.scope_key == DailyReport.scope_key)
                                     & (latest.c.day == DailyReport.day) & (latest.c.v == DailyReport.version))
            .order_by(DailyReport.day.desc(), DailyReport.community_id.is_not(None), DailyReport.community_id))
    if community_ids is not None:
        stmt = stmt.where((DailyReport.community_id.is_(None)) | (DailyReport.community_id.in_(community_ids)))
    return list(db.session.scalars(stmt))


def versions_of(report: DailyReport) -> list[DailyReport]:
    return list(db.session.scalars(select(DailyReport).where(DailyReport.scope_key == report.scope_key,
                                                             DailyReport.day == report.day)
                                   .order_by(DailyReport.version.desc())))


def communities_of_day(report: DailyReport) -> list[DailyReport]:
    """The latest version of each community's report of the town report's day."""
    return [r for r in latest_versions(report.day, report.day) if r.community_id is not None]
