"""Putting outbox rows on the RQ queue: right after commit, and again by the relay."""
import logging

from redis.exceptions import RedisError
from rq import Queue, Retry
from rq.job import Job, JobStatus

from gridapp.jobs_runtime import get_queue

log = logging.getLogger(__name__)

# A job waiting to run makes another one pointless. A *started* one does not count: its
# worker may have died, and the row's lease (not RQ's view) decides whether to send again.
WAITING = {JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED}
ENQUEUE_BATCH = 500
# The job by its dotted name: the domain never imports the job layer (which imports the domain).
DELIVER_JOB = "jobs.notifications.deliver_outbox"


def delivery_job_id(outbox_id: int) -> str:
    return f"outbox-{outbox_id}"


def enqueue_deliveries(ids, skip_active: bool = False, raise_errors: bool = False) -> int:
    """Enqueue one delivery job per outbox id (deterministic job ids). After a user's
    commit a Redis outage is only logged: the rows stay pending and the relay (which
    passes raise_errors, so that the outage shows in RQ) enqueues them later."""
    from flask import current_app

    backoff = current_app.config["OUTBOX_BACKOFF_SECONDS"]
    ids = list(ids)
    try:
        queue = get_queue()
        if skip_active:
            jobs = Job.fetch_many([delivery_job_id(i) for i in ids], connection=queue.connection)
            ids = [i for i, job in zip(ids, jobs, strict=True)
                   if job is None or job.get_status(refresh=False) not in WAITING]
        # One Redis round trip per batch, however many people one event reaches.
        for start in range(0, len(ids), ENQUEUE_BATCH):
            queue.enqueue_many([
                Queue.prepare_data(DELIVER_JOB, (outbox_id,), job_id=delivery_job_id(outbox_id), timeout=60,
                                   retry=Retry(max=len(backoff), interval=list(backoff)), result_ttl=0,
                                   failure_ttl=7 * 24 * 3600)  # the outbox row is the record
                for outbox_id in ids[start:start + ENQUEUE_BATCH]
            ])
        return len(ids)
    except RedisError as exc:
        if raise_errors:
            raise
        log.warning("could not enqueue %d outbox deliveries (%s); the relay will", len(ids), exc)
        return 0
