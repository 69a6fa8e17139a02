"""/admin/jobs: queue lengths, live workers, failed jobs and the notification outbox."""
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from gridapp.extensions import db
from gridapp.notifications.services import retry_failed
from gridapp.ops import services
from gridapp.policy import require

bp = Blueprint("ops", __name__, template_folder="templates")


@bp.get("/")
@login_required
def jobs():
    require(current_user, "view_jobs")
    return render_template("ops/jobs.html", overview=services.queue_overview(), outbox=services.outbox_overview())


@bp.post("/failed/<job_id>/requeue")
@login_required
def requeue(job_id):
    require(current_user, "view_jobs")
    if services.requeue_failed(job_id):
        flash(_("The job is queued again."), "success")
    else:
        flash(_("That job is no longer in the failed list."), "error")
    return redirect(url_for(".jobs"))


@bp.post("/outbox/<int:outbox_id>/retry")
@login_required
def retry_outbox(outbox_id):
    require(current_user, "view_jobs")
    row = retry_failed(current_user, outbox_id)
    if row is None:
        flash(_("Only failed deliveries can be retried."), "error")
    else:
        db.session.commit()
        flash(_("The delivery will be tried again."), "success")
    return redirect(url_for(".jobs"))
