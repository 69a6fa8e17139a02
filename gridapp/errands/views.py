"""Pages of errands: the volunteers' board, filing, the errand page and its actions, photos,
the staff lists, statistics and the Excel export.

Actions read the same way: load or 404, `require()` the action, validate the form, one service
call, commit, answer (the changed fragment with a toast to htmx, a redirect otherwise). A refused
transition says why (who took it, what state it is in) and changes nothing.
"""

from datetime import datetime
from typing import NamedTuple

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from markupsafe import Markup, escape

from gridapp import uploads
from gridapp.core import xlsx
from gridapp.core.acting import act
from gridapp.core.fragments import drawn_rows
from gridapp.core.http import form_status, paginate, render
from gridapp.core.params import id_arg, text_arg
from gridapp.core.rules import RuleError
from gridapp.core.security import mark_personal
from gridapp.core.templating import Labels
from gridapp.core.xlsx import Column
from gridapp.errands import policy, services
from gridapp.errands.forms import (
    ActionForm,
    ConfirmForm,
    DeliverForm,
    ErrandForm,
    PurchaseForm,
    ReasonForm,
    StaffFilterForm,
)
from gridapp.errands.models import Errand
from gridapp.extensions import db
from gridapp.grid.models import Community
from gridapp.policy import allowed, can, require
from gridapp.privacy import exports
from gridapp.privacy import services as privacy
from gridapp.timeutil import to_local, utcnow

bp = Blueprint("errands", __name__, template_folder="templates")


SUMMARY = "\x00errand-items\x00"  # stands for an errand's items in a card kept drawn


class CardRow(NamedTuple):
    """What an open errand's card on the board shows this viewer (errands/_card_item.html), never
    the address: the card is remembered under these values (gridapp/core/fragments.py). The items
    (a resident's data) are not among them: the card holds SUMMARY, and each response puts them in."""

    id: int
    urgent: bool
    category: str
    compound: str
    needed_by_at: datetime
    claimed_by_me: bool
    refused: str | None  # why a claim just failed
    can_claim: bool
    summary: str  # SUMMARY


def errand_cards(errands, claimed_by_me: bool = False, refused: str | None = None) -> Markup:
    """The board's cards of these errands (compound loaded), each kept drawn for its values."""
    user = current_user._get_current_object()
    categories = Labels(services.CATEGORY_LABELS)
    rows = [CardRow(e.id, bool(e.urgent), categories[e.category], e.compound.name, e.needed_by_at, claimed_by_me,
                    str(refused) if refused else None,
                    not claimed_by_me and not refused and allowed(user, "claim", e), SUMMARY)
            for e in errands]
    return drawn_rows("errands/_card_item.html", "errand_card", rows,
                      fill=lambda i: {SUMMARY: str(escape(errands[i].summary))})


@bp.context_processor
def _labels():
    return {"errand_cards": errand_cards,
            "status_labels": Labels(policy.STATUS_LABELS), "category_labels": Labels(services.CATEGORY_LABELS),
            "event_labels": Labels(services.EVENT_LABELS), "now": utcnow(),
            "contact_days": policy.setting("ERRANDS_CONTACT_DAYS")}


# --- the board ------------------------------------------------------------------------------------

def _board_filters():
    category = request.args.get("category", "")
    urgency = request.args.get("urgency", "")
    return (category if category in services.CATEGORY_LABELS else "",
            urgency if urgency in ("urgent", "normal") else "")


@bp.get("/")
@login_required
def board():
    if not can(current_user, "use_errand_board"):
        require(current_user, "errand_lists")
        return redirect(url_for("errands.staff"))
    category, urgency = _board_filters()
    page = paginate(services.board(current_user, category, urgency))
    return render_template("errands/board.html", errands=page, category=category, urgency=urgency,
                           mine=services.my_claims(current_user), opted_in=services.is_opted_in(current_user))


@bp.post("/alerts")
@login_required
def alerts():
    require(current_user, "use_errand_board")
    form = ActionForm()
    if form.validate_on_submit():
        on = request.form.get("on") == "1"
        services.set_opt_in(current_user, on)
        db.session.commit()
        flash(_("You will hear of new urgent errands.") if on else _("You will no longer hear of new urgent errands."),
              "success")
    return redirect(url_for("errands.board"), code=303)


# --- filing ---------------------------------------------------------------------------------------

def _household_label(h) -> str:
    """An option of the picker; the households errands are for say so (an option holds text only)."""
    marks = [str(text) for flag, text in ((h.housebound, _("Housebound")), (h.living_alone, _("Living alone"))) if flag]
    return " · ".join([f"{h.compound.name} {h.label}", h.head_name, *marks])


def _household_choices(form, q: str):
    """The picker's options: the households matching q in the user's own places, and the one
    already chosen if (and only if) the user may file for it."""
    households = services.households_for_filing(current_user, q)
    chosen = form.household_id.data
    if len(households) == 1 and q and not chosen:
        chosen = form.household_id.data = households[0].id
    form.household_id.choices = [("", _("— choose —"))] + [(h.id, _household_label(h)) for h in households]
    if chosen and all(h.id != chosen for h in households):
        h = services.household_for_filing(current_user, chosen)
        if h is not None:
            form.household_id.choices.append((h.id, _household_label(h)))
    return households


@bp.get("/new/households")
@login_required
def household_options():
    """The picker's options for a search (htmx swaps them into the select as one types)."""
    require(current_user, "file_errands")
    mark_personal()
    form = ErrandForm(formdata=None)
    q = text_arg("q", 50)
    households = _household_choices(form, q)
    return render_template("errands/_household_options.html", form=form, q=q, households=households,
                           limit=services.PICKER_LIMIT)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    require(current_user, "file_errands")
    mark_personal()
    q = text_arg("q", 50)
    form = ErrandForm()
    if request.method == "GET":
        form.household_id.data = id_arg("household_id")
        form.needed_by_at.data = to_local(services.default_needed_by(utcnow())).replace(tzinfo=None)
    households = _household_choices(form, q)
    if form.validate_on_submit():
        # Whatever id was posted, only a household of the filer's own places is ever taken.
        household = services.household_for_filing(current_user, form.household_id.data)
        try:
            errand = services.file_errand(current_user, household, form.values())
        except RuleError as exc:
            db.session.rollback()
            form[exc.field or "items"].errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Errand #%(id)d filed: volunteers of the community can see it now.", id=errand.id), "success")
            return redirect(url_for("errands.show", errand_id=errand.id), code=303)
    return (render_template("errands/new.html", form=form, q=q, households=households, limit=services.PICKER_LIMIT),
            form_status(form))


# --- one errand -----------------------------------------------------------------------------------

def _load(errand_id) -> Errand:
    errand = services.load(errand_id)
    if errand is None:
        abort(404)
    return errand


THUMBNAIL = 160  # px, the longer side of a photo's thumbnail on the errand page


def _thumbnail_size(name) -> tuple[int, int] | None:
    """The width and height to show a stored photo at (its own proportions), so the page does not
    jump as it loads; None when the file is gone. Reads only the image's header."""
    from PIL import Image

    try:
        with Image.open(uploads.open_image(name)) as image:
            width, height = image.size
    except (FileNotFoundError, OSError, ValueError):
        return None
    scale = min(1.0, THUMBNAIL / max(width, height, 1))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _photos(errand) -> list[dict]:
    """The photos to show inline (only call for users allowed to see them): kind, alt text, size."""
    out = []
    for kind, name, alt in (("receipt", errand.receipt_photo, _("Receipt photo")),
                            ("delivery", errand.delivery_photo, _("Delivery photo"))):
        size = _thumbnail_size(name) if name else None
        if size:
            out.append({"kind": kind, "alt": alt, "width": size[0], "height": size[1]})
    return out


def _context(errand, **forms):
    user = current_user
    ctx = {"errand": errand, "show_contact": can(user, "view_contact", errand),
           "show_photos": can(user, "view_photos", errand), "staff": can(user, "staff_view", errand)}
    ctx["photos"] = _photos(errand) if ctx["show_photos"] else []
    if can(user, "use_errand_board") and allowed(user, "claim", errand):
        ctx["claim_form"] = ActionForm(formdata=None)
    # Each action's form where the errand's state machine (policy.ERRAND) and can() allow it.
    for action, name, form_cls in (("purchase", "purchase_form", PurchaseForm), ("release", "release_form", ReasonForm),
                                   ("deliver", "deliver_form", DeliverForm), ("confirm", "confirm_form", ConfirmForm),
                                   ("cancel", "cancel_form", ReasonForm)):
        if allowed(user, action, errand):
            ctx[name] = forms.get(name) or form_cls(formdata=None)
    if ctx["staff"]:
        ctx["timeline"] = services.timeline(errand)
        ctx["views"] = services.contact_views(errand)
    if ctx["show_contact"] and not ctx["staff"]:
        # Every time a volunteer is shown the address and phone, it is on record.
        services.record_contact_view(errand, user)
        db.session.commit()
    elif ctx["show_contact"]:
        privacy.record_household_look(user, errand.household, "errand_contact")  # and every staff look
    if ctx["show_contact"]:
        mark_personal()
    return ctx


def _show(errand, **forms):
    return render("errands/errand.html", "errands/_errand.html", **_context(errand, **forms))


@bp.get("/<int:errand_id>")
@login_required
def show(errand_id):
    errand = _load(errand_id)
    require(current_user, "view", errand)
    return _show(errand)


def _act(errand_id, action, form_cls, do, message, form_name):
    """Every action on one errand: load or 404, may take it, then core.acting.act()."""
    errand = _load(errand_id)
    require(current_user, action, errand)
    form = form_cls()
    upload = "receipt" if "receipt" in form else "photo"
    return act(lambda: do(errand, form), done=message, form=form, upload_field=upload,
               show=lambda form=None, refused=None: _show(_load(errand_id), **{form_name: form}),
               back=url_for("errands.show", errand_id=errand_id))


@bp.post("/<int:errand_id>/claim")
@login_required
def claim(errand_id):
    """Anyone on the board may try; the one conditional UPDATE picks the single winner. From the
    board, the answer is the errand's card; from its page, the page (or the card, once it is no
    longer the volunteer's to see)."""
    require(current_user, "use_errand_board")
    errand = db.get_or_404(Errand, errand_id)
    from_board = request.form.get("from") == "board"

    def show(form=None, refused=None):
        e = _load(errand_id)
        if not from_board and can(current_user, "view", e):
            return _show(e)
        return render_template("errands/_card.html", e=e, claimed_by_me=e.claimant_id == current_user.id,
                               refused=refused)

    return act(lambda: services.claim(errand, current_user), show=show,
               done=_("It is yours: the address is on the errand's page."),
               back=url_for("errands.show", errand_id=errand_id), refused_back=url_for("errands.board"))


def _photo(form_field):
    data = form_field.data
    if data is None or not getattr(data, "filename", ""):
        return None
    return uploads.save_image(data)


@bp.post("/<int:errand_id>/purchase")
@login_required
def purchase(errand_id):
    def do(errand, form):
        photo = _photo(form.receipt)
        try:
            services.purchase(errand, current_user, form.actual_cost.data, photo)
        except RuleError:
            uploads.delete_image(photo)
            raise
    return _act(errand_id, "purchase", PurchaseForm, do, _("Marked as bought."), "purchase_form")


@bp.post("/<int:errand_id>/deliver")
@login_required
def deliver(errand_id):
    def do(errand, form):
        photo = _photo(form.photo)
        try:
            services.deliver(errand, current_user, form.note.data or "", photo)
        except RuleError:
            uploads.delete_image(photo)
            raise
    return _act(errand_id, "deliver", DeliverForm, do, _("Marked as delivered: thank you!"), "deliver_form")


@bp.post("/<int:errand_id>/release")
@login_required
def release(errand_id):
    return _act(errand_id, "release", ReasonForm,
                lambda errand, form: services.release(errand, current_user, form.reason.data),
                _("Released: it is open for others again."), "release_form")


@bp.post("/<int:errand_id>/confirm")
@login_required
def confirm(errand_id):
    return _act(errand_id, "confirm", ConfirmForm,
                lambda errand, form: services.confirm(errand, current_user, form.money_settled.data,
                                                      form.note.data or ""),
                _("Confirmed: the errand is closed."), "confirm_form")


@bp.post("/<int:errand_id>/cancel")
@login_required
def cancel(errand_id):
    return _act(errand_id, "cancel", ReasonForm,
                lambda errand, form: services.cancel(errand, current_user, form.reason.data),
                _("Cancelled."), "cancel_form")


@bp.get("/<int:errand_id>/photos/<kind>")
@login_required
def photo(errand_id, kind):
    errand = db.get_or_404(Errand, errand_id)
    require(current_user, "view_photos", errand)
    name = {"receipt": errand.receipt_photo, "delivery": errand.delivery_photo}.get(kind)
    if not name:
        abort(404)
    try:
        return uploads.send_image(name)
    except FileNotFoundError:
        abort(404)


# --- staff ------------------------------------------------------------------------------------------

def _staff_filters(communities=None):
    """The filter form from the query string, validated; its valid filters. A bad value is shown
    with its message and not applied (a community outside the user's scope included)."""
    form = StaffFilterForm(request.args)
    form.set_communities(services.communities_in_scope(current_user) if communities is None else communities)
    form.validate()
    return form, form.filters()


def _staff_page(form, filters):
    which = request.args.get("list", "open")
    if which not in (*services.STAFF_LISTS, "all"):
        which = "open"
    page = paginate(services.staff_list(current_user, which, filters=filters))
    return render_template("errands/staff.html", personal_columns=EXPORT_PERSONAL,
                           errands=page, which=which, form=form, filter_args=filters.args(),
                           counts=services.count_by_status(current_user, filters),
                           overdue=services.overdue_count(current_user, filters=filters))


@bp.get("/staff")
@login_required
def staff():
    require(current_user, "errand_lists")
    return _staff_page(*_staff_filters())


@bp.get("/stats")
@login_required
def stats():
    require(current_user, "errand_stats")
    form, filters = _staff_filters(services.stats_communities(current_user))
    rows = services.statistics_by_community(current_user, filters=filters)
    return render_template("errands/stats.html", personal_columns=EXPORT_PERSONAL,
                           rows=rows, form=form, filters=filters,
                           filter_args=filters.args())


# The columns of the errands export that name a person or say what they need.
EXPORT_PERSONAL = (_l("Items to buy"), _l("Volunteer"), _l("Cancel reason"))


@bp.get("/export.xlsx")
@login_required
def export():
    require(current_user, "errand_lists")
    form, filters = _staff_filters()
    if form.errors:  # never a file that holds more than was asked for: the page says what is wrong
        return _staff_page(form, filters)
    choice = exports.choose(_("Errands"), [str(c) for c in EXPORT_PERSONAL])
    if not isinstance(choice, exports.Choice):  # the reason asked again, or the password
        return choice
    community = db.session.get(Community, filters.community_id) if filters.community_id is not None else None
    book = xlsx.Book(xlsx.heading(_("Errands"), current_user, filters.since, filters.until, community=community),
                     personal_reason=choice.reason)

    def money(value):
        return value / 100 if value is not None else None

    book.sheet(_("Errands"), [
        Column(_("No."), 8, lambda r: r.Errand.id),
        Column(_("Community"), 14, lambda r: r.community),
        Column(_("Compound"), 16, lambda r: r.compound),
        Column(_("Category"), 12, lambda r: str(services.CATEGORY_LABELS[r.Errand.category])),
        Column(_("Items to buy"), 40, lambda r: r.Errand.summary, personal=True),
        Column(_("Urgent"), 8, lambda r: _("Yes") if r.Errand.urgent else ""),
        Column(_("Status"), 10, lambda r: str(policy.STATUS_LABELS[r.Errand.status])),
        Column(_("Needed by"), 17, lambda r: r.Errand.needed_by_at),
        Column(_("Filed"), 17, lambda r: r.Errand.filed_at),
        Column(_("Claimed"), 17, lambda r: r.Errand.first_claimed_at),
        Column(_("Volunteer"), 12, lambda r: r.volunteer or "", personal=True),
        Column(_("Delivered"), 17, lambda r: r.Errand.delivered_at),
        Column(_("Confirmed"), 17, lambda r: r.Errand.confirmed_at),
        Column(_("Estimated cost"), 12, lambda r: money(r.Errand.estimated_cost_cents)),
        Column(_("Actual cost"), 12, lambda r: money(r.Errand.actual_cost_cents)),
        Column(_("Money settled"), 10, lambda r: _("Yes") if r.Errand.money_settled else ""),
        Column(_("Cancel reason"), 30, lambda r: r.Errand.cancel_reason, personal=True),
    ]).extend(services.export_rows(current_user, filters))
    exports.recorded(current_user, "export:errands", choice, book, community_id=filters.community_id)
    return xlsx.response(book.to_bytes(), "errands.xlsx")
