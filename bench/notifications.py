"""Notification fan-out benchmark: N events through the outbox to the inbox and a loopback
group robot, against N no-op RQ jobs enqueued and processed in the same run.

    .venv/bin/python -m bench.notifications [--events 10000] [--workers 2]

Uses BENCH_DATABASE_URL (default: a fresh SQLite file) and REDIS_URL (default: the
embedded Redis), both emptied first. Prints a table and writes bench/results/notifications.json.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


class RobotProcess:
    """The loopback group robot in a process of its own, so that it does not compete with
    the benchmark's own loop for the interpreter lock; it counts the posts it receives."""

    def __enter__(self):
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        self.count = ctx.Value("i", 0)
        ready = ctx.Queue()
        self.proc = ctx.Process(target=_serve_robot, args=(self.count, ready), daemon=True)
        self.proc.start()
        self.url = ready.get(timeout=30)
        return self

    @property
    def received(self) -> int:
        return self.count.value

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.join(10)


def _serve_robot(count, ready):
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Robot(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the real robots' servers do
        disable_nagle_algorithm = True  # headers and body go out at once, as from a real server

        def do_POST(self):  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with count.get_lock():
                count.value += 1
            body = b'{"errcode": 0, "errmsg": "ok"}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Robot)
    ready.put(f"http://127.0.0.1:{server.server_port}")
    server.serve_forever()


def start_workers(app, count: int) -> list:
    """Long-running workers, as in production; returns once they are all listening."""
    from rq import Worker

    from gridapp.jobs_runtime import redis_connection
    from tests.workers import RQ, WORKER_CLASS, worker_env

    procs = [subprocess.Popen([RQ, "worker", "--worker-class", WORKER_CLASS, "--url", app.config["REDIS_URL"],
                               "--logging_level", "WARNING", "default"], cwd=ROOT, env=worker_env(app))
             for _ in range(count)]
    deadline = time.monotonic() + 60
    while Worker.count(connection=redis_connection()) < count:
        if time.monotonic() > deadline:
            raise SystemExit("workers did not start")
        time.sleep(0.1)
    return procs


def stop_workers(procs) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(30)


def wait_until(done, timeout: float = 3600) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise SystemExit("timed out waiting for the workers")
        time.sleep(0.02)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    instance = Path(tempfile.mkdtemp(prefix="gridapp-bench-"))
    database = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{instance / 'bench.db'}"
    from gridapp import create_app
    from gridapp.extensions import db
    from gridapp.redis_conn import stop_embedded_redis

    app = create_app({"INSTANCE_PATH": str(instance), "SQLALCHEMY_DATABASE_URI": database,
                      "SECRET_KEY": "bench", "REDIS_URL": os.environ.get("REDIS_URL")})
    try:
        with app.app_context(), RobotProcess() as robot:
            result = _run(app, db, robot, args)
    finally:
        if not os.environ.get("REDIS_URL"):
            stop_embedded_redis(instance)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "notifications.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(f"\nNotification fan-out, {args.events} events, {args.workers} workers, {result['database']}")
    print("| run | seconds | per second |")
    print("|---|---:|---:|")
    print(f"| plain RQ: enqueue + process no-op jobs | {result['baseline_s']:.2f} | {result['baseline_rate']:.0f} |")
    print(f"| outbox: notify + commit + deliver to inbox and robot | {result['fanout_s']:.2f} "
          f"| {result['fanout_rate']:.0f} |")
    print(f"| … of which raising the events (notify + commit + enqueue) | {result['raise_s']:.2f} | |")
    print(f"| ratio (outbox / plain RQ; target ≤ 2.0) | {result['ratio']:.2f} | |")
    return 0


def _run(app, db, robot, args) -> dict:
    from rq import Queue
    from sqlalchemy import func, insert, select

    from bench.noop import noop
    from gridapp.auth.models import User
    from gridapp.grid.models import Community, Town
    from gridapp.jobs_runtime import redis_connection
    from gridapp.notifications.models import GroupWebhook, OutboxMessage
    from gridapp.notifications.services import notify

    db.drop_all()
    db.create_all()
    conn = redis_connection()
    conn.flushdb()
    town = Town(name="城关镇")
    community = Community(town=town, name="南街社区")
    db.session.add_all([town, community])
    db.session.flush()
    db.session.add(GroupWebhook(community_id=community.id, provider="wecom", name="南街社区群",
                                url=robot.url + "/cgi-bin/webhook/send?key=bench"))
    db.session.execute(insert(User), [{"username": f"u{i}", "display_name": f"志愿者{i}", "password_hash": "x",
                                       "active": True, "is_party_member": False} for i in range(args.events)])
    db.session.commit()
    # The code that raises an event already holds its recipients and its place (a web
    # request or a job has loaded them for its own work), so they are loaded here once,
    # outside the timed loop, and used detached.
    users = db.session.scalars(select(User).order_by(User.id)).all()
    db.session.refresh(community)
    db.session.remove()

    from rq.registry import StartedJobRegistry

    queue = Queue("default", connection=conn)
    started = StartedJobRegistry(queue=queue)
    workers = start_workers(app, args.workers)
    try:
        # 1. Baseline: the same number of no-op jobs, enqueued one by one while the same
        #    workers process them.
        start = time.perf_counter()
        for _ in range(args.events):
            queue.enqueue(noop, job_timeout=60, result_ttl=0)
        wait_until(lambda: queue.count == 0 and started.count == 0)
        baseline = time.perf_counter() - start

        # 2. Fan-out: one event per transaction (as one web request or job would raise it),
        #    each to one person's inbox and the community's group robot, delivered meanwhile.
        def all_sent():
            n = db.session.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.status == "sent"))
            db.session.remove()
            return n == args.events

        start = time.perf_counter()
        for i, user in enumerate(users):
            notify([user], "urgent", f"班次提醒 {i}", "东门检查点 08:00–16:00",
                   dedupe_key=f"bench:{i}", places=[community])
            db.session.commit()
            db.session.remove()
        raised = time.perf_counter() - start
        wait_until(all_sent)
        fanout = time.perf_counter() - start
    finally:
        stop_workers(workers)

    sent = db.session.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.status == "sent"))
    if sent != args.events or robot.received != args.events:
        raise SystemExit(f"expected {args.events} deliveries, got {sent} sent rows and "
                         f"{robot.received} robot posts")
    return {
        "events": args.events, "workers": args.workers,
        "database": db.engine.dialect.name,
        "baseline_s": baseline, "baseline_rate": args.events / baseline,
        "fanout_s": fanout, "fanout_rate": args.events / fanout, "raise_s": raised,
        "ratio": fanout / baseline,
        "python": sys.version.split()[0], "cpus": os.cpu_count(),
    }


if __name__ == "__main__":
    sys.exit(main())
