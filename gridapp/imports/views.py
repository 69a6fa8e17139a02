"""Imports: upload and preview, confirm, watch the job, read the report; templates and exports.

The run page is one page for the whole life of an import: the preview (what would be created,
updated, skipped and why) with Confirm and Discard; then the progress while the job runs, which
htmx refreshes every two seconds (without JavaScript the page reloads itself with a meta refresh);
then the report.
"""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from gridapp.core import xlsx
from gridapp.core.http import form_status, wants_fragment
from gridapp.core.rules import RuleError
from gridapp.extensions import db
from gridapp.imports import services
from gridapp.imports.forms import UploadForm
from gridapp.imports.kinds import KINDS
from gridapp.imports.models import ImportRun
from gridapp.imports.policy import STATUS_LABELS
from gridapp.jobs_runtime import enqueue
from gridapp.policy import require
from gridapp.privacy import exports

bp = Blueprint("imports", __name__, template_folder="templates")

JOB_TIMEOUT = 1800


def _index(form=None):
    kinds = services.kinds_for(current_user)
    form = form or UploadForm(formdata=None, kinds=kinds)
    return render_template("imports/index.html", form=form, kinds=kinds, runs=services.recent_runs(current_user),
                           run_states=STATUS_LABELS, community=services.community_of(current_user)), \
        form_status(form)


@bp.route("/", methods=["GET", "POST"])
@login_required
def index():
    require(current_user, "import_data")
    form = UploadForm(kinds=services.kinds_for(current_user))
    if form.validate_on_submit():
        try:
            run = services.upload(current_user, form.kind.data, form.file.data)
        except RuleError as exc:
            db.session.rollback()
            form[exc.field if exc.field in form else "file"].errors.append(str(exc))
        else:
            db.session.commit()
            return redirect(url_for("imports.run", run_id=run.id), code=303)
    return _index(form)


def _kind_or_404(name):
    kind = KINDS.get(name)
    if kind is None or kind not in services.kinds_for(current_user):
        abort(404)
    return kind


@bp.get("/template/<name>.xlsx")
@login_required
def template(name):
    require(current_user, "import_data")
    kind = _kind_or_404(name)
    return xlsx.response(services.template_book(kind), f"gridapp-template-{kind.name}.xlsx")


@bp.get("/export/<name>.xlsx")
@login_required
def export(name):
    require(current_user, "import_data")
    kind = _kind_or_404(name)
    choice = exports.choose(str(kind.label), kind.personal_headers)
    if not isinstance(choice, exports.Choice):  # the reason asked again, or the password
        return choice
    book = services.export_book(current_user, kind, personal_reason=choice.reason)
    exports.recorded(current_user, f"export:{kind.name}", choice, book)
    return xlsx.response(book.to_bytes(), f"gridapp-{kind.name}.xlsx")


def _run_or_404(run_id, action="view") -> ImportRun:
    run = db.get_or_404(ImportRun, run_id)
    require(current_user, action, run)
    return run


def _run_context(run):
    return {"run": run, "kind": KINDS[run.kind], "run_states": STATUS_LABELS, "rows_done": services.progress(run),
            "community_name": services.community_name(run), "confirmed_by": services.confirmed_by_name(run)}


@bp.get("/<int:run_id>")
@login_required
def run(run_id):
    run = _run_or_404(run_id)
    if wants_fragment():
        return render_template("imports/_status.html", **_run_context(run))
    return render_template("imports/run.html", **_run_context(run))


@bp.post("/<int:run_id>/confirm")
@login_required
def confirm(run_id):
    run = _run_or_404(run_id, "confirm")
    try:
        services.confirm(current_user, run, url_root=request.url_root)
    except RuleError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("imports.run", run_id=run_id), code=303)
    db.session.commit()
    try:
        enqueue(services.RUN_JOB, run.id, job_id=f"import-{run.id}-{run.confirmed_at:%Y%m%d%H%M%S}",
                job_timeout=JOB_TIMEOUT)
    except Exception:  # noqa: BLE001 - Redis away: nothing runs; say so and let it be confirmed again
        services.not_enqueued(run.id)
        db.session.commit()
        flash(_("The job queue does not answer: nothing was imported. Try again in a moment."), "error")
    else:
        flash(_("Import confirmed: it runs in the background."), "success")
    return redirect(url_for("imports.run", run_id=run_id), code=303)


@bp.post("/<int:run_id>/discard")
@login_required
def discard(run_id):
    run = _run_or_404(run_id, "discard")
    try:
        services.discard(current_user, run)
    except RuleError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("imports.run", run_id=run_id), code=303)
    db.session.commit()
    flash(_("Import discarded: nothing was written."), "success")
    return redirect(url_for("imports.index"), code=303)
