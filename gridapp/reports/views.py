"""The daily reports: a list of days, one report (phone, print, xlsx), its versions, regenerating
one with a reason, and the town's wording."""
from datetime import timedelta

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from gridapp.core import xlsx
from gridapp.core.acting import act
from gridapp.core.xlsx import Column
from gridapp.extensions import db
from gridapp.policy import can, require, scope_of
from gridapp.reports import services
from gridapp.reports.figures import FIGURES
from gridapp.reports.forms import RegenerateForm, TemplateForm
from gridapp.reports.models import DailyReport
from gridapp.timeutil import town_today

bp = Blueprint("reports", __name__, template_folder="templates")

LIST_DAYS = 31

# The figures in the order and with the words of the report's tables: (section, [(name, label)]).
SECTIONS = [
    (_l("Duty"), [("duty_checkpoints", _l("Checkpoints")), ("duty_shifts", _l("Shifts")),
                  ("duty_staffed", _l("Staffed")), ("duty_short", _l("Short of people")),
                  ("duty_empty", _l("Nobody on duty")), ("duty_volunteers", _l("Volunteers on duty")),
                  ("duty_hours", _l("Hours served"))]),
    (_l("Errands"), [("errands_filed", _l("Filed")), ("errands_delivered", _l("Delivered")),
                     ("errands_open", _l("Still open"))]),
    (_l("Disinfection"), [("rounds_due", _l("Rounds due")), ("rounds_done", _l("Done")),
                          ("rounds_missed", _l("Missed")), ("rounds_rate", _l("Rate")),
                          ("rounds_open", _l("Windows still open"))]),
    (_l("Supervision"), [("findings", _l("Findings")), ("items_issued", _l("Items issued")),
                         ("items_rectified", _l("Rectified")), ("items_overdue", _l("Overdue")),
                         ("items_escalated", _l("Escalated")), ("interviews", _l("Interviews")),
                         ("circulars", _l("Circulars"))]),
    (_l("Screening"), [("screening_visited", _l("Households visited today")),
                       ("screening_returnees", _l("Returnees found today")),
                       ("screening_revisit", _l("To visit again")),
                       ("screening_done", _l("Visited so far")),
                       ("screening_households", _l("Households in the campaigns"))]),
    (_l("Home observation"), [("observation_active", _l("Under observation")),
                              ("observation_fevers", _l("Fever reports")),
                              ("observation_ended", _l("Observations ended"))]),
]
assert {name for _s, rows in SECTIONS for name, _l2 in rows} == set(FIGURES)


def _report_or_404(report_id: int) -> DailyReport:
    report = db.session.get(DailyReport, report_id)
    if report is None or not can(current_user, "view", report):
        abort(404)
    return report


def _value(figures: dict, name: str):
    value = figures.get(name)
    if value is None:  # a rate of nothing, or a figure a report written before it existed lacks
        return "—"
    return f"{value}%" if name == "rounds_rate" else value


@bp.get("/")
@login_required
def index():
    require(current_user, "view_reports")
    s = scope_of(current_user)
    today = town_today()
    communities = None if (s.admin or s.town_wide) else sorted(s.communities)
    reports = services.latest_versions(today - timedelta(days=LIST_DAYS - 1), today, communities)
    days: list = []
    for r in reports:
        if not days or days[-1][0] != r.day:
            days.append((r.day, []))
        days[-1][1].append(r)
    return render_template("reports/index.html", days=days, report_time=services.report_time(),
                           can_edit_template=can(current_user, "edit_report_template"))


def _page(report: DailyReport, form=None):
    return render_template("reports/report.html", report=report,
                  figures=services.figures_of(report), sections=SECTIONS, value=_value,
                  versions=services.versions_of(report),
                  communities=services.communities_of_day(report) if report.community_id is None else [],
                  town_report=(None if report.community_id is None else next(
                      (r for r in services.latest_versions(report.day, report.day) if r.community_id is None), None)),
                  form=form or RegenerateForm(formdata=None), can_regenerate=can(current_user, "regenerate", report))


@bp.get("/<int:report_id>")
@login_required
def report(report_id):
    return _page(_report_or_404(report_id))


@bp.post("/<int:report_id>/regenerate")
@login_required
def regenerate(report_id):
    r = _report_or_404(report_id)
    require(current_user, "regenerate", r)
    form = RegenerateForm()
    return act(lambda: services.regenerate(r, current_user, form.reason.data),
               done=_("The report was written again as a new version."),
               show=lambda form=None, refused=None: _page(r, form),
               back=lambda new: url_for("reports.report", report_id=new.id),
               refused_back=url_for("reports.report", report_id=r.id), form=form)


@bp.get("/<int:report_id>.xlsx")
@login_required
def download(report_id):
    r = _report_or_404(report_id)
    title = _("Daily report: %(place)s, %(day)s", place=services.place_name(r), day=r.day.isoformat())
    book = xlsx.Book(xlsx.heading(title, current_user, r.day, r.day, community=r.community))
    figures = services.figures_of(r)
    sheet = book.sheet(_("Figures"), [Column(_("Section"), 14), Column(_("Figure"), 22), Column(_("Value"), 10)])
    for section, rows in SECTIONS:
        for name, label in rows:
            sheet.append([str(section), str(label), _value(figures, name)])
    if r.community_id is None:
        communities = services.communities_of_day(r)
        columns = [Column(_("Community"), 16)] + [Column(str(label), 10) for _s, rows in SECTIONS
                                                  for _n, label in rows]
        sheet = book.sheet(_("Communities"), columns)
        for c in communities:
            f = services.figures_of(c)
            sheet.append([c.community.name] + [_value(f, name) for _s, rows in SECTIONS for name, _l2 in rows])
    sheet = book.sheet(_("Text"), [Column(_("Report"), 100)])
    for line in r.text.splitlines():
        sheet.append([line])
    return xlsx.response(book.to_bytes(), f"daily-report-{r.day.isoformat()}-{r.scope_key.replace(':', '-')}"
                                          f"-v{r.version}.xlsx")


@bp.route("/template", methods=["GET", "POST"])
@login_required
def template():
    require(current_user, "edit_report_template")
    kind = request.values.get("kind") if request.values.get("kind") in services.TEMPLATE_KINDS else "town"
    form = TemplateForm(data={"kind": kind, "body": services.template_for(kind)}
                        if request.method == "GET" else None)

    def show(form=form, refused=None):
        return render_template("reports/template.html", form=form, figures=FIGURES,
                      labels={name: label for _s, rows in SECTIONS for name, label in rows})

    if request.method == "GET":
        return show()
    return act(lambda: services.save_template(current_user, form.kind.data, form.body.data),
               done=_("Saved. The next reports use this wording."), show=show,
               back=url_for("reports.template", kind=form.kind.data), form=form)
