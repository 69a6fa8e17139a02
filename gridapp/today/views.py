"""The today board's page: the place chosen with a plain GET form, the panels of what needs someone
now. htmx asks for the board again every minute (one request, the board fragment); without
JavaScript it is a whole page like any other."""
from flask import Blueprint, abort, make_response, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from gridapp.audit.services import record
from gridapp.core.http import render, wants_fragment
from gridapp.core.security import mark_personal
from gridapp.extensions import db, login_manager
from gridapp.policy import require
from gridapp.today import panels, services

bp = Blueprint("today", __name__, template_folder="templates")

REFRESH_SECONDS = 60
# The scope picker's groups.
SCOPE_KINDS = {"town": _l("Whole town"), "community": _l("Communities"), "grid": _l("Grids"),
               "company": _l("Property companies"), "unit": _l("Work units")}


@bp.get("/")
def board():
    if not current_user.is_authenticated:
        if wants_fragment():
            # The session ended while the board sat open on a screen: the browser goes to the login
            # page, instead of the login page being swapped into the board.
            response = make_response("", 204)
            response.headers["HX-Redirect"] = url_for("auth.login", next=url_for("today.board"))
            return response
        return login_manager.unauthorized()
    require(current_user, "view_today")
    try:
        today_board = services.board(current_user, request.args.get("scope"))
    except services.NoSuchPlace:
        abort(404)
    except services.OutOfScope as exc:  # a place that is not the viewer's: refused as require() does
        db.session.rollback()
        record("denied", exc.obj, summary="view_today", actor=current_user)
        db.session.commit()
        abort(403)
    mark_personal()  # names of people on duty, and for their managers, phones
    return render("today/board.html", "today/_board.html", board=today_board, ctx=today_board.context,
                  age=panels.age, refresh_seconds=REFRESH_SECONDS, scope_kinds=SCOPE_KINDS)
