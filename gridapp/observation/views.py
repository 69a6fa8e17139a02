"""Home observation's pages: the list of people under observation, starting one for a person, the
observation's page (its checks, a check in a few taps, extend or end it, the personal link, fever
follow-ups), and the person's own link page (no account, no JavaScript)."""
from flask import Blueprint, abort, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import pgettext
from flask_login import current_user, login_required
from sqlalchemy import select

from gridapp import policy
from gridapp.audit.services import record
from gridapp.core import xlsx
from gridapp.core.acting import act
from gridapp.core.http import form_status
from gridapp.core.security import mark_personal
from gridapp.core.templating import Labels
from gridapp.core.xlsx import Column
from gridapp.extensions import db
from gridapp.grid.models import Community
from gridapp.observation import services
from gridapp.observation.forms import CallForm, CheckForm, CloseForm, ExtendForm, FollowUpForm, SelfCheckForm, StartForm
from gridapp.observation.models import FeverFollowUp, Observation
from gridapp.observation.policy import STATUS_LABELS, may_see_ledger
from gridapp.policy import can, require
from gridapp.privacy import exports
from gridapp.privacy import services as privacy
from gridapp.timeutil import utcnow

bp = Blueprint("observation", __name__, template_folder="templates")


def _labels() -> dict:
    return {"statuses": Labels(STATUS_LABELS), "methods": Labels(services.METHOD_LABELS),
            "outcomes": Labels(services.OUTCOME_LABELS)}


@bp.get("/")
@login_required
def index():
    require(current_user, "view_observation")
    mark_personal()
    observations = services.under_observation(policy.household_clause(current_user))
    followups = services.open_followups(policy.household_clause(current_user))
    privacy.record_places_look(current_user, "observation_list",
                               ((o.compound_id, o.compound_name, o.community_id) for o in observations))
    communities = [c for c in db.session.scalars(select(Community).where(policy.community_clause(current_user))
                                                 .order_by(Community.name)) if may_see_ledger(current_user, c)]
    return render_template("observation/index.html", observations=observations, followups=followups,
                           communities=communities, **_labels())


def _person_or_404(person_id):
    person = services.person(person_id)
    if person is None:
        abort(404)
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


def _show(obs, check_form=None, extend_form=None, close_form=None, refused=None, token=None, followup_form=None,
          call_form=None):
    check = services.current_check(obs)
    may_record = can(current_user, "record", obs)
    followups = db.session.scalars(select(FeverFollowUp).where(FeverFollowUp.observation_id == obs.id)
                                   .order_by(FeverFollowUp.opened_at.desc())).all()
    return render_template(
        "observation/show.html", obs=obs, checks=services.checks_of(obs), check=check,
        check_form=(check_form or CheckForm(formdata=None)) if may_record and check is not None else None,
        extend_form=extend_form or ExtendForm(formdata=None),
        close_form=close_form or CloseForm(formdata=None), followups=followups,
        followup_form=followup_form or FollowUpForm(formdata=None), call_form=call_form or CallForm(formdata=None),
        token=token,
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


@bp.post("/followups/<int:followup_id>/called")
@login_required
def followup_called(followup_id):
    followup = db.get_or_404(FeverFollowUp, followup_id)
    require(current_user, "call", followup)
    mark_personal()
    form = CallForm()
    obs = followup.observation
    return act(lambda: services.mark_called(followup, current_user, form.note.data),
               done=_("Marked as called. Close the follow-up once they are referred or well."),
               show=lambda form=None, refused=None: _show(obs, call_form=form),
               back=url_for("observation.show", observation_id=obs.id), form=form)


@bp.post("/followups/<int:followup_id>/close")
@login_required
def close_followup(followup_id):
    followup = db.get_or_404(FeverFollowUp, followup_id)
    require(current_user, "close", followup)
    mark_personal()
    form = FollowUpForm()
    obs = followup.observation
    return act(lambda: services.close_followup(followup, current_user, form.outcome.data, form.note.data),
               done=_("Follow-up closed."), show=lambda form=None, refused=None: _show(obs, followup_form=form),
               back=url_for("observation.show", observation_id=obs.id), form=form)


# --- the ledger of a community (居家留观人员台账) ---------------------------------------------------

def _community(community_id) -> Community:
    community = db.get_or_404(Community, community_id)
    if not may_see_ledger(current_user, community):
        db.session.rollback()  # refused and recorded as require() does
        record("denied", community, summary="observation_ledger", actor=current_user)
        db.session.commit()
        abort(403)
    mark_personal()
    return community


@bp.get("/ledger/<int:community_id>")
@login_required
def ledger(community_id):
    community = _community(community_id)
    rows = services.ledger(community.id)
    privacy.record_list_look(current_user, "observation_ledger", [r.household for r in rows])
    return render_template("observation/ledger.html", community=community, rows=rows,
                           personal_columns=[str(c.title) for c in _ledger_columns() if c.personal], **_labels())


def _ledger_columns():
    def staff(u):
        return u.display_name if u is not None else ""

    return [
        Column(_("Compound"), 14, lambda r: r.compound.name),
        Column(_("Room"), 12, lambda r: r.household.label, personal=True),
        Column(pgettext("person", "Name"), 10, lambda r: r.person.name, personal=True),
        Column(_("Phone"), 14, lambda r: r.person.phone, personal=True),
        Column(_("From where"), 12, lambda r: r.person.came_from, personal=True),
        Column(_("Arrival date"), 11, lambda r: r.person.arrived_on),
        Column(_("First day"), 11, lambda r: r.obs.starts_on),
        Column(_("Last day"), 11, lambda r: r.obs.ends_on),
        Column(_("Status"), 10, lambda r: str(STATUS_LABELS[r.obs.status])),
        Column(_("Responsible building head"), 12, lambda r: staff(r.obs.building_head)),
        Column(_("Responsible grid member"), 12, lambda r: staff(r.obs.grid_member)),
        Column(_("Checks recorded"), 8, lambda r: r.done),
        Column(_("Checks missed"), 8, lambda r: r.missed),
        Column(_("Last temperature (℃)"), 8, lambda r: float(r.last_temperature) if r.last_temperature else "",
               personal=True),
        Column(_("Open follow-ups"), 8, lambda r: r.open_followups, personal=True),
    ]


@bp.get("/ledger/<int:community_id>.xlsx")
@login_required
def ledger_export(community_id):
    community = _community(community_id)
    columns = _ledger_columns()
    title = _("Home observation ledger")
    choice = exports.choose(title, [str(c.title) for c in columns if c.personal])
    if not isinstance(choice, exports.Choice):  # the reason asked again, or the password
        return choice
    book = xlsx.Book(xlsx.heading(title, current_user, community=community), personal_reason=choice.reason)
    book.sheet(title, columns).extend(services.ledger(community.id))
    exports.recorded(current_user, "export:observation", choice, book, community_id=community.id)
    return xlsx.response(book.to_bytes(), f"observation-{community.id}.xlsx")


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

