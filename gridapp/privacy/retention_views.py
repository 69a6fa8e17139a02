"""/privacy/retention (how long each kind of personal data is kept, the last purges) and
/privacy/emergency (closing the emergency: what it erases, the confirmation, its report)."""
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from rq import Retry
from wtforms import BooleanField
from wtforms.validators import DataRequired

from gridapp.auth.reauth import prompt_unless_recent
from gridapp.core.forms import Form
from gridapp.core.http import form_status, wants_fragment
from gridapp.extensions import db
from gridapp.jobs_runtime import enqueue
from gridapp.policy import require
from gridapp.privacy import emergency, retention

bp = Blueprint("retention", __name__, template_folder="templates")


class CloseEmergencyForm(Form):
    confirm = BooleanField(_l("The emergency is over: erase the households' health flags, phones and notes"),
                           validators=[DataRequired(message=_l("Tick the box to confirm."))])


def _page_context() -> dict:
    return {"categories": retention.CATEGORIES, "days": retention.days, "labels": retention.BY_KEY,
            "triggers": retention.TRIGGER_LABELS}


@bp.get("/retention")
@login_required
def index():
    require(current_user, "view_retention")
    return render_template("privacy/retention.html", runs=retention.recent_runs(), **_page_context())


@bp.get("/emergency")
@login_required
def emergency_page():
    require(current_user, "close_emergency")
    context = {"closing": emergency.latest(), **_page_context()}
    if wants_fragment():  # the report polls itself while the purge runs
        return render_template("privacy/_emergency_report.html", **context)
    return render_template("privacy/emergency.html", preview=emergency.preview(), **context)


@bp.route("/emergency/close", methods=["GET", "POST"])
@login_required
def close_emergency():
    """GET: what closing erases, and the box to tick; POST: closed, and its purge enqueued. The
    password is asked again first (before the form, so nothing ticked is lost)."""
    require(current_user, "close_emergency")
    if (ask := prompt_unless_recent()) is not None:
        return ask
    form = CloseEmergencyForm()
    if form.validate_on_submit():
        run = emergency.close(current_user)
        db.session.commit()
        try:
            enqueue(emergency.JOB, run.id, job_id=emergency.job_id(run), job_timeout=emergency.JOB_TIMEOUT,
                    retry=Retry(max=3, interval=[60, 300, 900]))
        except Exception:  # noqa: BLE001 - Redis away: the closing is recorded; the nightly purge runs it
            flash(_("The emergency is closed. The job queue does not answer: the purge runs with tonight's "
                    "purge."), "error")
        else:
            flash(_("The emergency is closed: its purge runs in the background."), "success")
        return redirect(url_for("retention.emergency_page"), code=303)
    return render_template("privacy/emergency_confirm.html", form=form, preview=emergency.preview(),
                           **_page_context()), form_status(form)
