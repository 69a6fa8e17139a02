"""Home observation's pages: the list of people under observation, starting one for a person, the
observation's page (its checks, a check in a few taps, extend or end it, the personal link, fever
follow-ups), and the person's own link page (no account, no JavaScript)."""
from flask import Blueprint, abort, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from gridapp import policy
from gridapp.core.acting import act
from gridapp.core.http import form_status
from gridapp.core.security import mark_personal
from gridapp.extensions import db
from gridapp.grid.models import Compound, Grid, Household
from gridapp.observation import services
from gridapp.observation.forms import CheckForm, CloseForm, ExtendForm, FollowUpForm, SelfCheckForm, StartForm
from gridapp.observation.models import FeverFollowUp, Observation
from gridapp.observation.policy import STATUS_LABELS
from gridapp.people.models import Person
from gridapp.policy import can, require
from gridapp.privacy import services as privacy
from gridapp.timeutil import utcnow

bp = Blueprint("observation", __name__, template_folder="templates")


def _labels() -> dict:
    return {"statuses": STATUS_LABELS, "methods": services.METHOD_LABELS, "outcomes": services.OUTCOME_LABELS}


@bp.get("/")
@login_required
def index():
    require(current_user, "view_observation")
    mark_personal()
    stmt = (select(Observation).join(Person, Person.id == Observation.person_id)
            .join(Household, Household.id == Person.household_id)
            .join(Compound, Compound.id == Household.compound_id).join(Grid, Grid.id == Compound.grid_id)
            .where(Observation.status == "active", policy.household_clause(current_user))
            .options(contains_eager(Observation.person).contains_eager(Person.household)
                     .contains_eager(Household.compound).contains_eager(Compound.grid))
            .order_by(Observation.ends_on, Observation.id))
    observations = db.session.scalars(stmt).all()
    followups = services.open_followups(policy.household_clause(current_user))
    privacy.record_list_look(current_user, "observation_list", [o.person.household for o in observations])
    return render_template("observation/index.html", observations=observations, followups=followups,
                           **_labels())


def _person_or_404(person_id) -> Person:
    person = db.get_or_404(Person, person_id)
    require(current_user, "edit_people", person.household)
    mark_personal()
    return person


@bp.route("/people/<int:person_id>/start", methods=["GET", "POST"])
@login_required
def start(person_id):
    person = _person_or_404(person_id)
    form = StartForm()
    form.set_choices(*services.staff_choices(person.household.compound))
    if form.validate_on_submit():
        obs = None
        try:
            obs = services.start_observation(person, current_user, form.values())
        except services.RuleError as exc:
            db.session.rollback()
            if exc.field in form:
                form[exc.field].errors.append(str(exc))
            else:
                flash(str(exc), "error")
        if obs is not None:
            db.session.commit()
            flash(_("Home observation started."), "success")
            return redirect(url_for("observation.show", observation_id=obs.id), code=303)
    if not form.is_submitted():
        form.days.data = services.observation_days()
    return render_template("observation/start.html", person=person, form=form), form_status(form)


def _observation(observation_id, action="view") -> Observation:
    obs = db.get_or_404(Observation, observation_id)
    require(current_user, action, obs)
    mark_personal()
    return obs


def _show(obs, check_form=None, extend_form=None, close_form=None, refused=None, token=None):
    check = services.current_check(obs)
    may_record = can(current_user, "record", obs)
    followups = db.session.scalars(select(FeverFollowUp).where(FeverFollowUp.observation_id == obs.id)
                                   .order_by(FeverFollowUp.opened_at.desc())).all()
    return render_template(
        "observation/show.html", obs=obs, checks=services.checks_of(obs), check=check,
        check_form=(check_form or CheckForm(formdata=None)) if may_record and check is not None else None,
        extend_form=extend_form or ExtendForm(formdata=None),
        close_form=close_form or CloseForm(formdata=None), followups=followups,
        followup_form=FollowUpForm(formdata=None), token=token,
        link=url_for("observation.self_check", token=token, _external=True) if token else None,
        may_manage=policy.allowed(current_user, "end_early", obs), may_link=can(current_user, "manage_link", obs),
        now=utcnow(), **_labels())


@bp.get("/<int:observation_id>")
@login_required
def show(observation_id):
    obs = _observation(observation_id)
    privacy.record_household_look(current_user, obs.person.household, "observation")
    return _show(obs)


@bp.post("/<int:observation_id>/check")
@login_required
def check(observation_id):
    obs = _observation(observation_id, "record")
    form = CheckForm()
    back = url_for("observation.show", observation_id=obs.id)

    def do():
        current = services.current_check(obs)
        if current is None:
            raise services.Conflict(_("Today's checks are all recorded."))
        return services.record_check(current, current_user, form.values(), form.method.data)

    return act(do, done=_("Check recorded."), show=lambda form=None, refused=None: _show(obs, check_form=form),
               back=back, form=form)


@bp.post("/<int:observation_id>/extend")
@login_required
def extend(observation_id):
    obs = _observation(observation_id, "extend")
    form = ExtendForm()
    return act(lambda: services.extend_observation(obs, current_user, form.ends_on.data, form.reason.data),
               done=_("Observation extended."), show=lambda form=None, refused=None: _show(obs, extend_form=form),
               back=url_for("observation.show", observation_id=obs.id), form=form)


@bp.post("/<int:observation_id>/close")
@login_required
def close(observation_id):
    obs = _observation(observation_id, "end_early")
    form = CloseForm()
    return act(lambda: services.close_observation(obs, current_user, form.action.data, form.reason.data),
               done=_("Observation closed."), show=lambda form=None, refused=None: _show(obs, close_form=form),
               back=url_for("observation.show", observation_id=obs.id), form=form)


@bp.post("/<int:observation_id>/link")
@login_required
def send_link(observation_id):
    """Make a new personal link, text it to the person, and show it once (to read out or copy)."""
    obs = _observation(observation_id, "manage_link")
    try:
        token, channels = services.send_link(obs, current_user, _token_url)
    except services.RuleError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("observation.show", observation_id=obs.id), code=303)
    db.session.commit()
    flash(_("Personal link sent by text message.") if channels else _("Personal link made: give it to the person."),
          "success")
    return _show(obs, token=token)


def _token_url(token):
    return url_for("observation.self_check", token=token, _external=True)


@bp.post("/<int:observation_id>/link/revoke")
@login_required
def revoke_link(observation_id):
    obs = _observation(observation_id, "manage_link")
    return act(lambda: services.revoke_link(obs, current_user), done=_("Personal link revoked."),
               show=lambda form=None, refused=None: _show(obs),
               back=url_for("observation.show", observation_id=obs.id))


@bp.post("/followups/<int:followup_id>/close")
@login_required
def close_followup(followup_id):
    followup = db.get_or_404(FeverFollowUp, followup_id)
    require(current_user, "close", followup)
    mark_personal()
    form = FollowUpForm()
    obs = followup.observation
    return act(lambda: services.close_followup(followup, current_user, form.outcome.data, form.note.data),
               done=_("Follow-up closed."), show=lambda form=None, refused=None: _show(obs),
               back=url_for("observation.show", observation_id=obs.id), form=form)


# --- the person's own link: no account, no JavaScript, never a reason for a refusal ----------------

@bp.route("/self/<token>", methods=["GET", "POST"])
def self_check(token):
    obs = services.by_token(token)
    if obs is None:
        abort(404)
    mark_personal()
    check = services.current_check(obs)
    form = SelfCheckForm()
    done = False
    if check is not None and form.validate_on_submit():
        try:
            services.record_check(check, None, form.values(), "self")
        except services.RuleError as exc:
            db.session.rollback()
            form.temperature.errors.append(str(exc))
        else:
            db.session.commit()
            done = True
            check = services.current_check(obs)
    response = make_response(render_template("observation/self.html", obs=obs, check=check, form=form, done=done),
                             form_status(form))
    response.headers["Referrer-Policy"] = "no-referrer"  # the address holds the token
    return response

