"""Job plumbing: a real RQ worker on real Redis, the cron table, `flask jobs`, /healthz."""
from datetime import timedelta

from rq import Worker
from rq.cron import CronScheduler
from sqlalchemy import func, select

from gridapp.auth.models import LoginSession
from gridapp.extensions import db
from gridapp.jobs_runtime import enqueue, redis_connection
from gridapp.timeutil import utcnow
from jobs.maintenance import ping, purge_expired_sessions
from jobs.periodic import PERIODIC_JOBS
from tests.workers import run_burst_worker


def _sessions(world, ages_days):
    now = utcnow()
    for i, age in enumerate(ages_days):
        db.session.add(LoginSession(id=f"s{i}", user_id=world.vol1.id, last_seen_at=now - timedelta(days=age)))
    db.session.commit()


def test_a_real_worker_runs_an_enqueued_job(app, world):
    _sessions(world, [1, 30, 40])
    job = enqueue(purge_expired_sessions, job_timeout=60)
    db.session.commit()
    done = run_burst_worker(app)
    assert done.returncode == 0, done.stderr
    job.refresh()
    assert job.get_status() == "finished", done.stderr[-2000:]
    assert job.return_value() == 2
    assert db.session.scalar(select(func.count(LoginSession.id))) == 1


def test_job_exceptions_reach_rq(app):
    """A failing job ends in RQ's failed registry with its error: nothing swallows it."""
    job = enqueue(purge_expired_sessions, "not-a-time", job_timeout=30)
    ok = enqueue(ping, "still here", job_timeout=30)
    done = run_burst_worker(app)
    assert done.returncode == 0
    job.refresh()
    assert job.get_status() == "failed"
    assert "ValueError" in job.latest_result().exc_string
    ok.refresh()
    assert ok.return_value() == "still here"


def test_cron_table_registers_every_periodic_job(app):
    scheduler = CronScheduler(connection=redis_connection())
    scheduler.load_config_from_file("jobs.cron")
    names = sorted(j.name for j in scheduler.get_jobs())
    assert names == sorted(p.name for p in PERIODIC_JOBS)


def test_flask_jobs_list_and_run_with_time_travel(app, world):
    from jobs.cli import register_jobs_cli

    _sessions(world, [1, 10])
    register_jobs_cli(app)  # as wsgi.py does
    runner = app.test_cli_runner()
    listing = runner.invoke(args=["jobs", "list"])
    assert "purge-sessions" in listing.output
    # Twenty days from now the 10-day-old session is past the 14-day limit as well.
    later = (utcnow() + timedelta(days=20)).isoformat()
    result = runner.invoke(args=["jobs", "run", "purge-sessions", "--at", later])
    assert result.exit_code == 0, result.output
    assert "purge-sessions: 2" in result.output
    assert runner.invoke(args=["jobs", "run", "nope"]).exit_code != 0
    assert runner.invoke(args=["jobs", "run", "purge-sessions", "--at", "yesterday"]).exit_code != 0


def test_healthz_reports_database_redis_and_workers(app, client):
    conn = redis_connection()
    worker = Worker(["default"], connection=conn, name="test-worker-healthz")
    worker.register_birth()
    worker.heartbeat()
    try:
        resp = client.get("/healthz")
        data = resp.get_json()
        assert resp.status_code == 200
        assert data["database"] == "ok" and data["redis"] == "ok"
        mine = [w for w in data["workers"] if w["name"] == "test-worker-healthz"]
        assert mine and mine[0]["last_heartbeat"]
    finally:
        worker.register_death()


def test_healthz_is_503_when_the_database_is_unreachable(_schema):
    from gridapp import create_app
    from tests.conftest import test_config

    app = create_app(test_config(SQLALCHEMY_DATABASE_URI="postgresql://nobody@127.0.0.1:1/none",
                                 SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"connect_timeout": 2}}))
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 503
    assert resp.get_json()["database"].startswith("error")
