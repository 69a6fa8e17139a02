"""Log in, log out, the user's own profile and password, and the invitation link with which a new
account sets its first password."""
from flask import Blueprint, current_app, flash, g, make_response, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from gridapp.audit.services import record
from gridapp.auth import invitations, passwords, services, throttle
from gridapp.auth.forms import AcceptInvitationForm, ChangePasswordForm, LoginForm, ReauthForm
from gridapp.core.http import form_status, redirect_back
from gridapp.core.security import mark_personal
from gridapp.extensions import db
from gridapp.grid.services import place_names
from gridapp.timeutil import utcnow

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
            _begin_session(user)
            db.session.commit()
            return redirect_back(url_for("core.index"))
        db.session.commit()  # keep the audit record of the failure
        form.password.errors.append(_("Wrong username or password, or the account is disabled."))
    return render_template("auth/login.html", form=form)


def _begin_session(user) -> None:
    """A fresh session at every login: nothing carried over but the language."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    services.start_session(user, request.headers.get("User-Agent", ""))
    login_user(user)


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


# --- the invitation link -------------------------------------------------------------------------------

def _private(response):
    """An invitation page: never cached, and its address (which holds the token) never sent on as a
    Referer — not to the pages it leads to, nor with its own stylesheet."""
    mark_personal()
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _closed(exc: invitations.InvitationClosed):
    """The plain page of a link that cannot be used: expired or used (410), anything else (404)."""
    db.session.rollback()
    return _private(make_response(render_template("auth/invitation_closed.html", state=exc.state,
                                                  invitation=exc.invitation), exc.status))


@bp.route("/invite/<token>", methods=["GET", "POST"])
@throttle.per_address_invitations
def invitation(token):
    """请设置密码: whose account it is, the password rule, the new password twice. Public: the link is
    the credential. On success the person is logged in (a session of someone else in this browser
    ends first)."""
    now = utcnow()
    try:
        pending = invitations.usable(token, now)
    except invitations.InvitationClosed as exc:
        return _closed(exc)
    form = AcceptInvitationForm()
    if form.validate_on_submit():
        try:
            user = invitations.accept(token, form.new_password.data, now)
        except invitations.InvitationClosed as exc:
            return _closed(exc)
        except passwords.PasswordRejected as exc:
            db.session.rollback()
            form.new_password.errors.append(str(exc))
        else:
            if current_user.is_authenticated:
                services.end_session(current_user.session_token)
                record("logout", current_user)
                logout_user()
            _begin_session(user)
            db.session.commit()
            flash(_("Your password is set, %(name)s. From now on, log in with your username %(username)s "
                    "(or your phone number) and this password.", name=user.display_name, username=user.username),
                  "success")
            return redirect(url_for("core.index"))
    page = render_template("auth/invitation.html", form=form, invitation=pending, account=pending.user,
                           rules=passwords.described())
    return _private(make_response(page, form_status(form)))
