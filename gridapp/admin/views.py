"""Administration: accounts and the roles they hold on places, their invitations, the audit trail.

Every route first asks the policy (admins manage accounts; admins and community secretaries handle
the invitations of the accounts they may invite; admins and the town leader read the trail), then
loads its rows or 404s, then asks about the row. Every change of an account, its roles or its
invitations (and the page for creating one) then asks for the password again unless it was typed in
the last REAUTH_MINUTES (gridapp/auth/reauth.py). State changes are POSTs with CSRF, one service
call, one commit (the audit event rides in the same transaction), then a redirect with a flash; the
roles section also answers targeted htmx requests with itself, so it can be swapped in place.

A new invitation's link is shown once: its token is kept in the (signed) session cookie only until
the page it redirects to has shown it; the printable sheet is the answer to its POST itself.
"""
import segno
from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from gridapp.admin import services
from gridapp.admin.forms import AccountForm, AssignRoleForm, AuditFilterForm, NewAccountForm, ResetPasswordForm
from gridapp.auth import invitations
from gridapp.auth.models import ROLES, Invitation, RoleAssignment, User
from gridapp.auth.reauth import prompt_unless_recent
from gridapp.core.http import back_to, form_status, paginate, toast, wants_fragment
from gridapp.core.params import id_arg, text_arg
from gridapp.core.rules import RuleError
from gridapp.core.security import mark_personal
from gridapp.extensions import db
from gridapp.grid.models import Community
from gridapp.grid.services import place_names
from gridapp.policy import can, require
from gridapp.timeutil import utcnow

bp = Blueprint("admin", __name__, template_folder="templates")

USER_URL = "/users/<int:user_id>"


def _manage_users():
    require(current_user, "manage_users")


# --- accounts ------------------------------------------------------------------------------------

@bp.get("/users")
@login_required
def users():
    _manage_users()
    mark_personal()
    q = text_arg("q", 100)
    role = request.args.get("role") or ""
    if role not in ROLES:
        role = ""
    page = paginate(services.search_users(q, role))
    # One query per kind of place for the whole page, whatever its length.
    names = place_names((ra.scope_type, ra.scope_id) for u in page.items for ra in u.roles)
    return render_template("admin/users.html", page=page, q=q, role=role, roles=ROLES, scope_names=names,
                           pager_args={"q": q or None, "role": role or None})


@bp.route("/users/new", methods=["GET", "POST"])
@login_required
def new_user():
    _manage_users()
    if (ask := prompt_unless_recent()) is not None:  # asked before the form, so nothing typed is lost
        return ask
    mark_personal()
    form = NewAccountForm()
    if form.validate_on_submit():
        try:
            user, invitation, token = services.create_account(current_user, form.values())
        except RuleError as exc:
            form[exc.field].errors.append(str(exc))
        else:
            db.session.commit()
            _remember_link(invitation, token)
            flash(_("Account %(username)s created, without a password: its owner chooses one with the invitation "
                    "link below. Now give it its roles.", username=user.username), "success")
            return redirect(url_for("admin.user", user_id=user.id))
    return render_template("admin/new_user.html", form=form,
                           days=invitations.lifetime().days), form_status(form)


def _user_or_404(user_id) -> User:
    return db.get_or_404(User, user_id)


def _user_page(user, *, form=None, password_form=None, role_form=None):
    mark_personal()
    return render_template(
        "admin/user.html",
        form=form or AccountForm(formdata=None, obj=user),
        password_form=password_form or ResetPasswordForm(formdata=None),
        **_invitation_context(user),
        **_roles_context(user, role_form)), form_status(form, password_form, role_form)


def _invitation_context(user) -> dict:
    invitation = invitations.latest_invitations([user.id]).get(user.id)
    return {"invitation": invitation, "now": utcnow(), "shown": _shown_link([user.id]),
            "deliveries": invitations.deliveries(invitation) if invitation is not None else {}}


def _roles_context(user, role_form=None) -> dict:
    names = place_names((ra.scope_type, ra.scope_id) for ra in user.roles)
    if role_form is None:
        role_form = AssignRoleForm(formdata=None, scope_groups=services.scope_choices())
    return {"user": user, "role_form": role_form, "scope_names": names}


@bp.route(USER_URL, methods=["GET", "POST"])
@login_required
def user(user_id):
    _manage_users()
    user = _user_or_404(user_id)
    if request.method == "POST" and (ask := prompt_unless_recent()) is not None:
        return ask
    form = AccountForm(obj=user)
    if form.validate_on_submit():
        try:
            services.update_account(current_user, user, form.values())
        except RuleError as exc:
            form[exc.field].errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(url_for("admin.user", user_id=user.id))
    return _user_page(user, form=form)


@bp.post(USER_URL + "/password")
@login_required
def reset_password(user_id):
    _manage_users()
    user = _user_or_404(user_id)
    if (ask := prompt_unless_recent()) is not None:
        return ask
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            services.reset_password(current_user, user, form.new_password.data)
        except RuleError as exc:
            form[exc.field].errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("The password of %(username)s has been reset; their sessions have been ended.",
                    username=user.username), "success")
            return redirect(url_for("admin.user", user_id=user.id))
    return _user_page(user, password_form=form)


@bp.post(USER_URL + "/active")
@login_required
def set_active(user_id):
    _manage_users()
    user = _user_or_404(user_id)
    if (ask := prompt_unless_recent()) is not None:
        return ask
    wanted = request.form.get("active")
    if wanted not in ("0", "1"):
        abort(400)
    try:
        services.set_active(current_user, user, wanted == "1")
    except RuleError as exc:
        flash(str(exc), "error")
    else:
        db.session.commit()
        if wanted == "1":
            flash(_("The account of %(username)s is enabled.", username=user.username), "success")
        else:
            flash(_("The account of %(username)s is disabled; their sessions have been ended.",
                    username=user.username), "success")
    return redirect(url_for("admin.user", user_id=user.id))


# --- invitations ---------------------------------------------------------------------------------

SHOWN_LINK = "invitation_shown"


def _remember_link(invitation: Invitation, token: str) -> None:
    """Keep the new link for the page this request redirects to, which shows it once."""
    session[SHOWN_LINK] = {"id": invitation.id, "token": token}


def _qr_svg(url: str, title: str, scale: int = 4) -> str:
    # Without a fixed size (a viewBox instead), so that the stylesheet sizes it for screen and paper.
    return segno.make(url, error="m").svg_inline(scale=scale, title=title, omitsize=True)


def _shown_link(user_ids=None) -> dict | None:
    """The link remembered by the request before, once (it leaves the session here), if it belongs
    to one of these accounts (any, without), is still pending and may be seen by the user."""
    kept = session.pop(SHOWN_LINK, None)
    if not isinstance(kept, dict):
        return None
    invitation = db.session.get(Invitation, kept.get("id")) if isinstance(kept.get("id"), int) else None
    token = kept.get("token")
    if (invitation is None or (user_ids is not None and invitation.user_id not in set(user_ids))
            or invitation.state(utcnow()) != "pending"
            or invitations.normalised(token) is None or invitations.token_hash(token) != invitation.token_hash
            or not can(current_user, "view", invitation)):
        return None
    url = invitations.link(token)
    return {"invitation": invitation, "link": url, "short": invitations.short_link(token),
            "qr": _qr_svg(url, invitation.user.display_name), "deliveries": invitations.deliveries(invitation)}


def _invitations_home() -> str:
    return url_for("admin.invitations_page")


@bp.post(USER_URL + "/invitation")
@login_required
def send_invitation(user_id):
    """A new link for an account without a password (its earlier ones stop working), sent where it can be."""
    require(current_user, "invite_users")
    user = _user_or_404(user_id)
    require(current_user, "invite", user)
    if (ask := prompt_unless_recent()) is not None:
        return ask
    try:
        invitation, token = invitations.invite(current_user, user)
    except RuleError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        _remember_link(invitation, token)
        flash(_("A new invitation link for %(name)s is below; any earlier link no longer works.",
                name=user.display_name), "success")
    default = url_for("admin.user", user_id=user.id) if can(current_user, "manage_users") else _invitations_home()
    return redirect(back_to(default))


@bp.post("/invitations/<int:invitation_id>/revoke")
@login_required
def revoke_invitation(invitation_id):
    require(current_user, "invite_users")
    invitation = db.get_or_404(Invitation, invitation_id)
    require(current_user, "revoke", invitation)
    if (ask := prompt_unless_recent()) is not None:
        return ask
    try:
        invitations.revoke(current_user, invitation)
    except RuleError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(_("The invitation of %(name)s is revoked: its link no longer works.",
                name=invitation.user.display_name), "success")
    default = (url_for("admin.user", user_id=invitation.user_id) if can(current_user, "manage_users")
               else _invitations_home())
    return redirect(back_to(default))


def _invitation_community() -> tuple[Community | None, list[Community]]:
    """?community= (404 unknown, 403 not one's own), else the first of one's own; and one's own."""
    require(current_user, "invite_users")
    own = services.invitation_communities(current_user)
    if "community" in request.args:
        community = db.session.get(Community, id_arg("community")) if id_arg("community") else None
        if community is None:
            abort(404)
        require(current_user, "invite", community)
        return community, own
    return (own[0] if own else None), own


@bp.get("/invitations")
@login_required
def invitations_page():
    """The accounts of a community that have no password yet, with their invitations."""
    community, communities = _invitation_community()
    mark_personal()
    page, latest = None, {}
    if community is not None:
        page = paginate(invitations.awaiting_password(current_user, community.id))
        latest = invitations.latest_invitations(u.id for u in page.items)
    shown = _shown_link()
    return render_template("admin/invitations.html", community=community, communities=communities, page=page,
                           latest=latest, now=utcnow(), shown=shown, days=invitations.lifetime().days)


@bp.route("/invitations/sheet", methods=["GET", "POST"])
@login_required
def invitation_sheet():
    """GET: who would be on the community's printable sheet, and a confirmation (their earlier links
    stop working). POST: fresh invitations for all of them, as an A4 page of QR codes to print."""
    community, _own = _invitation_community()
    if community is None:
        abort(404)
    mark_personal()
    if request.method == "GET":
        people = db.session.scalars(invitations.awaiting_password(current_user, community.id)).all()
        return render_template("admin/invitation_sheet_confirm.html", community=community, people=people,
                               days=invitations.lifetime().days)
    if (ask := prompt_unless_recent()) is not None:
        return ask
    issued = invitations.issue_sheet(current_user, community)
    db.session.commit()
    if not issued:
        flash(_("Every account of %(place)s has a password: there is nothing to print.", place=community.name), "info")
        return redirect(url_for("admin.invitations_page", community=community.id))
    cards = [{"user": user, "invitation": invitation, "short": invitations.short_link(token),
              "qr": _qr_svg(invitations.link(token), user.display_name, scale=3)}
             for user, invitation, token in issued]
    return render_template("admin/invitation_sheet.html", community=community, cards=cards,
                           expires_at=issued[0][1].expires_at, issued_at=issued[0][1].created_at)


# --- roles ---------------------------------------------------------------------------------------

def _roles_answer(user, message: str, level: str = "success", role_form=None):
    """After a role change: the roles section (targeted htmx), or back to the account page."""
    if wants_fragment():
        db.session.expire(user, ["roles"])
        html = render_template("admin/_roles.html", **_roles_context(user, role_form))
        return toast(make_response(html), message, level)
    flash(message, level)
    return redirect(url_for("admin.user", user_id=user.id) + "#roles")


@bp.post(USER_URL + "/roles")
@login_required
def assign_role(user_id):
    _manage_users()
    user = _user_or_404(user_id)
    if (ask := prompt_unless_recent()) is not None:
        return ask
    form = AssignRoleForm(scope_groups=services.scope_choices())
    if form.validate_on_submit():
        try:
            ra = services.assign(current_user, user, form.role.data, form.scope.data or "")
        except RuleError as exc:
            form[exc.field].errors.append(str(exc))
        else:
            db.session.commit()
            if ra is None:
                return _roles_answer(user, _("%(username)s already holds this role there.",
                                             username=user.username), "info")
            return _roles_answer(user, _("Role assigned."))
    if wants_fragment():
        return render_template("admin/_roles.html", **_roles_context(user, form)), form_status(form)
    return _user_page(user, role_form=form)


@bp.post(USER_URL + "/roles/<int:ra_id>/delete")
@login_required
def remove_role(user_id, ra_id):
    _manage_users()
    user = _user_or_404(user_id)
    ra = db.session.get(RoleAssignment, ra_id)
    if ra is None or ra.user_id != user.id:
        abort(404)
    if (ask := prompt_unless_recent()) is not None:
        return ask
    try:
        services.remove(current_user, ra)
    except RuleError as exc:
        return _roles_answer(user, str(exc), "error")
    db.session.commit()
    return _roles_answer(user, _("Role removed."))


# --- the audit trail -----------------------------------------------------------------------------

@bp.get("/audit")
@login_required
def audit():
    require(current_user, "view_audit")
    mark_personal()  # it tells who did what, when and from where
    form = AuditFilterForm(request.args)
    form.set_choices(services.audit_actions(), services.audit_object_types())
    form.validate()  # a bad value is shown with its error and ignored, never refused
    filters = form.filters()
    page = paginate(services.audit_events(**filters))
    pager_args = {k: (v.isoformat() if hasattr(v, "isoformat") else v) or None for k, v in filters.items()}
    return render_template("admin/audit.html", form=form, page=page, pager_args=pager_args)
