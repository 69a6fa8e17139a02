"""Running real RQ workers (separate processes) against the test database and Redis."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RQ = str(Path(sys.executable).parent / "rq")
WORKER_CLASS = "jobs.worker.AppWorker"  # as in the Procfile


def worker_env(app, **extra) -> dict:
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": app.config["REDIS_URL"],
        "GRIDAPP_INSTANCE": app.instance_path,
        "SECRET_KEY": app.config["SECRET_KEY"],
    })
    for key in ("MAIL_SERVER", "MAIL_PORT", "SMS_GATEWAY_URL", "OUTBOX_LEASE_SECONDS"):
        if app.config.get(key) is not None:
            env[key] = str(app.config[key])
    env["WEBHOOK_ALLOWED_HOSTS"] = ",".join(app.config.get("WEBHOOK_ALLOWED_HOSTS") or ())
    env.update({k: str(v) for k, v in extra.items()})
    return env


def _release_test_transaction():
    """On SQLite every transaction holds the write lock (BEGIN IMMEDIATE): end the test's
    own before a worker process needs to write."""
    from flask import has_app_context

    from gridapp.extensions import db

    if has_app_context():
        db.session.commit()


def run_burst_worker(app, timeout=120, **extra):
    """One `rq worker --burst`: works off the queue, then exits."""
    _release_test_transaction()
    return subprocess.run([RQ, "worker", "--burst", "--worker-class", WORKER_CLASS, "--url", app.config["REDIS_URL"],
                           "default"],
                          cwd=ROOT, env=worker_env(app, **extra), capture_output=True, text=True, timeout=timeout)


def start_worker(app, **extra) -> subprocess.Popen:
    """A long-running worker in its own process group (so it can be killed with its work horse)."""
    _release_test_transaction()
    return subprocess.Popen([RQ, "worker", "--worker-class", WORKER_CLASS, "--url", app.config["REDIS_URL"],
                             "default"], cwd=ROOT,
                            env=worker_env(app, **extra), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True, text=True)
