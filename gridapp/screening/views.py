"""Screening pages: the campaigns, opening one, its coverage, "my visits", recording a visit, closing."""
from datetime import date, datetime, timedelta
from typing import NamedTuple

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup, escape

from gridapp.core.acting import act
from gridapp.core.fragments import drawn_rows
from gridapp.core.http import ListPage, form_status, paginate
from gridapp.core.params import id_arg
from gridapp.core.rules import RuleError
from gridapp.core.security import mark_personal
from gridapp.core.templating import Labels
from gridapp.extensions import db
from gridapp.grid.models import household_label
from gridapp.policy import allowed, can, require
from gridapp.privacy import services as privacy
from gridapp.screening import services
from gridapp.screening.forms import CampaignForm, CloseForm, VisitForm
from gridapp.screening.models import ITEMS, ScreeningCampaign
from gridapp.screening.policy import CAMPAIGN_LABELS, VISIT_LABELS, revisit_due
from gridapp.timeutil import to_local, town_today, utcnow

bp = Blueprint("screening", __name__, template_folder="templates")

MINE_PAGE_SIZE = 50  # a building head's compound fits on one page
MINE_DONE = 10  # visited lately, on the same page


def _labels() -> dict:
    return {"campaign_labels": Labels(CAMPAIGN_LABELS), "visit_labels": Labels(VISIT_LABELS),
            "item_labels": Labels(services.ITEM_LABELS), "level_labels": Labels(services.LEVEL_LABELS), "items": ITEMS,
            "place_label": services.place_label}


@bp.get("/")
@login_required
def index():
    require(current_user, "view_screening")
    page = paginate(services.campaigns_for(current_user))
    counts = services.counts_by_campaign([c.id for c in page.items], current_user)
    return render_template("screening/index.html", campaigns=page, counts=counts, today=town_today(), **_labels())


def _new_page(form):
    form.places.choices = [(c.key, c.label) for c in services.place_choices(current_user)]
    return render_template("screening/new.html", form=form), form_status(form)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    require(current_user, "open_campaign")
    if request.method == "GET":
        today = town_today()
        form = CampaignForm(formdata=None, starts_on=today, ends_on=today + timedelta(days=6),
                            town_wide=can(current_user, "open_town_campaign"))
        return _new_page(form)
    form = CampaignForm()
    if form.validate_on_submit():
        try:
            campaign = services.open_campaign(current_user, form.values())
        except RuleError as exc:
            db.session.rollback()
            form[exc.field if exc.field in form else "name"].errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Campaign opened: %(n)d households to visit.", n=services.campaign_counts(campaign).total),
                  "success")
            return redirect(url_for("screening.campaign", campaign_id=campaign.id), code=303)
    return _new_page(form)


def _campaign_or_404(campaign_id: int, action: str = "view") -> ScreeningCampaign:
    campaign = db.get_or_404(ScreeningCampaign, campaign_id)
    if not can(current_user, "view", campaign):
        abort(404)  # a campaign of someone else's places: as if it did not exist
    require(current_user, action, campaign)
    return campaign


def _narrowing() -> services.Narrowing:
    return services.Narrowing(id_arg("community"), id_arg("grid"), id_arg("compound"))


# Stand-ins for a resident's data in a kept row (gridapp/core/fragments.py): put in per response.
LABEL, HEAD = "\x00household\x00", "\x00head-of-household\x00"


class VisitRow(NamedTuple):
    """A household to visit on "my visits" (screening/_visit_row.html), remembered by these values."""

    id: int
    status: str
    state: str  # the status's name
    revisit_on: date | None
    due: bool  # nobody was home and the day to come back has come
    again_head: bool  # the first to visit again: the part's heading comes before it
    compound_head: str | None  # the first of its compound (never visited): the compound's heading before it
    again: bool  # in the "to visit again" part: the compound's name beside the household
    compound: str
    label: str = LABEL
    head_name: str = HEAD


class DoneRow(NamedTuple):
    """A household visited lately, on "my visits"."""

    id: int
    status: str
    state: str
    revisit_on: date | None
    compound: str
    visited_at: datetime | None
    recorded_by: str | None
    label: str = LABEL


def _visit_rows(to_visit, done, today) -> tuple[Markup, Markup]:
    """The two lists of "my visits" (rows of services.own_statements()), drawn a row at a time and
    remembered by their values; each household's label and head's name put in by this response,
    escaped."""
    labels = Labels(VISIT_LABELS)
    rows, compound, again = [], None, False
    for v in to_visit:
        again_head = v.status == "nobody_home" and not again
        again = again or again_head
        compound_head = None
        if not again and compound != v.compound_id:
            compound, compound_head = v.compound_id, v.compound
        rows.append(VisitRow(v.id, v.status, labels[v.status], v.revisit_on,
                             revisit_due(v.status, v.revisit_on, today),
                             again_head, compound_head, again, v.compound))
    done_rows = [DoneRow(v.id, v.status, labels[v.status], v.revisit_on, v.compound, v.visited_at, v.recorded_by)
                 for v in done]

    def label(v) -> str:
        return str(escape(household_label(v.building, v.unit, v.room)))

    return (drawn_rows("screening/_visit_row.html", "to_visit_row", rows,
                       fill=lambda i: {LABEL: label(to_visit[i]), HEAD: str(escape(to_visit[i].head_name))}),
            drawn_rows("screening/_visit_row.html", "done_row", done_rows, fill=lambda i: {LABEL: label(done[i])}))


class CoverageRow(NamedTuple):
    """A place of the coverage table (screening/_coverage_row.html) and its figures: the row is
    remembered under these values (gridapp/core/fragments.py)."""

    kind: str  # community, grid, compound
    campaign_id: int
    id: int
    name: str
    visited: int
    total: int
    pending: int
    revisit: int
    refused: int


def coverage_rows(campaign, cov: services.Coverage, show_compounds: bool) -> Markup:
    """The coverage table's rows: each community, its grids and (when shown) their compounds, each
    drawn once per process for its figures."""
    rows = []

    def add(place):
        n = place.counts
        rows.append(CoverageRow(place.kind, campaign.id, place.id, place.name, n.visited, n.total, n.pending,
                                n.revisit, n.refused))

    for c in cov.communities:
        add(c)
        for g in c.children:
            add(g)
            if show_compounds:
                for k in g.children:
                    add(k)
    return drawn_rows("screening/_coverage_row.html", "coverage_row", rows)


def _campaign_page(campaign, close_form=None, status=200):
    narrowing = _narrowing()
    cov = services.coverage(campaign, current_user, narrowing)
    page = paginate(services.to_visit_query(campaign, current_user, narrowing),
                    total=services.listed_to_do(cov, current_user))
    visits = page.items
    if visits:
        mark_personal()
        privacy.record_list_look(current_user, "screening_coverage", [v.household for v in visits])
    if close_form is None and allowed(current_user, "close", campaign):
        close_form = CloseForm(formdata=None)
    compounds = sum(len(g.children) for c in cov.communities for g in c.children)
    return render_template(
        "screening/campaign.html", campaign=campaign, cov=cov, to_visit=page, narrowing=narrowing,
        pager_args=narrowing.args(), close_form=close_form, reminders=services.campaign_reminders(campaign),
        show_compounds=bool(narrowing.args()) or compounds <= 24, may_mine=can(current_user, "mine", campaign),
        coverage_rows=coverage_rows, **_labels()), status


@bp.get("/<int:campaign_id>")
@login_required
def campaign(campaign_id):
    return _campaign_page(_campaign_or_404(campaign_id))


@bp.post("/<int:campaign_id>/close")
@login_required
def close(campaign_id):
    campaign = _campaign_or_404(campaign_id, "close")
    form = CloseForm()
    return act(lambda: services.close_campaign(campaign, current_user, form.reason.data or ""),
               done=_("Campaign closed."), form=form,
               show=lambda form=None, refused=None: _campaign_page(campaign, close_form=form)[0],
               back=url_for("screening.campaign", campaign_id=campaign.id))


@bp.get("/<int:campaign_id>/mine")
@login_required
def mine(campaign_id):
    campaign = _campaign_or_404(campaign_id, "mine")
    stmts = services.own_statements(current_user)
    counts = services.own_counts(campaign, current_user)
    page = ListPage([], per_page=MINE_PAGE_SIZE, total=counts.to_do)  # ?page=, clamped to the pages there are
    page.items = to_visit = db.session.execute(stmts.to_visit, {
        "campaign": campaign.id, "limit": page.per_page, "offset": (page.page - 1) * page.per_page}).all()
    done = db.session.execute(stmts.visited, {"campaign": campaign.id, "limit": MINE_DONE}).all()
    if to_visit or done:
        mark_personal()
        privacy.record_places_look(current_user, "screening_visits",
                                   ((v.compound_id, v.compound, v.community_id) for v in (*to_visit, *done)))
    to_visit_rows, done_rows = _visit_rows(page.items, done, town_today())
    return render_template("screening/mine.html", campaign=campaign, to_visit=page, to_visit_rows=to_visit_rows,
                           done_rows=done_rows, counts=counts)


def _visit_or_404(visit_id: int):
    visit = services.visit_with_place(visit_id)
    if visit is None or not can(current_user, "view", visit):
        abort(404)
    return visit


def _visit_page(visit, form=None, refused=None):
    mark_personal()
    may_record = allowed(current_user, "record", visit)
    if may_record and form is None:
        form = VisitForm(formdata=None, visited_at=to_local(utcnow()).replace(second=0, microsecond=0, tzinfo=None),
                         attempts=str(visit.attempts), returnees=1, revisit_on=town_today() + timedelta(days=1),
                         **{f"item_{i}": True for i in ITEMS})
    elif form is not None and may_record:
        # Drawn again after someone else recorded meanwhile: the next try is about what is there now.
        form.attempts.data = str(visit.attempts)
    elif form is not None:  # refused, and no longer to record: say why above what is there now
        refused = refused or " ".join(str(e) for e in form.result.errors) or None
    return render_template("screening/visit.html", visit=visit, campaign=visit.campaign, h=visit.household,
                           form=form if may_record else None, refused=refused,
                           may_register=can(current_user, "edit_people", visit.household), **_labels())


@bp.get("/visits/<int:visit_id>")
@login_required
def visit(visit_id):
    visit = _visit_or_404(visit_id)
    privacy.record_household_look(current_user, visit.household, "screening_visit")
    return _visit_page(visit)


@bp.post("/visits/<int:visit_id>")
@login_required
def record(visit_id):
    visit = _visit_or_404(visit_id)
    require(current_user, "record", visit)
    form = VisitForm()

    def back(result):
        if result.status == "returnees" and can(current_user, "edit_people", result.household):
            return url_for("people.household", household_id=result.household_id)
        if can(current_user, "mine", result.campaign):
            return url_for("screening.mine", campaign_id=result.campaign_id)
        return url_for("screening.visit", visit_id=result.id)

    def done(result):
        if result.status == "returnees":
            return _("Recorded. Now register the people who came or returned from outside.")
        return _("Recorded: %(result)s.", result=VISIT_LABELS[result.status])

    return act(lambda: services.record_visit(visit, current_user, form.values(), form.seen_attempts()),
               done=done, form=form, refusal_field="result",
               show=lambda form=None, refused=None: _visit_page(visit, form, refused),
               back=back, refused_back=url_for("screening.visit", visit_id=visit.id))
