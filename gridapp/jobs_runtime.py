"""The RQ side of the app: Redis connection, queues, enqueueing, worker status."""
import os
from datetime import UTC

from flask import current_app
from redis import Redis
from rq import Queue, Retry, Worker

from gridapp.timeutil import utcnow


def redis_connection() -> Redis:
    """The app's Redis client: one connection pool per app (and per process), reused."""
    client = current_app.extensions.get("gridapp_redis")
    if client is None or client.connection_pool.pid != os.getpid():
        client = Redis.from_url(current_app.config["REDIS_URL"], socket_connect_timeout=2, socket_timeout=5,
                                health_check_interval=30)
        current_app.extensions["gridapp_redis"] = client
    return client


def get_queue(name: str = "default") -> Queue:
    return Queue(name, connection=redis_connection())


def enqueue(func, *args, job_id: str | None = None, job_timeout: int = 300,
            retry: Retry | None = None, queue: str = "default", **kwargs):
    """Enqueue a job function (it takes ids); every call names its timeout and retries."""
    return get_queue(queue).enqueue(func, *args, job_id=job_id, job_timeout=job_timeout,
                                    retry=retry, **kwargs)


def worker_status(conn: Redis) -> list[dict]:
    now = utcnow()
    out = []
    for w in Worker.all(connection=conn):
        beat = w.last_heartbeat
        if beat is not None and beat.tzinfo is None:
            beat = beat.replace(tzinfo=UTC)
        out.append({
            "name": w.name,
            "state": w.get_state(),
            "queues": w.queue_names(),
            "last_heartbeat": beat.isoformat() if beat else None,
            "seconds_since_heartbeat": round((now - beat).total_seconds(), 1) if beat else None,
        })
    return out
