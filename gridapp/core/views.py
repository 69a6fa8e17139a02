"""The home page, the language switch and the health check."""
from flask import Blueprint, current_app, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from sqlalchemy import text

from gridapp.core import home
from gridapp.core.http import redirect_back
from gridapp.core.security import mark_personal
from gridapp.extensions import db
from gridapp.jobs_runtime import redis_connection, worker_status
from gridapp.policy import can
from gridapp.today import panels
from gridapp.today import services as today
from gridapp.today.views import REFRESH_SECONDS

bp = Blueprint("core", __name__)


@bp.get("/")
@login_required
def index():
    # Staff open on the today board of their broadest place (the rest of it at /today/).
    board = None
    if can(current_user, "view_today"):
        board = today.board(current_user)
        mark_personal()  # names of people on duty, and for their managers, phones
    return render_template("core/index.html", actions=home.next_actions(current_user), board=board,
                           ctx=board.context if board else None, age=panels.age,
                           refresh_seconds=REFRESH_SECONDS)


@bp.post("/lang")
def set_language():
    lang = request.form.get("lang", "")
    if lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
    return redirect_back(url_for("core.index"))


@bp.get("/healthz")
def healthz():
    status = {"database": "ok", "redis": "ok", "workers": []}
    code = 200
    try:
        db.session.execute(text("SELECT 1"))
        db.session.rollback()
    except Exception as exc:  # any driver error means "unreachable" to an operator
        db.session.rollback()
        status["database"] = f"error: {type(exc).__name__}"
        code = 503
    try:
        conn = redis_connection()
        conn.ping()
        status["workers"] = worker_status(conn)
    except Exception as exc:
        # Pages and logging in go on without Redis (login throttling counts in memory meanwhile);
        # jobs and notifications wait for it.
        status["redis"] = f"down: {type(exc).__name__}"
    status["status"] = "ok" if code == 200 and status["redis"] == "ok" else ("degraded" if code == 200 else "down")
    return jsonify(status), code


@bp.get("/favicon.ico")
def favicon():
    return redirect(url_for("static", filename="favicon.svg"))
