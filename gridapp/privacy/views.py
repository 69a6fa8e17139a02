"""The record of looks (town leader, administrator) and a resident's request: everything held about
one household, as a printable page and a file, with the ways to correct it."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import pgettext
from flask_login import current_user, login_required

from gridapp import uploads
from gridapp.audit.labels import action_label
from gridapp.auth.reauth import prompt_unless_recent
from gridapp.core import xlsx
from gridapp.core.http import form_status, paginate
from gridapp.core.rules import RuleError
from gridapp.core.security import mark_personal
from gridapp.core.xlsx import Column
from gridapp.errands.policy import STATUS_LABELS as ERRAND_STATUS_LABELS
from gridapp.errands.services import CATEGORY_LABELS
from gridapp.extensions import db
from gridapp.grid.models import Household
from gridapp.people.services import RELATION_LABELS, SEX_LABELS, TRAVEL_LABELS
from gridapp.policy import can, require
from gridapp.privacy import services
from gridapp.privacy.forms import EraseHouseholdForm, LooksFilterForm
from gridapp.screening.policy import VISIT_LABELS

bp = Blueprint("privacy", __name__, template_folder="templates")


@bp.get("/")
@login_required
def index():
    """Residents' data under PIPL: the record of looks, retention, closing the emergency."""
    require(current_user, "view_access_records")
    return render_template("privacy/index.html")


@bp.get("/looks")
@login_required
def looks():
    """Who looked at residents' data: filtered by person, by household, by kind; newest first."""
    require(current_user, "view_access_records")
    mark_personal()
    form = LooksFilterForm(request.args)
    form.validate()  # a bad value is shown with its error and ignored, never refused
    filters = form.filters()
    household = db.session.get(Household, filters["household_id"]) if filters["household_id"] else None
    page = paginate(services.search_records(**filters))
    volunteer_looks = []
    if household is not None:
        volunteer_looks = [look for look in services.who_looked(household) if look.what == "errand_contact_volunteer"]
    pager_args = {k: v for k, v in (("person", filters["person"]), ("household", filters["household_id"]),
                                    ("kind", filters["kind"])) if v}
    return render_template("privacy/looks.html", form=form, page=page, household=household,
                           volunteer_looks=volunteer_looks, pager_args=pager_args, what_label=services.what_label)


def _household_for_request(household_id: int) -> Household:
    household = db.get_or_404(Household, household_id)
    require(current_user, "resident_requests")
    require(current_user, "view", household)
    mark_personal()
    return household


@bp.get("/households/<int:household_id>")
@login_required
def household(household_id):
    """A resident's request: the page to read to them or print."""
    household = _household_for_request(household_id)
    found = services.dossier(household)
    services.record_look(current_user, "request", "resident_request", household=household)
    db.session.commit()
    return render_template("privacy/household.html", d=found, h=household, errand_status=ERRAND_STATUS_LABELS,
                           categories=CATEGORY_LABELS, can_edit=can(current_user, "edit", household), can_erase=True,
                           relations=RELATION_LABELS, sexes=SEX_LABELS, travel=TRAVEL_LABELS,
                           visit_labels=VISIT_LABELS)


@bp.get("/households/<int:household_id>.xlsx")
@login_required
def household_file(household_id):
    """A resident's request: the same as a file to hand over."""
    household = _household_for_request(household_id)
    found = services.dossier(household)
    book = xlsx.Book(xlsx.heading(_("Everything held about household %(label)s", label=household.label),
                                  current_user), personal_reason=_("a resident's request"))
    h = household
    fields = [Column(_("Field"), 20, lambda r: r[0]), Column(pgettext("field", "Value"), 40, lambda r: r[1])]
    book.sheet(_("Household"), fields).extend([
        (_("Compound"), h.compound.name), (_("Building"), h.building), (_("Unit"), h.unit), (_("Room"), h.room),
        (_("Head of household"), h.head_name), (_("Phone"), h.phone),
        (_("Housebound"), _("Yes") if h.housebound else _("No")),
        (_("Living alone"), _("Yes") if h.living_alone else _("No")),
        (_("Home observation until"), h.observation_until), (_("Notes"), h.notes),
        (_("Registered"), h.created_at), (_("Last changed"), h.updated_at),
    ])
    book.sheet(pgettext("household", "People"), [
        Column(pgettext("person", "Name"), 12, lambda p: p.name),
        Column(_("Relation to the head"), 10, lambda p: str(RELATION_LABELS.get(p.relation, p.relation))),
        Column(_("Sex"), 6, lambda p: str(SEX_LABELS[p.sex]) if p.sex else ""),
        Column(_("Year of birth"), 8, lambda p: p.birth_year),
        Column(_("Phone"), 14, lambda p: p.phone),
        Column(_("From where"), 14, lambda p: p.came_from),
        Column(_("Arrival date"), 11, lambda p: p.arrived_on),
        Column(_("How they came"), 8, lambda p: str(TRAVEL_LABELS[p.travel_mode]) if p.travel_mode else ""),
        Column(_("Notes"), 30, lambda p: p.notes),
    ]).extend(found.people)
    book.sheet(_("Screening visits"), [
        Column(_("Campaign"), 20, lambda v: v.campaign.name),
        Column(_("Status"), 10, lambda v: str(VISIT_LABELS.get(v.status, v.status))),
        Column(_("Visited"), 17, lambda v: v.visited_at),
        Column(_("People at home"), 8, lambda v: v.present),
        Column(_("Returnees found"), 8, lambda v: v.returnees),
        Column(_("Notes"), 30, lambda v: v.notes),
    ]).extend(found.visits)
    book.sheet(_("Errands"), [
        Column(_("No."), 8, lambda e: e.id),
        Column(_("Category"), 12, lambda e: str(CATEGORY_LABELS.get(e.category, e.category))),
        Column(_("Items to buy"), 40, lambda e: e.items),
        Column(_("Notes"), 30, lambda e: e.notes),
        Column(_("Status"), 10, lambda e: str(ERRAND_STATUS_LABELS[e.status])),
        Column(_("Filed"), 17, lambda e: e.filed_at),
        Column(_("Volunteer"), 12, lambda e: e.claimant.display_name if e.claimant else ""),
        Column(_("Delivered"), 17, lambda e: e.delivered_at),
        Column(_("Delivery note"), 30, lambda e: e.delivery_note),
        Column(_("Photos"), 8, lambda e: sum(1 for p in (e.receipt_photo, e.delivery_photo) if p)),
        Column(_("Cancel reason"), 30, lambda e: e.cancel_reason),
    ]).extend(found.errands)
    book.sheet(_("Who looked"), [
        Column(_("Time"), 17, lambda look: look.at),
        Column(_("Person"), 14, lambda look: look.user.display_name),
        Column(_("What"), 24, lambda look: look.what_label),
        Column(_("Place"), 20, lambda look: look.scope),
    ]).extend(found.looks)
    book.sheet(_("Changes"), [
        Column(_("Time"), 17, lambda e: e.created_at),
        Column(_("By"), 14, lambda e: e.actor_name),
        Column(_("Action"), 20, lambda e: action_label(e.action)),
        Column(_("Change"), 40, lambda e: e.summary),
    ]).extend(found.events)
    services.record_look(current_user, "request", "resident_request", household=household, rows=book.rows,
                         personal=True, reason=_("a resident's request"))
    db.session.commit()
    return xlsx.response(book.to_bytes(), f"household-{household.id}.xlsx")


@bp.route("/households/<int:household_id>/erase", methods=["GET", "POST"])
@login_required
def erase_household(household_id):
    """Delete a household's personal data at its resident's request: a reason, the room typed to
    confirm, the password again."""
    household = _household_for_request(household_id)
    if (ask := prompt_unless_recent()) is not None:  # asked before anything is typed
        return ask
    form = EraseHouseholdForm()
    if form.validate_on_submit():
        if form.confirm.data != household.room:
            form.confirm.errors.append(_("Type the room exactly as shown: %(room)s", room=household.room))
        else:
            try:
                erased = services.erase_household(household, current_user, form.reason.data)
            except RuleError as exc:
                db.session.rollback()
                form.reason.errors.append(str(exc))
            else:
                db.session.commit()
                for name in erased.photos:
                    uploads.delete_image(name)
                flash(_("The household's personal data was deleted: %(n)d errands cleared.", n=erased.errands),
                      "success")
                return redirect(url_for("privacy.household", household_id=household.id), code=303)
    return render_template("privacy/erase.html", form=form, h=household), form_status(form)
