"""Administration: accounts and the roles they hold on places, the audit trail.

Every route first asks the policy (admins manage accounts; admins and the town leader read
the trail), then loads its rows or 404s. Every change of an account or its roles (and the page
for creating one) then asks for the admin's password again unless it was typed in the last
REAUTH_MINUTES (gridapp/auth/reauth.py). State changes are POSTs with CSRF, one service call,
one commit (the audit event rides in the same transaction), then a redirect with a flash; the
roles section also answers targeted htmx requests with itself, so it can be swapped in place.
"""
from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from gridapp.admin import services
from gridapp.admin.forms import AccountForm, AssignRoleForm, AuditFilterForm, NewAccountForm, ResetPasswordForm
from gridapp.auth.models import ROLES, RoleAssignment, User
from gridapp.auth.reauth import prompt_unless_recent
from gridapp.core.http import form_status, paginate, toast, wants_fragment
from gridapp.core.params import text_arg
from gridapp.core.rules import RuleError
from gridapp.core.security import mark_personal
from gridapp.extensions import db
from gridapp.grid.services import place_names
from gridapp.policy import require

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
            user = services.create_account(current_user, form.values())
        except RuleError as exc:
            form[exc.field].errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Account %(username)s created. Now give it its roles.", username=user.username), "success")
            return redirect(url_for("admin.user", user_id=user.id))
    return render_template("admin/new_user.html", form=form), form_status(form)


def _user_or_404(user_id) -> User:
    return db.get_or_404(User, user_id)


def _user_page(user, *, form=None, password_form=None, role_form=None):
    mark_personal()
    return render_template(
        "admin/user.html",
        form=form or AccountForm(formdata=None, obj=user),
        password_form=password_form or ResetPasswordForm(formdata=None),
        **_roles_context(user, role_form)), form_status(form, password_form, role_form)


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
