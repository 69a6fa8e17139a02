"""A household's people (its page, registering, editing, removing) and the search over people."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from gridapp.core.http import form_status, paginate
from gridapp.core.rules import RuleError
from gridapp.core.security import mark_personal
from gridapp.extensions import db
from gridapp.grid.models import Household
from gridapp.people import services
from gridapp.people.forms import PeopleSearchForm, PersonForm
from gridapp.people.models import Person
from gridapp.policy import can, require
from gridapp.privacy import services as privacy

bp = Blueprint("people", __name__, template_folder="templates")


def _labels() -> dict:
    return {"relations": services.RELATION_LABELS, "sexes": services.SEX_LABELS, "travel": services.TRAVEL_LABELS}


def _household_page(household, form=None):
    people = services.household_people(household)
    may_edit = can(current_user, "edit_people", household)
    if may_edit and form is None:
        form = PersonForm(formdata=None, relation="head" if not people else "other")
    return render_template("people/household.html", h=household, people=people, form=form if may_edit else None,
                           may_edit=may_edit, **_labels()), form_status(form) if form is not None else 200


@bp.get("/households/<int:household_id>")
@login_required
def household(household_id):
    household = db.get_or_404(Household, household_id)
    require(current_user, "view", household)
    mark_personal()
    privacy.record_household_look(current_user, household, "household_people")
    return _household_page(household)


@bp.post("/households/<int:household_id>")
@login_required
def add(household_id):
    household = db.get_or_404(Household, household_id)
    require(current_user, "edit_people", household)
    mark_personal()
    form = PersonForm()
    if form.validate_on_submit():
        try:
            services.add_person(household, form.values(), current_user)
        except RuleError as exc:
            db.session.rollback()
            form[exc.field if exc.field in form else "name"].errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Person registered."), "success")
            return redirect(url_for("people.household", household_id=household.id), code=303)
    return _household_page(household, form)


def _person_or_404(person_id, action) -> Person:
    person = db.get_or_404(Person, person_id)
    require(current_user, action, person)
    mark_personal()
    return person


@bp.route("/<int:person_id>/edit", methods=["GET", "POST"])
@login_required
def edit(person_id):
    person = _person_or_404(person_id, "edit")
    form = PersonForm(obj=person)
    if form.validate_on_submit():
        try:
            services.update_person(person, form.values(), current_user)
        except RuleError as exc:
            db.session.rollback()
            form[exc.field if exc.field in form else "name"].errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("people.household", household_id=person.household_id), code=303)
    return render_template("people/edit.html", person=person, form=form), form_status(form)


@bp.post("/<int:person_id>/remove")
@login_required
def remove(person_id):
    person = _person_or_404(person_id, "delete")
    household_id = person.household_id
    services.remove_person(person, current_user)
    db.session.commit()
    flash(_("Removed from the household."), "success")
    return redirect(url_for("people.household", household_id=household_id), code=303)


@bp.get("/")
@login_required
def search():
    require(current_user, "search_people")
    mark_personal()
    form = PeopleSearchForm(request.args)
    form.validate()  # a bad value is ignored, never refused: this is only a search
    q = (form.q.data or "")[:100] if not form.q.errors else ""
    page = paginate(services.search_people(current_user, q, bool(form.returnees.data)))
    privacy.record_list_look(current_user, "people_search", [p.household for p in page.items])
    args = {"q": q or None, "returnees": 1 if form.returnees.data else None}
    return render_template("people/search.html", form=form, people=page, pager_args=args, **_labels())
