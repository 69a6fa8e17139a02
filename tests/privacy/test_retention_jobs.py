"""The nightly purge-personal-data job, run by a real RQ worker on real Redis, and from `flask jobs`."""
from sqlalchemy import func, select

from gridapp.errands.models import Errand
from gridapp.extensions import db
from gridapp.jobs_runtime import enqueue
from gridapp.notifications.models import Notification
from gridapp.privacy.models import PurgeRun
from jobs.cli import register_jobs_cli
from jobs.periodic import by_name
from jobs.privacy import purge_personal_data
from tests.privacy.retention_factories import D, T, closed_errand, notifications, on_disk
from tests.workers import run_burst_worker


def test_the_nightly_job_runs_through_a_real_worker(app, world, clock):
    errand = closed_errand(world, clock, T - 31 * D)
    photos = [errand.receipt_photo, errand.delivery_photo]
    notifications(world, T - 91 * D, n=3)
    clock.set(T)
    job = enqueue(purge_personal_data, T.isoformat(), job_timeout=300)
    done = run_burst_worker(app)
    assert done.returncode == 0, done.stderr
    job.refresh()
    assert job.get_status() == "finished", done.stderr[-2000:]
    counts = job.return_value()
    assert counts["errands"] == 1 and counts["errand_photos"] == 2 and counts["notifications"] >= 3
    db.session.expire_all()
    assert db.session.get(Errand, errand.id).erased_at == T
    assert not any(on_disk(n) for n in photos)  # the worker shares the instance's uploads folder
    run = db.session.scalars(select(PurgeRun)).one()
    assert run.trigger == "nightly" and run.finished_at is not None and run.counts == counts

    # The same job again: nothing left to remove.
    again = enqueue(purge_personal_data, T.isoformat(), job_timeout=300)
    assert run_burst_worker(app).returncode == 0
    again.refresh()
    assert set(again.return_value().values()) == {0}


def test_it_is_a_nightly_cron_job_and_runs_from_flask_jobs(app, world, clock):
    periodic = by_name("purge-personal-data")
    assert periodic.cron and periodic.cron.split()[1] in {"1", "2", "3", "4", "5"} and periodic.interval is None
    notifications(world, T - 91 * D, n=2)
    register_jobs_cli(app)
    result = app.test_cli_runner().invoke(args=["jobs", "run", "purge-personal-data", "--at", T.isoformat()])
    assert result.exit_code == 0, result.output
    assert "'notifications': 2" in result.output
    assert db.session.scalar(select(func.count(Notification.id))) == 0
