"""Pages of supervision: the dashboard, inspections and findings, rectification items and
their actions, interviews, circulars, the Excel export.

Item actions read the same way: load or 404, `require()` the action, validate the form,
one service call, commit, answer (the item fragment with a toast to htmx, a redirect
otherwise). A refused transition says why, and changes nothing.
"""
from datetime import datetime
from typing import NamedTuple

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from markupsafe import Markup

from gridapp import uploads
from gridapp.core import xlsx
from gridapp.core.acting import act
from gridapp.core.fragments import drawn_rows
from gridapp.core.http import form_status, paginate, render
from gridapp.core.params import id_arg, parse_datetime
from gridapp.core.rules import RuleError
from gridapp.core.templating import Labels
from gridapp.core.xlsx import Column
from gridapp.extensions import db
from gridapp.grid.models import Community
from gridapp.policy import allowed, can, require, scope_of
from gridapp.privacy import exports
from gridapp.supervision import policy, services
from gridapp.supervision.forms import (
    ActionForm,
    CircularForm,
    CommentForm,
    EvidenceForm,
    ExtendForm,
    FindingForm,
    InspectionForm,
    InterviewForm,
    ItemsPeriodForm,
    OwnerForm,
    RejectForm,
    VerifyForm,
)
from gridapp.supervision.models import Circular, Finding, Inspection, Interview, Photo, RectificationItem
from gridapp.timeutil import as_utc, to_local, town_days, town_today, utcnow

bp = Blueprint("supervision", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static")


class ItemRow(NamedTuple):
    """What a rectification item's row in a list shows (supervision/_item_row.html), its labels in the
    viewer's language, at one minute: the row is remembered under these values (gridapp/core/fragments.py)."""

    id: int
    target_name: str
    status: str
    category: str
    severity: str
    level: str | None  # how far up it was escalated
    overdue: bool
    owner: str | None
    due_at: datetime


def item_rows(items, now) -> Markup:
    """The rows of these items, each drawn once per process for what it shows."""
    status, category = Labels(policy.STATUS_LABELS), Labels(services.CATEGORY_LABELS)
    severity, level = Labels(services.SEVERITY_LABELS), Labels(services.LEVEL_LABELS)
    return drawn_rows("supervision/_item_row.html", "item_row", [
        ItemRow(it.id, it.target_name, status[it.status], category[it.category], severity[it.severity],
                level[it.escalation_level] if it.escalation_level else None,
                services.is_overdue(it, now),
                it.owner.display_name if it.owner else None, it.due_at)
        for it in items])


@bp.context_processor
def _labels():
    return {"item_rows": item_rows,
            "status_labels": Labels(policy.STATUS_LABELS), "severity_labels": Labels(services.SEVERITY_LABELS),
            "category_labels": Labels(services.CATEGORY_LABELS), "kind_labels": Labels(services.KIND_LABELS),
            "level_labels": Labels(services.LEVEL_LABELS), "target_labels": Labels(services.TARGET_LABELS),
            "now": utcnow()}


# --- the dashboard --------------------------------------------------------------------------------

def _dashboard_communities():
    """None for the whole town; a secretary's community ids; False: no dashboard for this user."""
    if can(current_user, "supervision_dashboard"):
        return None
    if can(current_user, "community_dashboard"):
        return sorted(scope_of(current_user).communities)
    return False


@bp.get("/")
@login_required
def index():
    communities = _dashboard_communities()
    if communities is False:
        require(current_user, "view_supervision")
        return redirect(url_for("supervision.items", mine=1))
    period = ItemsPeriodForm(request.args)
    start, end = period.shown()
    names = []
    if communities is not None:
        from sqlalchemy import select

        names = db.session.scalars(select(Community.name).where(Community.id.in_(communities))
                                   .order_by(Community.id)).all()
    return render_template("supervision/dashboard.html", personal_columns=ITEMS_PERSONAL,
                           period=period, start=start, end=end,
                           community_names=names, **services.dashboard(start, end, communities=communities))


# --- inspections and findings ----------------------------------------------------------------------

@bp.get("/inspections")
@login_required
def inspections():
    require(current_user, "supervision_dashboard")
    return render_template("supervision/inspections.html",
                           inspections=paginate(services.inspections_for(current_user)))


@bp.route("/inspections/new", methods=["GET", "POST"])
@login_required
def new_inspection():
    require(current_user, "inspect")
    form = InspectionForm(targets=services.target_choices(), team=services.supervision_team())
    if request.method == "GET":
        form.planned_at.data = to_local(utcnow()).replace(tzinfo=None, second=0, microsecond=0)
        form.team_ids.data = [current_user.id]
    if form.validate_on_submit():
        try:
            inspection = services.plan_inspection(current_user, form.values())
        except RuleError as exc:
            form[exc.field or "target"].errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Inspection saved."), "success")
            return redirect(url_for("supervision.inspection", inspection_id=inspection.id))
    return render_template("supervision/inspection_new.html", form=form), form_status(form)


def _finding_form(inspection, formdata=None, choice=None):
    """The finding form: where (the inspected place or a checkpoint inside it) and its owner
    select, holding the staff eligible for that place with the resolved owner pre-selected."""
    if choice is None:
        choice = request.form.get("target", "") if formdata is not False else ""
    target = services.finding_target(inspection, choice) or services.finding_target(inspection, "")
    owners = services.eligible_owners(target) if target else []
    kwargs = {} if formdata is not False else {"formdata": None}
    form = FindingForm(owners=owners, default_owner=target.owner if target else None,
                       targets=services.finding_targets(inspection), **kwargs)
    if formdata is not False and (form.owner_for.data or "") != choice:
        # The place was changed without JavaScript: the owner list was for another place.
        form.owner_id.data = target.owner.id if target and target.owner else None
    form.owner_for.data = choice
    url = url_for("supervision.finding_owner", inspection_id=inspection.id)
    form.target.render_kw = {"hx-get": url, "hx-target": "#owner-field", "hx-swap": "outerHTML",
                             "hx-trigger": "change"}
    return form


def _save_photos(field) -> list[str]:
    """Store every chosen image (gridapp.uploads); all or none: on a bad one, the others go too."""
    files = [f for f in (field.data or []) if getattr(f, "filename", "")]
    if len(files) > services.MAX_PHOTOS:
        raise uploads.UploadRejected(_("At most %(n)d photos at a time.", n=services.MAX_PHOTOS))
    names = []
    try:
        for f in files:
            names.append(uploads.save_image(f))
    except uploads.UploadRejected:
        for name in names:
            uploads.delete_image(name)
        raise
    return names


def _discard(names):
    for name in names:
        uploads.delete_image(name)


@bp.get("/inspections/<int:inspection_id>")
@login_required
def inspection(inspection_id):
    from sqlalchemy.orm import selectinload

    inspection = db.get_or_404(Inspection, inspection_id, options=[
        selectinload(Inspection.team), selectinload(Inspection.findings).selectinload(Finding.item)])
    require(current_user, "view", inspection)
    form = _finding_form(inspection, formdata=False) if can(current_user, "add_finding", inspection) else None
    return render_template("supervision/inspection.html", inspection=inspection, form=form), form_status(form)


@bp.get("/inspections/<int:inspection_id>/finding-owner")
@login_required
def finding_owner(inspection_id):
    """The owner select for the place chosen on the finding form (htmx swaps it in)."""
    inspection = db.get_or_404(Inspection, inspection_id)
    require(current_user, "add_finding", inspection)
    choice = request.args.get("target", "")
    if choice not in services.place_values(services.finding_targets(inspection)):
        choice = ""
    form = _finding_form(inspection, formdata=False, choice=choice)
    return render_template("supervision/_finding_owner.html", form=form)


@bp.post("/inspections/<int:inspection_id>/findings")
@login_required
def add_finding(inspection_id):
    inspection = db.get_or_404(Inspection, inspection_id)
    require(current_user, "add_finding", inspection)
    form = _finding_form(inspection)
    if form.validate_on_submit():
        names = []
        try:
            names = _save_photos(form.photos)
            item = services.record_finding(inspection, current_user, form.values(), photos=names)
        except uploads.UploadRejected as exc:
            form.photos.errors.append(str(exc))
        except RuleError as exc:
            db.session.rollback()
            _discard(names)
            field = exc.field if exc.field in ("owner_id", "photos", "target", "due_at") else "description"
            form[field].errors.append(str(exc))
        else:
            db.session.commit()
            owner = item.owner.display_name if item.owner else _("nobody yet — choose the responsible person")
            flash(_("Finding recorded: item #%(id)d issued to %(owner)s.", id=item.id, owner=owner), "success")
            return redirect(url_for("supervision.inspection", inspection_id=inspection.id))
    return render_template("supervision/inspection.html", inspection=inspection, form=form), form_status(form)


# --- rectification items -------------------------------------------------------------------------

@bp.get("/items")
@login_required
def items():
    require(current_user, "view_supervision")
    status = request.args.get("status", "open")
    if status not in ("", "open", *policy.STATUS_LABELS):
        status = "open"
    mine = request.args.get("mine") == "1"
    overdue = request.args.get("overdue") == "1"
    community = db.session.get(Community, id_arg("community") or 0)  # from a community's today board
    page = paginate(services.items_query(current_user, status=status, mine=mine,
                                          overdue_at=utcnow() if overdue else None,
                                          community_id=community.id if community else None))
    return render_template("supervision/items.html", items=page, status=status, mine=mine, overdue=overdue,
                           community=community)


def _item_context(item, **forms):
    ctx = {"item": item, "history": services.history(item), "comments": services.comments(item),
           "overdue": services.is_overdue(item), "photos": services.photos_of(item)}
    if allowed(current_user, "submit", item):
        ctx["evidence_form"] = forms.get("evidence_form") or EvidenceForm(formdata=None)
    if allowed(current_user, "verify", item):
        ctx["verify_form"] = forms.get("verify_form") or VerifyForm(formdata=None)
        ctx["reject_form"] = forms.get("reject_form") or RejectForm(formdata=None)
    if allowed(current_user, "extend", item):
        form = forms.get("extend_form") or ExtendForm(formdata=None)
        form.seen_due_at.data = item.due_at.isoformat()
        ctx["extend_form"] = form
    if allowed(current_user, "reassign", item):
        form = forms.get("owner_form") or OwnerForm(formdata=None, owner_id=item.owner_id)
        form.owner_id.choices = services.owner_choices()
        ctx["owner_form"] = form
    ctx["comment_form"] = forms.get("comment_form") or CommentForm(formdata=None)
    return ctx


def _show_item(item, **forms):
    return render("supervision/item.html", "supervision/_item.html", **_item_context(item, **forms))


@bp.get("/items/<int:item_id>")
@login_required
def item(item_id):
    item = db.get_or_404(RectificationItem, item_id)
    require(current_user, "view", item)
    return _show_item(item)


def _act(item_id, action, form_cls, do, message, form_name, permission=None):
    """Every item action: load or 404, may see it, may take the action, then core.acting.act()."""
    item = db.get_or_404(RectificationItem, item_id)
    require(current_user, "view", item)
    require(current_user, *(permission or (action, item)))
    form = form_cls()
    if form_cls is OwnerForm:
        form.owner_id.choices = services.owner_choices()
    return act(lambda: do(item, form), done=message, form=form, upload_field="photos",
               show=lambda form=None, refused=None: _show_item(item, **{form_name: form}),
               back=url_for("supervision.item", item_id=item.id))


@bp.post("/items/<int:item_id>/acknowledge")
@login_required
def acknowledge(item_id):
    return _act(item_id, "acknowledge", ActionForm,
                lambda item, form: services.acknowledge(item, current_user), _("Acknowledged."), "ack_form")


@bp.post("/items/<int:item_id>/submit")
@login_required
def submit(item_id):
    def do(item, form):
        names = _save_photos(form.photos)
        try:
            services.submit_evidence(item, current_user, form.evidence.data, photos=names)
        except RuleError:
            _discard(names)
            raise
    return _act(item_id, "submit", EvidenceForm, do, _("Evidence submitted."), "evidence_form")


@bp.get("/items/<int:item_id>/photos/<int:photo_id>")
@login_required
def photo(item_id, photo_id):
    """A photo of an item, for those who may see the item."""
    item = db.get_or_404(RectificationItem, item_id)
    require(current_user, "view", item)
    photo = db.session.get(Photo, photo_id)
    if photo is None or photo.item_id != item.id:
        abort(404)
    try:
        return uploads.send_image(photo.stored_name)
    except FileNotFoundError:
        abort(404)


# Verifying and rejecting: any supervisor may try; the service refuses, with the reason,
# the one who submitted the evidence or an item no longer waiting for a check.
@bp.post("/items/<int:item_id>/verify")
@login_required
def verify(item_id):
    return _act(item_id, "verify", VerifyForm,
                lambda item, form: services.verify(item, current_user, form.note.data or ""),
                _("Verified: the item is closed."), "verify_form", permission=("inspect",))


@bp.post("/items/<int:item_id>/reject")
@login_required
def reject(item_id):
    return _act(item_id, "reject", RejectForm,
                lambda item, form: services.reject(item, current_user, form.reason.data, as_utc(form.due_at.data)),
                _("Rejected: the item went back to its owner."), "reject_form", permission=("inspect",))


def _extend(item, form):
    services.extend_due(item, current_user, as_utc(form.due_at.data), form.reason.data,
                        seen_due_at=parse_datetime(form.seen_due_at.data))


@bp.post("/items/<int:item_id>/extend")
@login_required
def extend(item_id):
    return _act(item_id, "extend", ExtendForm, _extend, _("Due time extended."), "extend_form")


@bp.post("/items/<int:item_id>/owner")
@login_required
def reassign(item_id):
    return _act(item_id, "reassign", OwnerForm,
                lambda item, form: services.reassign(item, current_user, form.owner_id.data),
                _("Responsible person changed."), "owner_form")


@bp.post("/items/<int:item_id>/comments")
@login_required
def comment(item_id):
    return _act(item_id, "comment", CommentForm,
                lambda item, form: services.add_comment(item, current_user, form.body.data),
                _("Comment added."), "comment_form")


# The columns of the items export that name a person or hold what was written about a case.
ITEMS_PERSONAL = (_l("Description"), _l("Responsible person"))


@bp.get("/items.xlsx")
@login_required
def export_items():
    """The items (those this user may see), all or those issued in ?start=…&end=… (town days)."""
    if _dashboard_communities() is False:
        require(current_user, "supervision_dashboard")
    choice = exports.choose(_("Rectification items"), [str(c) for c in ITEMS_PERSONAL])
    if not isinstance(choice, exports.Choice):  # the reason asked again, or the password
        return choice
    period = ItemsPeriodForm(request.args).asked()
    between, suffix = None, ""
    if period:
        start, end = period
        between, suffix = town_days(start, end), f"-{start.isoformat()}-{end.isoformat()}"

    first, last = period or (None, None)
    book = xlsx.Book(xlsx.heading(_("Rectification items"), current_user, first, last), personal_reason=choice.reason)
    status = request.args.get("status", "")
    stmt = services.items_query(current_user, status=status if status in policy.STATUS_LABELS or
                                status == "open" else "", issued_between=between)
    book.sheet(_("Rectification items"), [
        Column(_("No."), 8, lambda it: it.id),
        Column(_("Place"), 18, lambda it: it.target_name),
        Column(_("Category"), 12, lambda it: str(services.CATEGORY_LABELS.get(it.category, it.category))),
        Column(_("Severity"), 10, lambda it: str(services.SEVERITY_LABELS.get(it.severity, it.severity))),
        Column(_("Description"), 40, lambda it: it.description, personal=True),
        Column(_("Responsible person"), 14, lambda it: it.owner.display_name if it.owner else "", personal=True),
        Column(_("Status"), 10, lambda it: str(policy.STATUS_LABELS[it.status])),
        Column(_("Issued"), 17, lambda it: it.issued_at),
        Column(_("Due"), 17, lambda it: it.due_at),
        Column(_("Escalation level"), 10, lambda it: it.escalation_level),
        Column(_("Submitted"), 17, lambda it: it.submitted_at),
        Column(_("Verified"), 17, lambda it: it.verified_at),
    ]).extend(db.session.scalars(stmt.execution_options(yield_per=500)))
    exports.recorded(current_user, "export:items", choice, book)
    return xlsx.response(book.to_bytes(), f"supervision-items{suffix}.xlsx")


# --- interviews and circulars -----------------------------------------------------------------------

def _item_choices(form):
    form.item_ids.choices = [(i, f"#{i} {name} · {services.CATEGORY_LABELS.get(cat, cat)}")
                             for i, name, cat in services.recent_items()]


@bp.get("/interviews")
@login_required
def interviews():
    require(current_user, "supervision_dashboard")
    from sqlalchemy import select
    from sqlalchemy.orm import selectinload

    stmt = select(Interview).options(selectinload(Interview.items)).order_by(Interview.held_on.desc(),
                                                                             Interview.id.desc())
    return render_template("supervision/interviews.html", interviews=paginate(stmt))


@bp.route("/interviews/new", methods=["GET", "POST"])
@login_required
def new_interview():
    require(current_user, "hold_interviews")
    form = InterviewForm()
    _item_choices(form)
    if request.method == "GET":
        form.held_on.data = town_today()
    if form.validate_on_submit():
        services.record_interview(current_user, form.values())
        db.session.commit()
        flash(_("Interview recorded."), "success")
        return redirect(url_for("supervision.interviews"))
    return render_template("supervision/record_form.html", form=form, title=_("Record an interview"),
                           action=url_for("supervision.new_interview")), form_status(form)


@bp.get("/circulars")
@login_required
def circulars():
    require(current_user, "view_circulars")
    from sqlalchemy import select

    stmt = select(Circular).order_by(Circular.number.desc())
    return render_template("supervision/circulars.html", circulars=paginate(stmt))


@bp.route("/circulars/new", methods=["GET", "POST"])
@login_required
def new_circular():
    require(current_user, "issue_circulars")
    form = CircularForm()
    _item_choices(form)
    if request.method == "GET":
        form.number.data = services.next_circular_number()
        form.issued_on.data = town_today()
    if form.validate_on_submit():
        try:
            circular = services.issue_circular(current_user, form.values())
        except RuleError as exc:
            form[exc.field].errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Circular No. %(n)d published.", n=circular.number), "success")
            return redirect(url_for("supervision.circular", circular_id=circular.id))
    return render_template("supervision/record_form.html", form=form, title=_("Issue a circular"),
                           action=url_for("supervision.new_circular")), form_status(form)


@bp.get("/circulars/<int:circular_id>")
@login_required
def circular(circular_id):
    circular = db.get_or_404(Circular, circular_id)
    require(current_user, "view", circular)
    return render_template("supervision/circular.html", circular=circular)


@bp.get("/circulars/<int:circular_id>/print")
@login_required
def print_circular(circular_id):
    circular = db.get_or_404(Circular, circular_id)
    require(current_user, "view", circular)
    return render_template("supervision/circular_print.html", circular=circular)
