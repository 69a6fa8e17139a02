"""What operators see of the background machinery: queues, workers, failed jobs, outbox."""
from redis.exceptions import RedisError
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from sqlalchemy import select

from gridapp.extensions import db
from gridapp.jobs_runtime import redis_connection, worker_status
from gridapp.notifications.models import OutboxMessage
from gridapp.notifications.services import outbox_counts


def queue_overview(queue_names=("default",)) -> dict:
    conn = redis_connection()
    try:
        queues = []
        failed_jobs = []
        for name in queue_names:
            q = Queue(name, connection=conn)
            failed = FailedJobRegistry(queue=q)
            queues.append({"name": name, "queued": q.count, "started": StartedJobRegistry(queue=q).count,
                           "scheduled": ScheduledJobRegistry(queue=q).count, "failed": failed.count})
            for job in Job.fetch_many(failed.get_job_ids(0, 49), connection=conn):
                if job is None:
                    continue
                result = job.latest_result()
                exc = ((result.exc_string if result else None) or "").strip().splitlines()
                failed_jobs.append({"id": job.id, "func": job.func_name, "queue": name,
                                    "ended_at": job.ended_at, "error": exc[-1] if exc else ""})
        return {"ok": True, "queues": queues, "workers": worker_status(conn), "failed_jobs": failed_jobs}
    except RedisError as exc:
        return {"ok": False, "error": str(exc), "queues": [], "workers": [], "failed_jobs": []}


def requeue_failed(job_id: str, queue_name: str = "default") -> bool:
    conn = redis_connection()
    try:
        FailedJobRegistry(queue=Queue(queue_name, connection=conn)).requeue(job_id)
        return True
    except (NoSuchJobError, KeyError, ValueError, RedisError):
        return False


def outbox_overview(limit: int = 50) -> dict:
    rows = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.status.in_(("pending", "sending", "failed")))
        .order_by(OutboxMessage.status, OutboxMessage.id.desc()).limit(limit)
    ).all()
    return {"counts": outbox_counts(), "rows": rows}
