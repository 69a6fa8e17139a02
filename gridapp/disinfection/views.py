"""Pages of the disinfection rounds: today's rounds, the point page a QR code opens (with the
one-tap tick), points and risk tiers of a compound, QR sheets, the compliance board, the export.

Every object route: load or 404, `require()` the action on that object, validate the form, one
service call, commit, answer (the changed fragment with a toast to htmx, a redirect otherwise).
"""
from datetime import datetime
from typing import NamedTuple

from flask import Blueprint, abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from gridapp import uploads
from gridapp.audit.services import record
from gridapp.core import xlsx
from gridapp.core.acting import act
from gridapp.core.fragments import drawn_rows
from gridapp.core.http import ListPage, form_status, page_number, render
from gridapp.core.params import id_arg, parse_id
from gridapp.core.rules import RuleError
from gridapp.core.templating import Labels
from gridapp.core.xlsx import Column
from gridapp.disinfection import policy, services
from gridapp.disinfection.forms import PointForm, PointsForm, RiskForm, RoundsPeriodForm, TickForm
from gridapp.disinfection.models import DisinfectionFlag, DisinfectionRound, DisinfectionSlot
from gridapp.extensions import db
from gridapp.grid.models import Community, Compound
from gridapp.policy import can, require
from gridapp.privacy import exports
from gridapp.timeutil import to_local, town_today, utcnow

bp = Blueprint("disinfection", __name__, template_folder="templates", static_folder="static")


@bp.context_processor
def _context():
    return {"kind_labels": Labels(services.KIND_LABELS), "task_labels": Labels(services.TASK_LABELS),
            "tier_labels": Labels(services.TIER_LABELS), "can_tick": lambda p: can(current_user, "tick", p),
            "today_rows": today_rows, "group_rows": group_rows}


def _point_or_404(point_id):
    point = services.load_point(point_id)
    if point is None:
        abort(404)
    return point


def _compound_or_404(compound_id):
    compound = db.session.get(Compound, compound_id)
    if compound is None:
        abort(404)
    return compound


def _require_place(allowed: bool, action: str, obj) -> None:
    """The place-level rules of this feature (policy.py): refuse like require() does, audited."""
    if allowed:
        return

    db.session.rollback()
    record("denied", obj, summary=action, actor=current_user)
    db.session.commit()
    abort(403)


def _tick_form(point):
    return TickForm(formdata=None, disinfectant=point.last_disinfectant, token=services.new_tick_token())


def _hhmm(moment) -> str:
    return format_datetime(to_local(moment), "HH:mm")


# --- today ------------------------------------------------------------------------------------

def _today_group() -> tuple[str, int] | None:
    """?compound=<id> or ?places=<community id>: one group of the "today" page."""
    for kind, arg in (("compound", "compound"), ("places", "places")):
        gid = parse_id(request.args.get(arg))
        if gid is not None:
            return kind, gid
    return None


@bp.get("/")
@login_required
def today():
    require(current_user, "view_disinfection")
    now = utcnow()
    # What can be ticked now, compound by compound, then each compound's day in one line; one
    # compound's whole day behind its link. A manager of hundreds of points gets them a page at a time.
    group = _today_group()
    per_page = current_app.config["PAGE_SIZE"]
    groups = services.today_groups(current_user, now)  # first: it makes a new day's slots
    rows, counts, total = services.today_for(current_user, now, page=page_number(), per_page=per_page,
                                             group=group, due_only=group is None, groups=groups)
    chosen = None
    if group is not None:
        chosen = next((g for g in groups if (g.kind, g.id) == group), None)
        if chosen is None:
            abort(404)
    page = ListPage(rows, per_page=per_page, total=total, page=page_number())
    runs: list = []  # the rows under each compound's heading, in the page's order
    for slot, state in rows:
        if not runs or runs[-1][0] != slot.point.group_key:
            runs.append((slot.point.group_key, []))
        runs[-1][1].append((slot, state))
    return render_template("disinfection/today.html", page=page, now=now, runs=runs,
                           counts=counts, groups=groups, chosen=chosen,
                           groups_by_key={(g.kind, g.id): g for g in groups},
                           pager_args={chosen.kind: chosen.id} if chosen else {})


TICK = "\x00tick-token\x00"  # stands for a today row's tick token in the row kept drawn


class TodayRow(NamedTuple):
    """What a round of today's list shows (disinfection/_today_item.html) at one minute: the row is
    remembered under these values (gridapp/core/fragments.py)."""

    id: int  # the slot
    point_id: int
    where: str
    name: str
    window: str
    state: str  # services.slot_state: due, late, overdue, upcoming, done, missed
    done: bool
    done_at: datetime | None
    done_by: str
    late: bool
    disinfectant: str  # the point's last, offered again
    error: str | None  # a refusal or a photo's error, after a tick
    tick: str  # stands for the tick's own token (TICK), new in every response


def today_rows(rows, error=None) -> Markup:
    """Today's rounds (slot, state) as rows, each kept drawn for its values; each due row's form
    gets a tick token of its own (services.new_tick_token), new in every response."""
    return drawn_rows("disinfection/_today_item.html", "today_row", [
        TodayRow(slot.id, slot.point.id, slot.point.where, slot.point.name, slot.window, state,
                 slot.status == "done", slot.done_at,
                 slot.done_by.display_name if slot.done_by else "", bool(slot.late),
                 slot.point.last_disinfectant or "", error, TICK)
        for slot, state in rows], fill=lambda _i: {TICK: services.new_tick_token()})


def group_rows(groups) -> Markup:
    """The list by compound of today's rounds: each services.TodayGroup (frozen, plain values) kept
    drawn for its counts."""
    return drawn_rows("disinfection/_today_item.html", "group_row", groups)


# --- a point: what its QR code opens ---------------------------------------------------------------

def _point_page(point, form=None, error: str = ""):
    now = utcnow()
    ctx = {"point": point, "slots": services.slots_of_point(point, now), "form": form or _tick_form(point),
           "error": error, "rounds": services.recent_rounds(point), "now": now,
           "show_photos": can(current_user, "view_photo", point), "recent_oob": True}
    return render("disinfection/point.html", "disinfection/_tick_panel.html", **ctx)


@bp.get("/points/<int:point_id>")
@login_required
def point(point_id):
    p = _point_or_404(point_id)
    require(current_user, "view", p)
    return _point_page(p)


_MESSAGES = {
    "on_time": lambda r: _("Round recorded at %(time)s (window %(window)s).", time=_hhmm(r.round.ticked_at),
                           window=r.slot.window),
    "late": lambda r: _("Recorded at %(time)s, late: the window %(window)s had closed.",
                        time=_hhmm(r.round.ticked_at), window=r.slot.window),
    "extra": lambda r: _("Recorded at %(time)s as an extra round: no window is open now.",
                         time=_hhmm(r.round.ticked_at)),
    "duplicate": lambda r: _("This tap was already recorded."),
    "taken": lambda r: _("This round was already done by %(name)s at %(time)s.",
                         name=r.slot.done_by.display_name if r.slot.done_by else "?", time=_hhmm(r.slot.done_at)),
}


def _save_photo(form) -> str:
    """The stored name of the tick's photo, "" without one; UploadRejected for anything but an image."""
    data = form.photo.data
    if data is None or not getattr(data, "filename", ""):
        return ""
    return uploads.save_image(data)


def _today_slot(point, raw) -> DisinfectionSlot | None:
    """The "today" row the form came from (only to draw it again; the server picks the slot ticked)."""
    slot_id = parse_id(raw)
    slot = db.session.get(DisinfectionSlot, slot_id) if slot_id else None
    return slot if slot is not None and slot.point_id == point.id else None


@bp.post("/points/<int:point_id>/tick")
@login_required
def tick(point_id):
    """One tap: the service picks the slot and says how the round counts (on time, late, extra, a
    double tap, someone else's round). From the "today" list the answer is that row; from the
    point's page, its tick panel."""
    p = _point_or_404(point_id)
    require(current_user, "tick", p)
    form = TickForm()
    from_today = request.form.get("view") == "today"
    ticked = {}

    def do():
        photo = _save_photo(form)
        try:
            result = services.tick(p, current_user, disinfectant=form.disinfectant.data, note=form.note.data,
                                   token=form.token.data or None, photo=photo)
        except RuleError:
            uploads.delete_image(photo)
            raise
        if not result.recorded:
            uploads.delete_image(photo)  # a double tap or someone else's round: this photo has no round
        ticked["slot"] = result.slot
        return result

    def show(form=None, refused=None):
        slot = (ticked.get("slot") or _today_slot(p, request.form.get("slot"))) if from_today else None
        if slot is None and not (from_today and refused):
            return _point_page(p, form=form, error=refused or "")
        # The "today" row again, with the refusal or the form's first error (a rejected photo).
        error = refused or next((e for errors in (form.errors if form else {}).values() for e in errors), None)
        if slot is None:
            return render_template("disinfection/_refused.html", error=error)
        return render_template("disinfection/_today_row.html", slot=slot, state=services.slot_state(slot, utcnow()),
                               error=error)

    return act(do, form=form, show=show, upload_field="photo",
               done=lambda result: (_MESSAGES[result.outcome](result), "success" if result.recorded else "info"),
               back=url_for("disinfection.today") if from_today else url_for("disinfection.point", point_id=p.id))


@bp.get("/rounds/<int:round_id>/photo")
@login_required
def round_photo(round_id):
    """A round's photo, only for those who answer for the point or oversee its place."""
    r = db.session.get(DisinfectionRound, round_id)
    if r is None or not r.photo:
        abort(404)
    require(current_user, "view_photo", _point_or_404(r.point_id))
    try:
        return uploads.send_image(r.photo)
    except FileNotFoundError:
        abort(404)


@bp.route("/points/<int:point_id>/edit", methods=["GET", "POST"])
@login_required
def edit_point(point_id):
    p = _point_or_404(point_id)
    require(current_user, "manage", p)
    form = PointForm(obj=p)
    if form.validate_on_submit():
        try:
            services.update_point(current_user, p, {"name": form.name.data, "windows": form.windows.data,
                                                    "active": form.active.data})
        except RuleError as exc:
            db.session.rollback()
            form.windows.errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("disinfection.point", point_id=p.id))
    tier = services.tier_of(p.compound) if p.compound else "normal"
    return render_template("disinfection/point_edit.html", point=p, form=form,
                           effective=services.effective_windows(p, tier)), form_status(form)


@bp.get("/points/<int:point_id>/qr.svg")
@login_required
def point_qr(point_id):
    p = _point_or_404(point_id)
    require(current_user, "view", p)
    resp = make_response(_qr_svg(p, scale=6))
    resp.headers["Content-Type"] = "image/svg+xml"
    return resp


def _qr_svg(point, scale=4) -> str:
    import segno

    url = url_for("disinfection.point", point_id=point.id, _external=True)
    return segno.make(url, error="m").svg_inline(scale=scale, title=point.audit_name)


# --- a compound's points, its risk tier, its QR sheet; a community's public places ----------------

def _places_page(*, compound=None, community=None, add_form=None, risk_form=None, status=200):
    points = services.points_of(compound=compound, community=community)
    if compound is not None:
        manage = policy.can_manage_compound_points(current_user, compound)
        tier = services.tier_of(compound)
        risk_form = risk_form or RiskForm(formdata=None, tier=tier)
        set_risk = policy.can_set_risk(current_user, compound)
    else:
        manage = policy.can_manage_community_places(current_user, community)
        tier, set_risk = "normal", False
    add_form = add_form or PointsForm(formdata=None, public_place=compound is None)
    return render_template("disinfection/places.html", compound=compound, community=community, points=points,
                           manage=manage, tier=tier, risk_form=risk_form, set_risk=set_risk,
                           add_form=add_form), status


@bp.get("/compounds/<int:compound_id>")
@login_required
def compound(compound_id):
    k = _compound_or_404(compound_id)
    require(current_user, "view", k)
    return _places_page(compound=k)


@bp.post("/compounds/<int:compound_id>/points")
@login_required
def add_points(compound_id):
    k = _compound_or_404(compound_id)
    _require_place(policy.can_manage_compound_points(current_user, k), "add_disinfection_points", k)
    form = PointsForm()
    return _add(form, compound=k)


@bp.get("/communities/<int:community_id>/places")
@login_required
def places(community_id):
    c = db.session.get(Community, community_id) or abort(404)
    require(current_user, "view", c)
    return _places_page(community=c)


@bp.post("/communities/<int:community_id>/places")
@login_required
def add_places(community_id):
    c = db.session.get(Community, community_id) or abort(404)
    _require_place(policy.can_manage_community_places(current_user, c), "add_disinfection_points", c)
    form = PointsForm(public_place=True)
    return _add(form, community=c)


def _add(form, *, compound=None, community=None):
    if form.validate_on_submit():
        values = {f.name: f.data for f in form if f.name != "csrf_token"}
        try:
            points = services.create_points(current_user, compound=compound, community=community, values=values)
        except RuleError as exc:
            db.session.rollback()
            field = exc.field if exc.field in form else "windows"
            form[field].errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("%(n)d points added.", n=len(points)), "success")
            if compound is not None:
                return redirect(url_for("disinfection.compound", compound_id=compound.id))
            return redirect(url_for("disinfection.places", community_id=community.id))
    return _places_page(compound=compound, community=community, add_form=form, status=form_status(form))


@bp.post("/compounds/<int:compound_id>/risk")
@login_required
def set_risk(compound_id):
    k = _compound_or_404(compound_id)
    _require_place(policy.can_set_risk(current_user, k), "set_disinfection_risk", k)
    form = RiskForm()
    if not form.validate_on_submit():
        return _places_page(compound=k, risk_form=form, status=form_status(form))
    services.set_risk(current_user, k, form.tier.data)
    db.session.commit()
    flash(_("Risk tier saved: the rounds of every point follow it from the next window."), "success")
    return redirect(url_for("disinfection.compound", compound_id=k.id))


@bp.get("/compounds/<int:compound_id>/qr")
@login_required
def qr_sheet(compound_id):
    k = _compound_or_404(compound_id)
    _require_place(policy.can_manage_compound_points(current_user, k), "print_qr_sheet", k)
    points = [p for p in services.points_of(compound=k) if p.active]
    return render_template("disinfection/qr_sheet.html", compound=k, codes=[(p, _qr_svg(p)) for p in points])


# --- the compliance board ------------------------------------------------------------------------

class BoardRow(NamedTuple):
    """What a compound's row of the compliance board shows (disinfection/_board_row.html): the day's
    figures as services.board_today counted them for the viewer. The row is remembered under these
    values (gridapp/core/fragments.py)."""

    community_id: int
    community: str
    compound_id: int | None
    compound: str | None
    company: str | None
    total: int
    started: int
    done: int
    missed: int
    percent: int | None
    yesterday_missed: int
    yesterday_percent: int | None


def board_rows(rows: list[dict]) -> Markup:
    return drawn_rows("disinfection/_board_row.html", "board_row",
                      [BoardRow(*(r[f] for f in BoardRow._fields)) for r in rows])


@bp.get("/board")
@login_required
def board():
    require(current_user, "view_disinfection_board")
    day = town_today()
    rows = services.board_today(current_user, day)
    companies = services.company_compliance(current_user, day, today_rows=rows)
    # From a community's today board: its compounds only (a narrowing of what the viewer sees).
    community = db.session.get(Community, id_arg("community") or 0)
    if community is not None:
        rows = [r for r in rows if r["community_id"] == community.id]
    return render_template("disinfection/board.html", rows=rows, board_rows=board_rows, day=day, companies=companies,
                           community=community,
                           flags=services.open_flags(current_user),
                           period=RoundsPeriodForm.default(day))


@bp.get("/board/compounds/<int:compound_id>")
@login_required
def board_compound(compound_id):
    k = _compound_or_404(compound_id)
    require(current_user, "view_disinfection_board")
    require(current_user, "view", k)
    day = town_today()
    now = utcnow()
    return render_template("disinfection/board_points.html", title=k.name, day=day,
                           state_of=lambda slot: services.slot_state(slot, now),
                           points=services.board_points(current_user, day, compound=k))


@bp.get("/board/communities/<int:community_id>/places")
@login_required
def board_places(community_id):
    c = db.session.get(Community, community_id) or abort(404)
    require(current_user, "view_disinfection_board")
    require(current_user, "view", c)
    day = town_today()
    now = utcnow()
    return render_template("disinfection/board_points.html", title=c.name, day=day,
                           state_of=lambda slot: services.slot_state(slot, now),
                           points=services.board_points(current_user, day, community=c))


@bp.post("/flags/<int:flag_id>/resolve")
@login_required
def resolve_flag(flag_id):
    flag = db.session.get(DisinfectionFlag, flag_id) or abort(404)
    require(current_user, "manage", flag.point)
    services.resolve_flag(current_user, flag)
    db.session.commit()
    flash(_("Flag closed."), "success")
    return redirect(url_for("disinfection.board"))


@bp.get("/rounds.xlsx")
@login_required
def export():
    require(current_user, "view_disinfection_board")
    form = RoundsPeriodForm(request.args)
    if not form.validate():
        flash(form.period_message(), "error")
        return redirect(url_for("disinfection.board"))
    choice = exports.choose(_("Rounds"), [_("Done by"), _("Note")])
    if not isinstance(choice, exports.Choice):  # the reason asked again, or the password
        return choice
    book = xlsx.Book(xlsx.heading(_("Rounds"), current_user, form.start.data, form.end.data),
                     personal_reason=choice.reason)

    def photo_url(r) -> str:
        # The permission-checked route: the file opens only for those who may see it.
        return url_for("disinfection.round_photo", round_id=r.round_id, _external=True) if r.photo else ""

    status_labels = {"pending": _("Pending"), "done": _("Done"), "missed": _("Missed")}
    book.sheet(_("Rounds"), [
        Column(_("Day"), 11, lambda r: r.day),
        Column(_("Window"), 12, lambda r: r.window),
        Column(_("Status"), 8, lambda r: status_labels[r.status]),
        Column(_("Late"), 6, lambda r: _("yes") if r.late else ""),
        Column(_("Done at"), 17, lambda r: r.done_at),
        Column(_("Done by"), 12, lambda r: r.done_by or "", personal=True),
        Column(_("Community"), 14, lambda r: r.community),
        Column(_("Compound or place"), 16, lambda r: r.compound or r.place_name),
        Column(_("Point"), 16, lambda r: r.point),
        Column(_("Kind"), 10, lambda r: str(services.KIND_LABELS.get(r.kind, r.kind))),
        Column(_("Task"), 10, lambda r: str(services.TASK_LABELS.get(r.task, r.task))),
        Column(_("Disinfectant"), 14, lambda r: r.disinfectant or ""),
        Column(_("Note"), 30, lambda r: r.note or "", personal=True),
        Column(_("Photo"), 40, photo_url),
    ]).extend(services.export_rows(current_user, form.start.data, form.end.data))
    book.sheet(_("Extra rounds"), [
        Column(_("Done at"), 17, lambda r: r.ticked_at),
        Column(_("Done by"), 12, lambda r: r.done_by, personal=True),
        Column(_("Community"), 14, lambda r: r.community),
        Column(_("Compound or place"), 16, lambda r: r.compound or r.place_name),
        Column(_("Point"), 16, lambda r: r.point),
        Column(_("Disinfectant"), 14, lambda r: r.disinfectant or ""),
        Column(_("Note"), 30, lambda r: r.note or "", personal=True),
        Column(_("Photo"), 40, photo_url),
    ]).extend(services.extra_rounds(current_user, form.start.data, form.end.data))
    exports.recorded(current_user, "export:rounds", choice, book)
    name = f"rounds-{form.start.data.isoformat()}-{form.end.data.isoformat()}.xlsx"
    return xlsx.response(book.to_bytes(), name)
