"""Asking for the password again before a sensitive action (re-authentication).

A session that typed its password on /reauth within REAUTH_MINUTES may go on; any other is sent
there first and then back: to the page it asked for (GET), or to the page that holds the form it
sent (POST — the change is not made; the page says to make it again). An htmx request gets an
HX-Redirect to the same place, so the browser navigates instead of swapping a fragment in.

Use it after the permission check, so that a refusal stays a refusal:

    @bp.post("/things/<int:thing_id>/delete")
    @login_required
    def delete(thing_id):
        require(current_user, "manage_things")
        if (ask := prompt_unless_recent()) is not None:
            return ask
        ...

or, where the permission is checked before the view runs, as the decorator
`@require_recent_password`.
"""
from datetime import timedelta
from functools import wraps
from urllib.parse import urlsplit

from flask import current_app, flash, make_response, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from gridapp.core.http import wants_fragment
from gridapp.timeutil import utcnow


def recently_authenticated(user) -> bool:
    """Did this session type the password again within REAUTH_MINUTES?"""
    at = getattr(user, "session_reauthenticated_at", None)
    return at is not None and utcnow() - at <= timedelta(minutes=current_app.config["REAUTH_MINUTES"])


def _same_site_path(url: str | None) -> str | None:
    """The path (and query) of a URL of this site, or None."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.netloc and parts.netloc != request.host:
        return None
    if not parts.path.startswith("/") or parts.path.startswith("//"):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _return_to() -> str:
    """Where to come back to after the password: this page, or the page of the form that was sent."""
    if request.method == "GET" and not wants_fragment():
        return request.full_path.rstrip("?")
    return (_same_site_path(request.headers.get("HX-Current-URL"))
            or _same_site_path(request.referrer)
            or url_for("core.index"))


def prompt_unless_recent():
    """None when the password was typed recently; otherwise the response that asks for it."""
    if recently_authenticated(current_user):
        return None
    if request.method == "GET":
        flash(_("For your security, please enter your password again."), "info")
    else:
        flash(_("For your security, please enter your password again. Nothing was changed yet: "
                "make the change once more afterwards."), "info")
    target = url_for("auth.reauthenticate", next=_return_to())
    if request.headers.get("HX-Request") == "true":
        response = make_response("", 200)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target, code=303)


def require_recent_password(view):
    """Decorator form of prompt_unless_recent(), for views whose permission is checked before."""
    @wraps(view)
    def wrapped(*args, **kwargs):
        ask = prompt_unless_recent()
        return ask if ask is not None else view(*args, **kwargs)

    return wrapped
