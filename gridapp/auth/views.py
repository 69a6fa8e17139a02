"""Log in, log out, and the user's own profile and password."""
from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from gridapp.audit.services import record
from gridapp.auth import services, throttle
from gridapp.auth.forms import ChangePasswordForm, LoginForm, ReauthForm
from gridapp.core.http import redirect_back
from gridapp.core.security import mark_personal
from gridapp.extensions import db
from gridapp.grid.services import place_names

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
@throttle.per_address
@throttle.per_account
def login():
    if current_user.is_authenticated:
        return redirect(url_for("core.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = throttle.attempt(form.username.data, form.password.data)
        if user is not None:
            lang = session.get("lang")
            session.clear()  # a fresh session at every login: nothing carried over
            if lang:
                session["lang"] = lang
            services.start_session(user, request.headers.get("User-Agent", ""))
            login_user(user)
            db.session.commit()
            return redirect_back(url_for("core.index"))
        db.session.commit()  # keep the audit record of the failure
        form.password.errors.append(_("Wrong username or password, or the account is disabled."))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        services.end_session(current_user.session_token)
        record("logout", current_user)
        db.session.commit()
        logout_user()
    session.clear()
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/reauth", methods=["GET", "POST"])
@login_required
@throttle.per_own_account
def reauthenticate():
    """请再次输入密码: confirms the password for REAUTH_MINUTES, then back to where the user was."""
    mark_personal()
    form = ReauthForm()
    if form.validate_on_submit():
        if services.confirm_password(current_user, form.password.data):
            db.session.commit()
            return redirect_back(url_for("core.index"))
        g.login_failed = True  # counts against the account's login limit
        db.session.commit()  # keep the audit record of the failure
        form.password.errors.append(_("The password is wrong."))
    nxt = request.values.get("next") or ""
    return render_template("auth/reauth.html", form=form, next=nxt, minutes=current_app.config["REAUTH_MINUTES"])


@bp.get("/profile")
@login_required
def profile():
    mark_personal()
    return _profile_page(ChangePasswordForm())


def _profile_page(form):
    names = place_names((ra.scope_type, ra.scope_id) for ra in current_user.roles)
    return render_template("auth/profile.html", form=form, scope_names=names)


@bp.post("/profile/password")
@login_required
def change_password():
    mark_personal()
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            services.change_own_password(current_user, form.current_password.data, form.new_password.data)
        except services.PasswordRejected as exc:
            getattr(form, exc.field).errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Your password has been changed. Other sessions have been logged out."), "success")
            return redirect(url_for("auth.profile"))
    return _profile_page(form)
