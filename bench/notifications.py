"""Notification fan-out benchmark: N notifications through the outbox to the inbox and loopback
group robots, against N no-op RQ jobs enqueued and processed in the same run. Two ways of
raising them: N events of one person and one robot each (each its own transaction), and
N / 100 town-wide notices of 100 people and 100 grid robots each (the fan-out).

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


FANOUT_RECIPIENTS = 100  # people per event in the fan-out run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    args.events = max(FANOUT_RECIPIENTS, args.events - args.events % FANOUT_RECIPIENTS)

    instance = Path(tempfile.mkdtemp(prefix="gridapp-bench-"))
    database = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{instance / 'bench.db'}"
    from gridapp import create_app
    from gridapp.extensions import db
    from gridapp.redis_conn import stop_embedded_redis

    try:
        with RobotProcess() as robot:
            app = create_app({"INSTANCE_PATH": str(instance), "SQLALCHEMY_DATABASE_URI": database,
                              "SECRET_KEY": "bench", "REDIS_URL": os.environ.get("REDIS_URL"),
                              "SMS_GATEWAY_URL": robot.url + "/sms?to={phone}",
                              "WEBHOOK_ALLOWED_HOSTS": ("127.0.0.1",)})  # the loopback robot
            with app.app_context():
                result = _run(app, db, robot, args)
    finally:
        if not os.environ.get("REDIS_URL"):
            stop_embedded_redis(instance)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "notifications.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))
    n = args.events
    print(f"\nNotifications through the outbox, {n} deliveries per run, {args.workers} workers, "
          f"{result['database']}")
    print("| run | seconds | per second | ratio to plain RQ |")
    print("|---|---:|---:|---:|")
    print(f"| plain RQ: enqueue + process {n} no-op jobs | {result['baseline_s']:.2f} "
          f"| {result['baseline_rate']:.0f} | 1.00 |")
    print(f"| one event per transaction: {n} × (notify + commit) → inbox + group robot "
          f"| {result['single_s']:.2f} | {result['single_rate']:.0f} | {result['single_ratio']:.2f} |")
    print(f"| … of which raising the events | {result['single_raise_s']:.2f} | | |")
    print(f"| fan-out: {n // FANOUT_RECIPIENTS} notices × ({FANOUT_RECIPIENTS} people's inbox + "
          f"{FANOUT_RECIPIENTS} grid robots) "
          f"| {result['fanout_s']:.2f} | {result['fanout_rate']:.0f} | {result['fanout_ratio']:.2f} |")
    print(f"| … of which raising the events | {result['fanout_raise_s']:.2f} | | |")
    print("Target: fan-out within 2.0 × plain RQ.")
    return 0


def _run(app, db, robot, args) -> dict:
    from rq import Queue
    from rq.registry import StartedJobRegistry
    from sqlalchemy import func, insert, select

    from bench.noop import noop
    from gridapp.auth.models import User
    from gridapp.grid.models import Community, Grid, Town
    from gridapp.jobs_runtime import redis_connection
    from gridapp.notifications.digest import GROUP_TITLE
    from gridapp.notifications.group import GroupText
    from gridapp.notifications.kinds import get_kind
    from gridapp.notifications.models import GroupWebhook, OutboxMessage
    from gridapp.notifications.services import notify

    n = args.events
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
    # The fan-out run's places: grids, each with its group's robot.
    grids = [Grid(community_id=community.id, name=f"第{g + 1}网格") for g in range(FANOUT_RECIPIENTS)]
    db.session.add_all(grids)
    db.session.flush()
    db.session.add_all([GroupWebhook(grid_id=g.id, provider="wecom", name=f"{g.name}群",
                                     url=robot.url + f"/cgi-bin/webhook/send?key=grid{g.id}") for g in grids])
    db.session.execute(insert(User), [{"username": f"u{i}", "display_name": f"志愿者{i}", "password_hash": "x",
                                       "phone": f"139{i:08d}", "active": True, "is_party_member": False}
                                      for i in range(n)])
    db.session.commit()
    # The code that raises an event already holds its recipients and its place (a web
    # request or a job has loaded them for its own work), so they are loaded here once,
    # outside the timed runs, and used detached.
    users = db.session.scalars(select(User).order_by(User.id)).all()
    db.session.refresh(community)
    for g in grids:
        db.session.refresh(g)
    db.session.remove()

    queue = Queue("default", connection=conn)
    started = StartedJobRegistry(queue=queue)

    def sent_rows() -> int:
        count = db.session.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.status == "sent"))
        db.session.remove()
        return count

    workers = start_workers(app, args.workers)
    try:
        # 1. Baseline: the same number of no-op jobs, enqueued one by one while the same
        #    workers process them.
        start = time.perf_counter()
        for _ in range(n):
            queue.enqueue(noop, job_timeout=60, result_ttl=0)
        wait_until(lambda: queue.count == 0 and started.count == 0)
        baseline = time.perf_counter() - start

        # 2. One event per transaction (as n separate web requests or jobs would raise
        #    them), each to one person's inbox and the community's group robot. Urgent,
        #    so that quiet hours hold nothing back; the kind's SMS goes out too, so those
        #    rows are switched off by preference here: only the robot counts.
        from gridapp.notifications.models import NotificationPreference

        db.session.execute(insert(NotificationPreference), [
            {"user_id": u.id, "kind": "urgent", "channel": "sms", "enabled": False} for u in users])
        db.session.commit()
        db.session.remove()
        label = get_kind("urgent").label  # the robots' text: "Urgent notices: <n>" (a GroupText)
        start = time.perf_counter()
        for i, user in enumerate(users):
            notify([user], "urgent", f"班次提醒 {i}", "东门检查点 08:00–16:00",
                   dedupe_key=f"bench:{i}", places=[community], group_text=GroupText(GROUP_TITLE, kind=label, n=i))
            db.session.commit()
            db.session.remove()
        single_raise = time.perf_counter() - start
        wait_until(lambda: sent_rows() == n)
        single = time.perf_counter() - start

        # 3. Fan-out: n / 100 town-wide notices, each to 100 people's inbox and to the group
        #    robots of 100 grids (loopback), one transaction per notice.
        start = time.perf_counter()
        for e in range(n // FANOUT_RECIPIENTS):
            group = users[e * FANOUT_RECIPIENTS:(e + 1) * FANOUT_RECIPIENTS]
            notify(group, "urgent", f"通报 第{e + 1}期", "请各网格当日完成整改并上报",
                   dedupe_key=f"bench-fanout:{e}", places=grids, group_text=GroupText(GROUP_TITLE, kind=label, n=e))
            db.session.commit()
            db.session.remove()
        fanout_raise = time.perf_counter() - start
        wait_until(lambda: sent_rows() == 2 * n)
        fanout = time.perf_counter() - start
    finally:
        stop_workers(workers)

    if robot.received != 2 * n:
        raise SystemExit(f"expected {2 * n} posts to the robots, got {robot.received}")
    return {
        "deliveries_per_run": n, "workers": args.workers, "fanout_recipients": FANOUT_RECIPIENTS,
        "database": db.engine.dialect.name,
        "baseline_s": baseline, "baseline_rate": n / baseline,
        "single_s": single, "single_rate": n / single, "single_raise_s": single_raise,
        "single_ratio": single / baseline,
        "fanout_s": fanout, "fanout_rate": n / fanout, "fanout_raise_s": fanout_raise,
        "fanout_ratio": fanout / baseline,
        "python": sys.version.split()[0], "cpus": os.cpu_count(),
    }


if __name__ == "__main__":
    sys.exit(main())
