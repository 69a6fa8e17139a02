"""Friendly error pages (400/403/404/405/429/500); htmx requests get a toast instead."""
from flask import make_response, render_template
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from gridapp.core.http import toast, wants_fragment
from gridapp.extensions import db

MESSAGES = {
    400: lambda: _("The request could not be understood. Please go back and try again."),
    403: lambda: _("You do not have permission to do this."),
    404: lambda: _("We could not find that page."),
    405: lambda: _("That action is not available here."),
    413: lambda: _("The upload is too large."),
    429: lambda: _("Too many attempts. Please wait a few minutes and try again."),
    500: lambda: _("Something went wrong on our side. Your change was not saved; please try again."),
}
TITLES = {
    400: lambda: _("Bad request"),
    403: lambda: _("Not allowed"),
    404: lambda: _("Not found"),
    405: lambda: _("Not allowed"),
    413: lambda: _("Too large"),
    429: lambda: _("Too many attempts"),
    500: lambda: _("Server error"),
}


def _respond(code: int, message: str | None = None):
    message = message or MESSAGES.get(code, MESSAGES[500])()
    if wants_fragment():
        resp = toast(make_response(message, code), message, "error")
        resp.headers["HX-Reswap"] = "none"
        return resp
    title = TITLES.get(code, TITLES[500])()
    return render_template("errors/error.html", code=code, title=title, message=message), code


def init_app(app):
    @app.errorhandler(CSRFError)
    def _csrf(e):
        return _respond(
            400, _("The form has expired or was sent from elsewhere. Please reload the page and try again."))

    @app.errorhandler(HTTPException)
    def _http(e):
        code = e.code or 500
        if code == 429:
            # A limit with a message of its own (why, and what still works) says it.
            limit = getattr(e, "limit", None)
            return _respond(429, e.description if getattr(limit, "error_message", None) else None)
        if code in MESSAGES:
            return _respond(code)
        return e

    @app.errorhandler(Exception)
    def _unexpected(e):
        if isinstance(e, HTTPException):
            return _http(e)
        app.logger.exception("unhandled error")
        db.session.rollback()
        if app.config.get("PROPAGATE_EXCEPTIONS_IN_TESTS"):
            raise e
        return _respond(500)
