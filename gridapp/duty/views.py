"""Pages of the duty roster: the volunteers' shifts with sign-up / withdraw, my shifts with check-in
and the calendar feed, the staff roster with gaps first, a shift's people, checkpoints and hours.

Every object route: load or 404, `require()` the action on that object, one service call, commit,
answer (the changed fragment with a toast to htmx, a redirect with a flash message otherwise).
"""
from datetime import date, datetime, timedelta
from functools import partial
from typing import NamedTuple

from flask import Blueprint, abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup, escape
from sqlalchemy import select

from gridapp.auth.models import User
from gridapp.core import xlsx
from gridapp.core.acting import act
from gridapp.core.fragments import drawn_rows, remembering
from gridapp.core.http import back_to, form_status, page_number
from gridapp.core.params import date_arg, id_arg
from gridapp.core.rules import Conflict, RuleError
from gridapp.core.security import mark_personal
from gridapp.core.templating import Labels
from gridapp.duty import policy, services
from gridapp.duty.forms import AssignForm, CancelShiftForm, CheckpointForm, HoursPeriodForm, RemoveForm
from gridapp.duty.models import Checkpoint
from gridapp.extensions import db
from gridapp.grid.models import Community, Compound, Grid, WorkUnit
from gridapp.policy import allowed, can, require
from gridapp.privacy import exports
from gridapp.timeutil import to_local, town_today, utcnow

bp = Blueprint("duty", __name__, template_folder="templates")


class ShiftRow(NamedTuple):
    """What a row of the volunteers' list shows (duty/_shift_row.html), worked out for one viewer at
    one minute: the row is remembered under these values (gridapp/core/fragments.py), so it must be
    drawn from them alone."""

    id: int
    label: str
    status: str
    filled: int
    capacity: int
    min_people: int
    running: bool  # started and not ended
    ahead: bool  # not started: sign-ups open
    late: bool  # starts within the withdrawal cutoff
    mine: str | None  # the viewer's sign-up's status, if they have one
    can_withdraw: bool  # the viewer may withdraw themselves now
    withdraw_until: datetime
    cutoff_hours: int
    back: str  # where the row's plain forms return


def shift_rows(shifts, mine: dict, now, back: str) -> Markup:
    """The volunteers' list rows of these shifts for the current user, each drawn once per process
    for the values it shows."""
    user = current_user._get_current_object()
    hours = policy.cutoff_hours()
    rows = []
    for s in shifts:
        my = mine.get(s.id)
        rows.append(ShiftRow(s.id, s.label, s.status, s.filled, s.capacity, s.min_people,
                             running=s.starts_at <= now < s.ends_at, ahead=s.starts_at > now,
                             late=not policy.withdrawal_open(s, now), mine=my.status if my is not None else None,
                             can_withdraw=my is not None and allowed(user, "withdraw", my),
                             withdraw_until=policy.withdrawal_closes_at(s), cutoff_hours=hours, back=back))
    return drawn_rows("duty/_shift_row.html", "shift_row", rows)


class MineRow(NamedTuple):
    """What a row of my upcoming shifts shows (duty/_mine_item.html), worked out for the viewer at
    one minute: the row is remembered under these values (gridapp/core/fragments.py)."""

    id: int  # the sign-up
    shift_id: int
    status: str
    status_label: str
    checkpoint: str
    day: date
    label: str
    location: str | None
    reason: str | None  # why the shift was cancelled
    act: str | None  # check_in or check_out, if the viewer may now
    can_withdraw: bool
    withdraw_until: datetime
    ahead: bool  # the shift has not started
    cutoff_hours: int


def mine_rows(signups, now) -> Markup:
    """The rows of the current user's upcoming sign-ups (shift and checkpoint loaded)."""
    user = current_user._get_current_object()
    hours = policy.cutoff_hours()
    labels = Labels(policy.STATUS_LABELS)
    rows = []
    for s in signups:
        shift = s.shift
        act = "check_in" if allowed(user, "check_in", s) else ("check_out" if allowed(user, "check_out", s) else None)
        rows.append(MineRow(s.id, shift.id, s.status, labels[s.status], shift.checkpoint.name, shift.day,
                            shift.label, shift.checkpoint.location, s.reason, act, allowed(user, "withdraw", s),
                            policy.withdrawal_closes_at(shift), shift.starts_at > now, hours))
    return drawn_rows("duty/_mine_item.html", "mine_row", rows)


def past_rows(past) -> Markup:
    """The rows of the current user's past shifts (rows: checkpoint, day, label, status)."""
    labels = Labels(policy.STATUS_LABELS)
    return drawn_rows("duty/_mine_item.html", "past_row", [(*r, labels[r.status]) for r in past])


@bp.context_processor
def _context():
    return {"shift_rows": shift_rows, "mine_rows": mine_rows, "past_rows": past_rows,
            "kind_labels": Labels(services.KIND_LABELS), "status_labels": Labels(policy.STATUS_LABELS),
            "coverage": services.coverage, "coverage_labels": Labels(services.COVERAGE_LABELS),
            "short_label": services.short_label}


def _or_404(obj):
    if obj is None:
        abort(404)
    return obj


def _roster_instead() -> bool:
    """Staff who sign up for no shift have no shifts of their own to list: their duty page is the roster."""
    return not services.volunteer_communities(current_user) and can(current_user, "view_roster")


# --- volunteers ----------------------------------------------------------------------------------

@bp.get("/")
@login_required
def index():
    require(current_user, "view_duty")
    now = utcnow()
    today = town_today(now)
    if _roster_instead():
        return redirect(url_for("duty.roster"))
    checkpoint_id = id_arg("checkpoint")
    needs = request.args.get("needs") == "1"
    day = None if checkpoint_id and not request.args.get("day") else (date_arg("day") or today)
    if day is not None and not today <= day < today + timedelta(days=services.DAYS_AHEAD):
        day = today
    shifts = services.volunteer_shifts(current_user, day=day, checkpoint_id=checkpoint_id, needs_people=needs, now=now)
    mine = services.my_signups_on(current_user, [s.id for s in shifts])
    groups: list = []
    for s in shifts:
        if not groups or groups[-1][0] != s.day:
            groups.append((s.day, []))
        cps = groups[-1][1]
        if not cps or cps[-1][0].id != s.checkpoint_id:
            cps.append((s.checkpoint, []))
        cps[-1][1].append(s)
    return render_template("duty/index.html", groups=groups, mine=mine, now=now, day=day,
                           days=[today + timedelta(days=i) for i in range(services.DAYS_AHEAD)],
                           checkpoints=services.checkpoints_for_volunteer(current_user),
                           checkpoint_id=checkpoint_id, needs=needs)


def _shift_fragment(shift_id, form=None, refused=None):
    """One shift of the volunteers' list, as it is now (what htmx swaps after a sign-up)."""
    shift = services.load_shift(shift_id)
    mine = services.my_signups_on(current_user, [shift.id])
    return render_template("duty/_shift.html", shift=shift, mine=mine, now=utcnow())


@bp.post("/shifts/<int:shift_id>/signup")
@login_required
def signup(shift_id):
    shift = _or_404(services.load_shift(shift_id))
    # Only volunteers sign up; whether this shift is in their community is the service's rule,
    # so a refusal says which community the checkpoint belongs to.
    require(current_user, "sign_up_duty")

    def done(_signup):
        name = services.shift_name(shift)
        if not policy.withdrawal_open(shift, utcnow()):  # no trap: say at once that it cannot be undone alone
            return _("Signed up: %(shift)s. Withdrawals have closed for this shift: if you cannot come, ask your "
                     "grid member to take you off.", shift=name), "warning"
        return _("Signed up: %(shift)s. You can withdraw until %(until)s.", shift=name,
                 until=to_local(policy.withdrawal_closes_at(shift)).strftime("%Y-%m-%d %H:%M"))

    return act(lambda: services.sign_up(shift, current_user), show=partial(_shift_fragment, shift_id),
               done=done, back=back_to(url_for("duty.index", day=shift.day.isoformat())))


@bp.post("/shifts/<int:shift_id>/withdraw")
@login_required
def withdraw(shift_id):
    shift = _or_404(services.load_shift(shift_id))
    mine = services.my_signups_on(current_user, [shift.id]).get(shift.id)
    if mine is not None:
        require(current_user, "withdraw", mine)

    def do():
        if mine is None:
            raise Conflict(_("You are not signed up for this shift."))
        services.withdraw(mine, current_user)
    return act(do, show=partial(_shift_fragment, shift_id),
               done=_("Withdrawn from %(shift)s", shift=services.shift_name(shift)),
               back=back_to(url_for("duty.index", day=shift.day.isoformat())))


@bp.get("/mine")
@login_required
def mine():
    require(current_user, "view_duty")
    if _roster_instead():
        return redirect(url_for("duty.roster"))
    now = utcnow()
    token = services.feed_token(current_user)
    if db.session.new:  # the first visit made the calendar address: kept. A commit of nothing would
        db.session.commit()  # expire the user and their roles, loaded again for the page.
    feed_url = url_for("duty.feed", token=token, _external=True)
    mark_personal()
    # webcal:// makes a phone offer "subscribe" (the calendar then fetches the https or http address).
    webcal_url = "webcal://" + feed_url.split("://", 1)[1]
    return render_template("duty/mine.html", shifts=services.my_shifts(current_user, now), now=now,
                           feed_url=feed_url, webcal_url=webcal_url)


@bp.post("/mine/feed")
@login_required
def regenerate_feed():
    require(current_user, "view_duty")
    services.feed_token(current_user, regenerate=True)
    db.session.commit()
    flash(_("A new calendar address was made; the old one no longer works."), "success")
    return redirect(url_for("duty.mine"))


@bp.get("/feed/<token>.ics")
def feed(token):
    user = services.user_by_feed_token(token)
    if user is None:
        abort(404)
    resp = make_response(services.ics_feed(user, request.host))
    resp.headers["Content-Type"] = "text/calendar; charset=utf-8"
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _own_signup(signup_id, action):
    s = _or_404(services.load_signup(signup_id))
    require(current_user, action, s)
    return s


def _mine_row(signup_id, form=None, refused=None):
    return render_template("duty/_mine_row.html", s=services.load_signup(signup_id), now=utcnow())


def _attendance(signup_id, action, service, message):
    """Check in or out: just that row back to htmx (with a toast), a redirect to my shifts otherwise."""
    s = _own_signup(signup_id, action)
    return act(lambda: service(s, current_user), show=partial(_mine_row, signup_id), done=message,
               back=url_for("duty.mine"))


@bp.post("/signups/<int:signup_id>/check-in")
@login_required
def check_in(signup_id):
    return _attendance(signup_id, "check_in", services.check_in, _("Checked in. Thank you!"))


@bp.post("/signups/<int:signup_id>/check-out")
@login_required
def check_out(signup_id):
    return _attendance(signup_id, "check_out", services.check_out, _("Checked out."))


# --- staff: the roster ----------------------------------------------------------------------------

@bp.get("/roster")
@login_required
def roster():
    """Gaps first, no-shows to confirm, then either a week's grid (checkpoints × days, each cell the
    day's shifts coloured by coverage; ?start=) or one day with its people (?day=)."""
    require(current_user, "view_roster")
    view = services.roster_page(current_user, day=date_arg("day"), start=date_arg("start"),
                                community_id=id_arg("community"), page=page_number(),
                                per_page=current_app.config["ROSTER_PAGE_SIZE"])
    mark_personal()
    return render_template(
        "duty/roster.html", **view,
        roster_row=_roster_row_writer(view.get("now")),
        can_manage=lambda cp: can(current_user, "manage", cp))


def _roster_row_writer(now):
    """The week grid's row of a checkpoint (its name, then a cell per day: the day's shifts), written
    in Python, every text escaped: a community has 100+ checkpoints × 7 days × 3 shifts, and a Jinja
    loop body costs about five times this per shift. The words and addresses are resolved once per
    page, and each row is kept drawn under the values it shows (gridapp/core/fragments.py): the
    checkpoint, the shifts' rows as read, which of them are over, and whether the viewer manages it."""
    words = {k: escape(str(v)) for k, v in services.COVERAGE_LABELS.items()}
    badge = str(_("%(filled)d of %(capacity)d, at least %(min)d"))
    inactive = escape(str(_("inactive")))
    shift_href = escape(url_for("duty.shift_page", shift_id=0)[:-1])
    day_href = escape(url_for("duty.roster", day="D")[:-1])
    checkpoint_href = escape(url_for("duty.checkpoint", checkpoint_id=0)[:-1])
    empty = '<span class="muted">—</span>'
    keep = remembering("duty.roster_row")

    def cell(shifts, manage: bool) -> str:
        if not shifts:
            return empty
        out = []
        for s in shifts:
            cov = services.coverage(s)
            label, said = escape(s.label), words[cov]
            href = f"{shift_href}{s.id}" if manage else f"{day_href}{s.day.isoformat()}"
            if cov == "cancelled":
                title, count = f"{label}: {said}", ""
            else:
                detail = escape(badge % {"filled": s.filled, "capacity": s.capacity, "min": s.min_people})
                title, count = f"{label}: {said} ({detail})", f" {s.filled}/{s.capacity}"
            out.append(f'<a class="cov cov-{cov}{" cov-past" if s.ends_at <= now else ""}" href="{href}" '
                       f'title="{title}">{escape(services.short_label(s.label))}{count}'
                       f'<span class="duty-sr"> {said}</span></a>')
        return "".join(out)

    def draw(cp, days, manage: bool) -> str:
        name = escape(cp.name)
        head = f'<a href="{checkpoint_href}{cp.id}">{name}</a>' if manage else name
        if not cp.active:
            head = f'{head} <span class="muted">({inactive})</span>'
        cells = "".join(f'<td class="cell">{cell(shifts, manage)}</td>' for shifts in days)
        return f'<tr id="grid-cp-{cp.id}">\n        <th scope="row" class="cp">{head}</th>{cells}\n      </tr>'

    def row(cp, days, manage: bool) -> Markup:
        shifts = tuple(tuple(d) for d in days)
        over = tuple(s.ends_at <= now for d in days for s in d)
        return Markup(keep((cp.id, cp.name, cp.active, manage, shifts, over), lambda: draw(cp, days, manage)))

    return row


def _shift_page(shift, remove_form=None, assign_form=None, cancel_form=None, **_ignored):
    now = utcnow()
    people = services.roster_people(shift)
    assign_form = assign_form or AssignForm(formdata=None)
    assign_form.user_id.choices = [(u.id, u.display_name) for u in services.candidates(shift)]
    mark_personal()
    return render_template("duty/shift.html", shift=shift, people=people, now=now,
                           cancelled=services.cancellation(shift),
                           remove_form=remove_form or RemoveForm(formdata=None), assign_form=assign_form,
                           cancel_form=cancel_form or CancelShiftForm(formdata=None))


@bp.get("/shifts/<int:shift_id>")
@login_required
def shift_page(shift_id):
    shift = _or_404(services.load_shift(shift_id))
    require(current_user, "manage", shift)
    return _shift_page(shift)


@bp.post("/shifts/<int:shift_id>/assign")
@login_required
def assign(shift_id):
    shift = _or_404(services.load_shift(shift_id))
    require(current_user, "manage", shift)
    form = AssignForm()
    form.user_id.choices = [(u.id, u.display_name) for u in services.candidates(shift)]
    person = db.session.get(User, form.user_id.data) if form.user_id.data else None
    return act(lambda: services.sign_up(shift, person, actor=current_user), form=form, refusal_field="user_id",
               show=lambda form=None, refused=None: _shift_page(shift, assign_form=form),
               done=lambda signup: _("%(name)s is on the shift.", name=person.display_name),
               back=url_for("duty.shift_page", shift_id=shift.id))


@bp.post("/shifts/<int:shift_id>/cancel")
@login_required
def cancel(shift_id):
    """Staff call off a shift that has not started, with a reason; its people are told."""
    shift = _or_404(services.load_shift(shift_id))
    require(current_user, "manage", shift)
    form = CancelShiftForm()
    return act(lambda: services.cancel_shift(current_user, shift, form.cancel_reason.data), form=form,
               show=lambda form=None, refused=None: _shift_page(shift, cancel_form=form),
               done=lambda told: _("The shift was cancelled. People on it who were told: %(n)d.", n=told),
               back=url_for("duty.shift_page", shift_id=shift_id))


@bp.post("/signups/<int:signup_id>/remove")
@login_required
def remove(signup_id):
    s = _or_404(services.load_signup(signup_id))
    require(current_user, "remove", s)
    form = RemoveForm()
    return act(lambda: services.remove(s, current_user, form.reason.data), form=form,
               show=lambda form=None, refused=None: _shift_page(s.shift, remove_form=form),
               done=_("%(name)s was taken off the shift.", name=s.user.display_name),
               back=url_for("duty.shift_page", shift_id=s.shift_id))


@bp.post("/signups/<int:signup_id>/no-show")
@login_required
def no_show(signup_id):
    s = _or_404(services.load_signup(signup_id))
    require(current_user, "mark_no_show", s)
    return act(lambda: services.mark_no_show(s, current_user),
               show=partial(_shift_page, s.shift),
               done=_("%(name)s marked as a no-show.", name=s.user.display_name), back=back_to(url_for("duty.roster")))


# --- checkpoints ------------------------------------------------------------------------------------

def _choices_for(community):
    compounds = db.session.scalars(select(Compound).join(Grid, Grid.id == Compound.grid_id)
                                   .where(Grid.community_id == community.id).order_by(Compound.name)).all()
    units = db.session.scalars(select(WorkUnit).order_by(WorkUnit.name)).all()
    return {"compounds": compounds, "work_units": units}


def _values(form) -> dict:
    return {"name": form.name.data, "kind": form.kind.data, "location": form.location.data or "",
            "pattern": form.pattern.data, "min_people": form.min_people.data, "max_people": form.max_people.data,
            "active": bool(form.active.data), "work_unit_id": form.work_unit_id.data or None}


@bp.route("/checkpoints/new", methods=["GET", "POST"])
@login_required
def new_checkpoint():
    community = _or_404(db.session.get(Community, id_arg("community") or 0))
    if not policy.can_add_checkpoint_to(current_user, community):
        require(current_user, "edit", community)
    form = CheckpointForm(**_choices_for(community))
    if form.validate_on_submit():
        compound = db.session.get(Compound, form.compound_id.data) if form.compound_id.data else None
        try:
            cp = services.create_checkpoint(current_user, community=community, compound=compound, values=_values(form))
        except RuleError as exc:
            db.session.rollback()
            getattr(form, exc.field or "pattern").errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Checkpoint added with its shifts for the next 14 days."), "success")
            return redirect(url_for("duty.checkpoint", checkpoint_id=cp.id))
    return render_template("duty/checkpoint.html", form=form, community=community, checkpoint=None), form_status(form)


@bp.route("/checkpoints/<int:checkpoint_id>", methods=["GET", "POST"])
@login_required
def checkpoint(checkpoint_id):
    cp = _or_404(db.session.get(Checkpoint, checkpoint_id))
    require(current_user, "manage", cp)
    form = CheckpointForm(obj=cp, **_choices_for(cp.community))
    if request.method == "GET":
        form.compound_id.data = cp.compound_id or 0
        form.work_unit_id.data = cp.work_unit_id or 0
    details = can(current_user, "edit_details", cp)
    if form.validate_on_submit():
        values = _values(form)
        if not details:  # a grid member or work-unit contact changes the shifts, not what the place is
            for key in ("name", "kind", "location", "work_unit_id"):
                values.pop(key)
        try:
            result = services.update_checkpoint(current_user, cp, values)
        except RuleError as exc:
            db.session.rollback()
            getattr(form, exc.field or "pattern").errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Saved.") if not result else
                  _("Saved. Future shifts follow the new pattern; shifts with people on them were kept."), "success")
            return redirect(url_for("duty.checkpoint", checkpoint_id=cp.id))
    return (render_template("duty/checkpoint.html", form=form, community=cp.community, checkpoint=cp, details=details),
            form_status(form))


# --- hours and the export -------------------------------------------------------------------------

def _period():
    form = HoursPeriodForm(request.args)
    return form, form.validate()


@bp.get("/hours")
@login_required
def hours():
    require(current_user, "view_roster")
    form, ok = _period()
    rows = services.hours_report(current_user, form.start.data, form.end.data) if ok else []
    mark_personal()
    return render_template("duty/hours.html", form=form, rows=rows, personal_columns=services.HOURS_PERSONAL), \
        (200 if ok else 400)


@bp.get("/hours.xlsx")
@login_required
def hours_export():
    require(current_user, "view_roster")
    form, ok = _period()
    if not ok:
        return render_template("duty/hours.html", form=form, rows=[], personal_columns=services.HOURS_PERSONAL), 400
    choice = exports.choose(_("Duty hours"), [str(c) for c in services.HOURS_PERSONAL])
    if not isinstance(choice, exports.Choice):  # the reason asked again, or the password
        return choice
    rows = services.hours_report(current_user, form.start.data, form.end.data)
    book = services.hours_xlsx(current_user, rows, form.start.data, form.end.data, personal_reason=choice.reason)
    exports.recorded(current_user, "export:duty_hours", choice, book)
    return xlsx.response(book.to_bytes(),
                         f"duty-hours-{form.start.data.isoformat()}-{form.end.data.isoformat()}.xlsx")

