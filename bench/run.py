"""make bench: gridapp at town and county scale, against the fastest a Flask view can be here.

    .venv/bin/python -m bench.run [--levels town,county] [--databases postgresql,sqlite]
                                  [--duration 15] [--connections 8] [--events 10000]

For each database: builds the dataset (bench.seed, as `flask seed-bench <level>` does, in process),
counts the SQL statements of each key page as the user who uses it, and times the periodic
sweeps with their statement counts. At the first level (town) it also serves the app as in
production (gunicorn with several workers and threads, RQ workers) and measures on loopback
with wrk: a trivial view (the ceiling), the key pages, a claim storm and a sign-up storm.
Then the notification fan-out benchmark (bench.notifications). Writes
bench/results/latest.md and bench/results/latest.json.

PostgreSQL: BENCH_PG_URL (default postgresql://postgres@127.0.0.1:5432/gridapp_bench; the
database is dropped and created for each level). SQLite: a file under bench/results/tmp/.
Redis: REDIS_URL, else the embedded one. Needs wrk (Debian package `wrk`).
"""
import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BIN = Path(sys.executable).parent
DEMO_PASSWORD = "demo-pass-2020"

# (name, username, path): each key page as the user who uses it.
PAGES = [
    ("errand board", "vol1", "/errands/"),
    ("my shifts", "vol1", "/duty/mine"),
    ("today's rounds", "pm1", "/disinfection/"),
    ("compliance board", "secretary1", "/disinfection/board"),
    ("overdue items", "sup1", "/supervision/items?overdue=1"),
    ("roster", "gridder1", "/duty/roster"),
    ("today board (town)", "leader", "/today/"),
    ("today board (community)", "secretary1", "/today/"),
    ("screening coverage", "leader", "/screening/{campaign}"),
    ("my visits (screening)", "gridder1", "/screening/{campaign}/mine"),
    ("screening coverage (one community)", "leader", "/screening/{campaign}?community={community}"),
    ("under observation (grid member)", "gridder1", "/observation/"),
    ("under observation (town)", "leader", "/observation/"),
    ("observation ledger", "secretary1", "/observation/ledger/{community}"),
]
# The pages and sweeps of screening and home observation, reported side by side per level.
HEALTH_PAGES = [name for name, _u, _p in PAGES if "screening" in name or "observation" in name]
BASELINE = ("trivial view (baseline)", None, "/bench/ping")
# Not a key page: an empty page in the layout as vol1 sees it, what every page pays before its content.
REFERENCE = ("empty page in the layout (reference)", "vol1", "/bench/layout")
KEY_TABLES = ["households", "users", "duty_checkpoints", "duty_shifts", "duty_signups", "errands", "errand_events",
              "disinfection_points", "disinfection_slots", "disinfection_rounds", "supervision_items",
              "notifications", "outbox_messages", "screening_visits", "household_members", "observations",
              "observation_checks", "observation_followups"]
SWEEP_TARGET_S = 1.0  # each sweep, first run and steady state, at the first (town) level


_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|name="csrf-token"[^>]*content="([^"]+)"')


def log(msg: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {msg}", flush=True)


# --- databases -------------------------------------------------------------------------------

def pg_url(level: str) -> str:
    return os.environ.get("BENCH_PG_URL") or f"postgresql://postgres@127.0.0.1:5432/gridapp_bench_{level}"


def fresh_database(kind: str, level: str, url: str | None = None) -> str:
    """An empty database for this level (dropped and created again); `url`: another PostgreSQL
    database than pg_url(level)."""
    if kind == "sqlite":
        tmp = RESULTS / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        path = tmp / f"{level}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    import psycopg

    url = url or pg_url(level)
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url


def make_app(database_url: str, instance: Path, redis_url: str):
    from gridapp import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": database_url, "INSTANCE_PATH": str(instance),
                       "SECRET_KEY": "bench", "REDIS_URL": redis_url,
                       "LOGIN_LIMIT_PER_IP": "100000 per minute", "LOGIN_LIMIT_PER_ACCOUNT": "100000 per minute"})


@contextmanager
def counting(engine):
    """Count the SQL statements sent on this engine inside the block."""
    from sqlalchemy import event

    counter = {"n": 0}

    def before(*_args):
        counter["n"] += 1

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", before)


# --- in-process measurements -----------------------------------------------------------------

def csrf_of(html: str) -> str:
    m = _CSRF.search(html)
    if not m:
        raise SystemExit("no CSRF token on the page")
    return m.group(1) or m.group(2)


# What the paths of PAGES name ("/screening/{campaign}"), found in the dataset once it is built.
PATH_ARGS: dict = {}


def find_path_args(app) -> None:
    from sqlalchemy import select

    from gridapp.auth.models import RoleAssignment, User
    from gridapp.extensions import db
    from gridapp.screening.demo import TOWN_CAMPAIGN
    from gridapp.screening.models import ScreeningCampaign

    with app.app_context():
        campaign = db.session.scalars(select(ScreeningCampaign).where(ScreeningCampaign.name == TOWN_CAMPAIGN)).one()
        PATH_ARGS["campaign"] = campaign.id
        # secretary1's community: the ledger's, and the one the town leader narrows the coverage to.
        PATH_ARGS["community"] = db.session.scalar(
            select(RoleAssignment.scope_id).join(User, User.id == RoleAssignment.user_id)
            .where(User.username == "secretary1", RoleAssignment.role == "secretary").order_by(RoleAssignment.id)
            .limit(1))
        # The sweep on the campaign's last day, 09:00: every rung of the ladder due at once.
        PATH_ARGS["screening_last_day"] = f"{campaign.ends_on.isoformat()}T09:00:00"
        db.session.remove()


def logged_in_client(app, username: str):
    """Flask's test client, logged in as this demo account."""
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    resp = client.post("/login", data={"username": username, "password": DEMO_PASSWORD, "csrf_token": csrf_of(page)})
    if resp.status_code != 302:
        raise SystemExit(f"{username} could not log in ({resp.status_code})")
    return client


def page_queries(app) -> dict:
    """SQL statements per key page, each as its user, with the test client (second request:
    the first one may touch the login session)."""
    from gridapp.extensions import db

    counts = {}
    for name, username, path in PAGES:
        path = path.format(**PATH_ARGS)
        client = logged_in_client(app, username)
        client.get(path)
        with app.app_context():
            engine = db.engine
        with counting(engine) as c:
            resp = client.get(path)
        if resp.status_code != 200:
            raise SystemExit(f"{path} as {username}: HTTP {resp.status_code}")
        counts[name] = c["n"]
    return counts


def sweeps(app) -> dict:
    """Each periodic sweep twice: the first finds the dataset's pending work, the second is
    the steady state of a job that runs every few minutes."""
    from gridapp.extensions import db
    from jobs.disinfection import sweep_disinfection
    from jobs.duty import sweep_duty
    from jobs.errands import sweep_errands
    from jobs.observation import sweep_observation
    from jobs.screening import sweep_screening
    from jobs.supervision import escalate_rectification

    out = {}
    last_day = PATH_ARGS.get("screening_last_day")
    for name, func in [("missed rounds (sweep-disinfection)", sweep_disinfection),
                       ("screening ladder on the last day (sweep-screening)", lambda: sweep_screening(last_day)),
                       # Now, as the scheduler runs it: the dataset is as the sweep left it at its build.
                       ("home observation: end, checks, ladder (sweep-observation)", sweep_observation),
                       ("escalation (escalate-rectification)", escalate_rectification),
                       ("shift gaps and reminders (sweep-duty)", sweep_duty),
                       ("claim expiry and errand alerts (sweep-errands)", sweep_errands)]:
        runs = []
        for _ in range(2):
            with app.app_context():
                with counting(db.engine) as c:
                    start = time.perf_counter()
                    result = func()
                    seconds = time.perf_counter() - start
                db.session.remove()
            runs.append({"seconds": seconds, "statements": c["n"], "result": _plain(result)})
        out[name] = runs
    return out


def _plain(value):
    try:
        json.dumps(value)
        return value
    except TypeError:
        return str(value)


# --- the app as in production ----------------------------------------------------------------

def ensure_venv(venv: Path, requirements: Path, program: str) -> Path:
    """A virtualenv of its own (never the app's) with `requirements`, made from the package index when
    `program` is missing from it; returns the program's path. Two runs at once (CI's two test passes)
    make it once: the second waits for the first."""
    import fcntl

    path = venv / "bin" / program
    if path.exists():
        return path
    with open(venv.parent / f"{venv.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            return path
        log(f"creating {venv.name} ({requirements.relative_to(ROOT)})")
        base = getattr(sys, "_base_executable", None) or sys.executable
        subprocess.run([base, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                        "-r", str(requirements)], check=True)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn (gthread workers) and RQ workers, as in the Procfile."""

    def __init__(self, database_url: str, instance: Path, redis_url: str, workers: int, threads: int):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = dict(os.environ, DATABASE_URL=database_url, REDIS_URL=redis_url, GRIDAPP_INSTANCE=str(instance),
                        SECRET_KEY="bench", LOGIN_LIMIT_PER_IP="100000 per minute",
                        LOGIN_LIMIT_PER_ACCOUNT="100000 per minute")
        self.cmds = [
            [str(BIN / "gunicorn"), "-k", "gthread", "-w", str(workers), "--threads", str(threads),
             "-b", f"127.0.0.1:{self.port}", "--log-level", "warning", "bench.wsgi:app"],
            [str(BIN / "rq"), "worker", "--worker-class", "jobs.worker.AppWorker", "--url", redis_url,
             "--logging_level", "WARNING", "default"],
            [str(BIN / "rq"), "worker", "--worker-class", "jobs.worker.AppWorker", "--url", redis_url,
             "--logging_level", "WARNING", "default"],
        ]
        self.procs = []

    def __enter__(self):
        self.procs = [subprocess.Popen(cmd, cwd=ROOT, env=self.env, start_new_session=True) for cmd in self.cmds]
        if answers(self.url + "/bench/ping"):
            return self
        self.__exit__()
        raise SystemExit("gunicorn did not answer")

    def __exit__(self, *exc):
        stop_groups(self.procs)


def answers(url: str, headers: dict | None = None, within: float = 60) -> bool:
    """Whether URL answers 200 within `within` seconds (a server starting)."""
    import requests

    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if requests.get(url, headers=headers, timeout=2).status_code == 200:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.3)
    return False


def stop_groups(procs: list) -> None:
    """Each process started with start_new_session, and its children: SIGTERM, SIGKILL after 30 s."""
    for p in procs:
        if p and p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        if p is None:
            continue
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)


def login(base: str, username: str):
    import requests

    s = requests.Session()
    page = s.get(base + "/login", timeout=30)
    resp = s.post(base + "/login", data={"username": username, "password": DEMO_PASSWORD,
                                               "csrf_token": csrf_of(page.text)},
                  allow_redirects=False, timeout=30)
    if resp.status_code != 302:
        raise SystemExit(f"{username} could not log in (HTTP {resp.status_code})")
    return s


def wrk(url: str, cookie: str | None, duration: int, connections: int, close: bool = False,
        headers: dict | None = None) -> dict:
    """wrk on one URL. close: a new connection per request (Connection: close), so that gunicorn's
    workers share the requests; kept-alive connections stay with the worker that accepted them, and
    8 of them landing on one of two workers halve the throughput of that run."""
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--timeout", "30s",
           "-s", str(ROOT / "bench" / "wrk_report.lua")]
    if cookie:
        cmd += ["-H", f"Cookie: {cookie}"]
    if close:
        cmd += ["-H", "Connection: close"]
    for name, value in (headers or {}).items():
        cmd += ["-H", f"{name}: {value}"]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, timeout=duration + 120, check=True).stdout
    line = next(ln for ln in out.splitlines() if ln.startswith("{"))
    r = json.loads(line)
    return {"rps": r["requests"] / (r["duration_us"] / 1e6), "requests": r["requests"],
            "p50_ms": r["p50_us"] / 1000, "p95_ms": r["p95_us"] / 1000, "p99_ms": r["p99_us"] / 1000,
            "errors": r["connect_errors"] + r["read_errors"] + r["write_errors"] + r["timeouts"],
            "http_errors": r["status_errors"]}


def measure_pages(server: Server, duration: int, connections: int) -> dict:
    out = {}
    for name, username, path in [BASELINE, REFERENCE, *PAGES]:
        path = path.format(**PATH_ARGS)
        cookie = None
        if username:
            s = login(server.url, username)
            for _ in range(5):  # warm up, and make sure the page really is the page
                r = s.get(server.url + path, allow_redirects=False, timeout=60)
                if r.status_code != 200:
                    raise SystemExit(f"{path} as {username}: HTTP {r.status_code}")
            cookie = "; ".join(f"{k}={v}" for k, v in s.cookies.items())
        log(f"  wrk {path} ({username or 'anonymous'}) for {duration} s")
        out[name] = wrk(server.url + path, cookie, duration, connections) | {"path": path, "user": username}
    base = out[BASELINE[0]]
    for r in out.values():
        r["p95_ratio"] = r["p95_ms"] / base["p95_ms"] if base["p95_ms"] else None
        r["rps_ratio"] = base["rps"] / r["rps"] if r["rps"] else None
    return out


def _storm(sessions_and_urls, forms) -> list[dict]:
    """Fire all requests at once (a barrier releases the threads together)."""
    barrier = threading.Barrier(len(sessions_and_urls))
    results = [None] * len(sessions_and_urls)
    # Idle keep-alive connections from logging in have been closed by gunicorn meanwhile
    # (--keep-alive, 2 s): each request opens a fresh one, as a phone coming back would.
    for s, _url in sessions_and_urls:
        s.close()

    def fire(i):
        s, url = sessions_and_urls[i]
        barrier.wait()
        start = time.perf_counter()
        try:
            r = s.post(url, data=forms[i], headers={"HX-Request": "true"}, allow_redirects=False, timeout=120)
            level = json.loads(r.headers.get("HX-Trigger") or "{}").get("gridapp:toast", {}).get("level")
            results[i] = {"status": r.status_code, "level": level, "seconds": time.perf_counter() - start}
        except Exception as exc:  # a refused connection is a result too
            results[i] = {"status": 0, "level": None, "error": str(exc), "seconds": time.perf_counter() - start}

    threads = [threading.Thread(target=fire, args=(i,)) for i in range(len(sessions_and_urls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _volunteer_storm(server, names, page, paths, extra=None):
    """Log the volunteers in (each reads `page` for its CSRF token), then POST every path at
    once, volunteer k sending the paths i ≡ k. Returns (results, seconds, volunteers)."""
    log(f"  logging in {len(names)} volunteers")
    sessions = [login(server.url, n) for n in names]
    tokens = [csrf_of(s.get(server.url + page, timeout=60).text) for s in sessions]
    targets, forms = [], []
    for i, path in enumerate(paths):
        k = i % len(sessions)
        targets.append((sessions[k], server.url + path))
        forms.append({"csrf_token": tokens[k], **(extra or {})})
    start = time.perf_counter()
    results = _storm(targets, forms)
    return results, time.perf_counter() - start, len(sessions)


def _failures(results) -> dict:
    """What the failed requests were, by status and error (for the report)."""
    out: dict[str, int] = {}
    for r in results:
        if r["status"] >= 500 or r["status"] == 0:
            key = f"{r['status']} {r.get('error', '')}".strip()[:200]
            out[key] = out.get(key, 0) + 1
    return out


def _pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))] if values else None


def volunteers_of(app, community_id: int, limit: int) -> list[str]:
    from sqlalchemy import select

    from gridapp.auth.models import RoleAssignment, User
    from gridapp.extensions import db

    with app.app_context():
        names = db.session.scalars(
            select(User.username).join(RoleAssignment, RoleAssignment.user_id == User.id)
            .where(RoleAssignment.role == "volunteer", RoleAssignment.scope_id == community_id, User.active.is_(True))
            .order_by(User.id).limit(limit)).all()
        db.session.remove()
    return names


def community_of(app, username: str) -> int:
    from sqlalchemy import select

    from gridapp.auth.models import RoleAssignment, User
    from gridapp.extensions import db

    with app.app_context():
        cid = db.session.scalar(select(RoleAssignment.scope_id).join(User, User.id == RoleAssignment.user_id)
                                .where(User.username == username, RoleAssignment.role == "volunteer"))
        db.session.remove()
    return cid


def claim_storm(app, server: Server, n_claims: int = 200, n_errands: int = 20) -> dict:
    """Concurrent claims (200) on open errands (20) of one community, by its volunteers."""
    from sqlalchemy import func, select

    from gridapp.errands.models import Errand
    from gridapp.extensions import db

    community_id = community_of(app, "vol1")
    with app.app_context():
        errand_ids = db.session.scalars(
            select(Errand.id).where(Errand.community_id == community_id, Errand.status == "open")
            .order_by(Errand.id).limit(n_errands)).all()
        db.session.remove()
    names = volunteers_of(app, community_id, n_claims)
    if len(errand_ids) < n_errands or not names:
        raise SystemExit(f"the dataset has {len(errand_ids)} open errands and {len(names)} volunteers in the community")
    results, wall, sessions = _volunteer_storm(
        server, names, "/errands/", [f"/errands/{errand_ids[i % n_errands]}/claim" for i in range(n_claims)],
        {"from": "board"})
    with app.app_context():
        claimed = db.session.scalar(select(func.count(Errand.id)).where(
            Errand.id.in_(errand_ids), Errand.claimant_id.is_not(None)))
        db.session.remove()
    winners = sum(1 for r in results if r["level"] == "success")
    failed = sum(1 for r in results if r["status"] >= 500 or r["status"] == 0)
    return {"claims": n_claims, "errands": n_errands, "volunteers": sessions, "winners": winners,
            "errands_claimed": claimed, "server_errors": failed,
            "refused": sum(1 for r in results if r["level"] == "error"), "wall_s": wall,
            "failures": _failures(results),
            "p50_ms": 1000 * _pct([r["seconds"] for r in results], 50),
            "p99_ms": 1000 * _pct([r["seconds"] for r in results], 99),
            "ok": winners == n_errands == claimed and not failed}


def signup_storm(app, server: Server, n_signups: int = 100, n_shifts: int = 10) -> dict:
    """Concurrent sign-ups (100) on capacity-limited future shifts (10) of one community."""
    from datetime import timedelta

    from sqlalchemy import func, select

    from gridapp.duty.models import Checkpoint, Shift, Signup
    from gridapp.extensions import db
    from gridapp.timeutil import utcnow

    community_id = community_of(app, "vol1")
    with app.app_context():
        soon = utcnow() + timedelta(days=3)
        shifts = db.session.execute(
            select(Shift.id, Shift.capacity, Shift.filled).join(Checkpoint, Checkpoint.id == Shift.checkpoint_id)
            .where(Checkpoint.community_id == community_id, Shift.status == "open", Shift.starts_at > soon,
                   Shift.filled < Shift.capacity)
            .order_by(Shift.starts_at, Shift.id).limit(n_shifts)).all()
        db.session.remove()
    names = volunteers_of(app, community_id, n_signups + 100)
    if len(shifts) < n_shifts or len(names) < n_signups // 2:
        raise SystemExit(f"the dataset has {len(shifts)} open shifts and {len(names)} volunteers in the community")
    names = names[-n_signups:]  # the dataset's first volunteers hold most of its sign-ups
    results, wall, _sessions = _volunteer_storm(
        server, names, "/duty/", [f"/duty/shifts/{shifts[i % n_shifts].id}/signup" for i in range(n_signups)])
    with app.app_context():
        rows = db.session.execute(
            select(Shift.id, Shift.capacity, Shift.filled,
                   select(func.count(Signup.id)).where(Signup.shift_id == Shift.id, Signup.status == "signed_up")
                   .correlate(Shift).scalar_subquery())
            .where(Shift.id.in_([s.id for s in shifts]))).all()
        db.session.remove()
    over = [r.id for r in rows if r[2] > r[1] or r[3] > r[1] or r[2] != r[3]]
    free_before = sum(s.capacity - s.filled for s in shifts)
    accepted = sum(1 for r in results if r["level"] == "success")
    return {"signups": n_signups, "shifts": n_shifts, "free_places_before": free_before, "accepted": accepted,
            "refused": sum(1 for r in results if r["level"] == "error"),
            "over_capacity_or_inconsistent": over, "failures": _failures(results),
            "server_errors": sum(1 for r in results if r["status"] >= 500 or r["status"] == 0), "wall_s": wall,
            "p50_ms": 1000 * _pct([r["seconds"] for r in results], 50),
            "p99_ms": 1000 * _pct([r["seconds"] for r in results], 99),
            "ok": not over and accepted <= free_before and not any(r["status"] >= 500 or r["status"] == 0
                                                                   for r in results)}


# --- the run ---------------------------------------------------------------------------------

def run_database(kind: str, levels: list[str], args, redis_url: str, instance: Path) -> dict:
    from bench.seed import seed_dataset
    from gridapp.extensions import db

    out = {}
    for i, level in enumerate(levels):
        log(f"{kind}: building the {level} dataset")
        url = fresh_database(kind, level)
        app = make_app(url, instance, redis_url)
        with app.app_context():
            db.create_all()
            start = time.perf_counter()
            counts = seed_dataset(level, progress=lambda m: log("  " + str(m)))
            seeded = time.perf_counter() - start
            db.session.remove()
        res = {"seed_s": seeded, "counts": _plain(counts.get("counts", counts) if isinstance(counts, dict) else counts)}
        log(f"{kind}/{level}: SQL statements per page")
        find_path_args(app)
        res["page_queries"] = page_queries(app)
        if i == 0 and not args.no_http:
            with Server(url, instance, redis_url, args.web_workers, args.threads) as server:
                log(f"{kind}/{level}: pages under load (gunicorn -w {args.web_workers} --threads {args.threads})")
                res["pages"] = measure_pages(server, args.duration, args.connections)
                log(f"{kind}/{level}: claim storm")
                res["claim_storm"] = claim_storm(app, server, args.claims, args.claim_errands)
                log(f"{kind}/{level}: sign-up storm")
                res["signup_storm"] = signup_storm(app, server, args.signups, args.signup_shifts)
        log(f"{kind}/{level}: sweeps")
        res["sweeps"] = sweeps(app)
        if i == 0 and args.import_rows:
            from bench.imports import import_benchmark

            log(f"{kind}/{level}: importing {args.import_rows} households")
            res["imports"] = import_benchmark(app, rows=args.import_rows, small=max(1, args.import_rows // 10))
        with app.app_context():
            db.engine.dispose()
        out[level] = res
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="town,county", help="dataset levels, the first one is load-tested")
    parser.add_argument("--databases", default="postgresql,sqlite")
    parser.add_argument("--sqlite-levels", default="town",
                        help="levels on SQLite (a county is PostgreSQL's size); 'same' for --levels")
    parser.add_argument("--duration", type=int, default=15, help="seconds of load per page")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--events", type=int, default=10_000, help="notification fan-out size")
    parser.add_argument("--claims", type=int, default=200)
    parser.add_argument("--claim-errands", type=int, default=20)
    parser.add_argument("--signups", type=int, default=100)
    parser.add_argument("--signup-shifts", type=int, default=10)
    parser.add_argument("--import-rows", type=int, default=20_000, help="households in the import benchmark (0: skip)")
    parser.add_argument("--no-http", action="store_true", help="skip gunicorn, wrk and the storms")
    parser.add_argument("--output", default="latest", help="name of the result files in bench/results/")
    args = parser.parse_args()
    if not args.no_http and not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    levels = [x for x in args.levels.split(",") if x]
    started = datetime.now(UTC)

    instance = Path(tempfile.mkdtemp(prefix="gridapp-bench-run-"))
    from gridapp.redis_conn import ensure_embedded_redis, stop_embedded_redis

    redis_url = os.environ.get("REDIS_URL") or ensure_embedded_redis(instance)
    report = {"started": started.isoformat(timespec="seconds"), "machine": machine(), "levels": levels,
              "settings": {k: getattr(args, k)
                           for k in ("duration", "connections", "web_workers", "threads", "events")},
              "databases": {}}
    try:
        import redis

        for kind in [x for x in args.databases.split(",") if x]:
            redis.Redis.from_url(redis_url).flushdb()
            kind_levels = levels if kind != "sqlite" or args.sqlite_levels == "same" else \
                [x for x in args.sqlite_levels.split(",") if x]
            report["databases"][kind] = run_database(kind, kind_levels, args, redis_url, instance)
        log("notification fan-out (bench.notifications)")
        for kind in [x for x in args.databases.split(",") if x]:
            env = dict(os.environ, REDIS_URL=redis_url)
            if kind == "postgresql":
                env["BENCH_DATABASE_URL"] = fresh_database("postgresql", "notifications")
            else:
                env.pop("BENCH_DATABASE_URL", None)
            subprocess.run([sys.executable, "-m", "bench.notifications", "--events", str(args.events)],
                           cwd=ROOT, env=env, check=True)
            report["databases"][kind]["notifications"] = json.loads((RESULTS / "notifications.json").read_text())
    finally:
        if not os.environ.get("REDIS_URL"):
            stop_embedded_redis(instance)
        shutil.rmtree(instance, ignore_errors=True)
    report["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{args.output}.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    md = render(report)
    (RESULTS / f"{args.output}.md").write_text(md)
    print(md)
    broken = broken_rules(report)
    for line in broken:
        print("BROKEN:", line)
    return 1 if broken else 0


def broken_rules(report: dict) -> list[str]:
    """Correctness, not speed: a storm with a 5xx, two winners of one errand, a shift over
    capacity, or pages whose SQL counts differ between the levels fail the run."""
    out = []
    for kind, per_level in report["databases"].items():
        counts = [lv.get("page_queries") for lv in per_level.values() if isinstance(lv, dict) and "page_queries" in lv]
        if counts and any(c != counts[0] for c in counts):
            out.append(f"{kind}: SQL statements per page differ between levels: {counts}")
        sweeps_of = [lv.get("sweeps") for lv in per_level.values() if isinstance(lv, dict) and "sweeps" in lv]
        for name in (sweeps_of[0] if sweeps_of else {}):
            if not _is_health(name):
                continue
            seen = [[r["statements"] for r in sw.get(name, [])] for sw in sweeps_of]
            if any(c != seen[0] for c in seen):
                out.append(f"{kind}: SQL statements of {name} differ between levels: {seen}")
        for level, lv in per_level.items():
            imp = lv.get("imports") if isinstance(lv, dict) else None
            if imp and (imp["created"] != imp["rows"] or imp["reimport_unchanged"] != imp["rows"]):
                out.append(f"{kind}/{level} household import: {imp}")
            claim, signup = lv.get("claim_storm"), lv.get("signup_storm")
            if claim and (claim["server_errors"] or claim["winners"] != claim["errands_claimed"]):
                out.append(f"{kind}/{level} claim storm: {claim}")
            if signup and (signup["server_errors"] or signup["over_capacity_or_inconsistent"]):
                out.append(f"{kind}/{level} sign-up storm: {signup}")
    return out


def machine() -> dict:
    mem = None
    try:
        mem = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError):
        pass
    cpu = ""
    try:
        cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), "")
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu": cpu, "memory_gib": mem, "python": platform.python_version(),
            "system": platform.platform()}


def _f(x, fmt="{:.1f}"):
    return "–" if x is None else fmt.format(x)


def _is_health(name: str) -> bool:
    return "screening" in name or "observation" in name


def _equal(vals) -> str:
    """yes / NO for statement counts at two levels or more; – for one, or a level without it."""
    if len(vals) < 2 or None in vals:
        return "–"
    return "yes" if len(set(vals)) == 1 else "NO"


def render_health(per_level: dict, levels: list[str]) -> list[str]:
    """Screening and home observation: statements per page and sweep at each level side by side,
    whether they are equal, and the sweep times against the target at the first level."""
    if not levels:
        return []
    lines = ["### Screening and home observation", "",
             "| page or sweep | " + " | ".join(levels) + " | equal |", "|---|" + "---:|" * len(levels) + "---|"]
    unequal = []
    for name in HEALTH_PAGES:
        vals = [per_level.get(lvl, {}).get("page_queries", {}).get(name) for lvl in levels]
        same = len(set(vals)) == 1
        unequal += [] if same else [name]
        lines.append(f"| {name} | " + " | ".join(_f(v, "{}") for v in vals) + f" | {_equal(vals)} |")
    sweep_names = [n for n in per_level.get(levels[0], {}).get("sweeps", {}) if _is_health(n)]
    for name in sweep_names:
        for i, run in enumerate(("first run", "second run")):
            vals = [(per_level.get(lvl, {}).get("sweeps", {}).get(name) or [{}, {}])[i].get("statements")
                    for lvl in levels]
            same = len(set(vals)) == 1
            unequal += [] if same else [f"{name}, {run}"]
            lines.append(f"| {name}, {run} | " + " | ".join(_f(v, "{}") for v in vals) + f" | {_equal(vals)} |")
    verdict = ("one level only." if len(levels) < 2 else "yes." if not unequal else "NO: " + "; ".join(unequal) + ".")
    lines += ["", "Statements equal at every level: " + verdict,
              "", "| sweep | level | first run s | second run s | under 1 s |", "|---|---|---:|---:|---|"]
    first = levels[0]
    missed = []
    for lvl in levels:
        for name in sweep_names:
            runs = per_level.get(lvl, {}).get("sweeps", {}).get(name)
            if not runs:
                continue
            under = all(r["seconds"] < SWEEP_TARGET_S for r in runs)
            if lvl == first and not under:
                missed.append(name)
            lines.append(f"| {name} | {lvl} | {runs[0]['seconds']:.3f} | {runs[1]['seconds']:.3f} "
                         f"| {'yes' if under else 'no'} |")
    lines += ["", f"Target: each sweep under {SWEEP_TARGET_S:g} s at {first} scale: "
              + ("no sweep measured." if not sweep_names else "met." if not missed
                 else "NOT met by " + ", ".join(missed) + "."), ""]
    return lines


def render(report: dict) -> str:
    m, st = report["machine"], report["settings"]
    lines = [f"# gridapp benchmark — {report['started']}", "",
             f"Machine: {m['cpus']} CPUs ({m['cpu'] or 'unknown'}), {m['memory_gib']} GiB, Python {m['python']}. "
             f"Load: wrk, {st['connections']} connections, {st['duration']} s per page; "
             f"gunicorn gthread -w {st['web_workers']} --threads {st['threads']}; "
             "2 RQ workers; everything on this one machine.", ""]
    for kind, per_level in report["databases"].items():
        levels = [lvl for lvl in report["levels"] if lvl in per_level]
        first = per_level.get(levels[0], {}) if levels else {}
        lines += [f"## {kind}", ""]
        counts = {lvl: per_level[lvl].get("counts", {}) for lvl in levels if lvl in per_level}
        lines += ["Datasets: " + "; ".join(
            f"{lvl} built in {per_level[lvl]['seed_s']:.0f} s" for lvl in levels if lvl in per_level), ""]
        for lvl, c in counts.items():
            if isinstance(c, dict):
                shown = {k: c[k] for k in KEY_TABLES if isinstance(c.get(k), int)}
                lines += [f"- {lvl}: " + ", ".join(f"{k} {v:,}" for k, v in shown.items())]
        lines += [""]
        if "pages" in first:
            lines += [f"### Pages at {levels[0]} scale", "",
                      "| page | user | req/s | p50 ms | p95 ms | p99 ms | errors | p95 / baseline p95 |",
                      "|---|---|---:|---:|---:|---:|---:|---:|"]
            for name, r in first["pages"].items():
                lines.append(f"| {name} `{r['path']}` | {r['user'] or '–'} | {r['rps']:.0f} | {r['p50_ms']:.1f} "
                             f"| {r['p95_ms']:.1f} | {r['p99_ms']:.1f} | {r['errors'] + r['http_errors']} "
                             f"| {_f(r['p95_ratio'], '{:.2f}')} |")
            lines += ["", "Each page alone under wrk; p95 / baseline p95 is a secondary figure (no target). The "
                      "headline is the town-shaped load, `make bench-town` (bench/results/town-load.md). The "
                      "reference row is no key page.", ""]
        for key, title in (("claim_storm", "Claim storm"), ("signup_storm", "Sign-up storm")):
            if key in first:
                s = first[key]
                detail = (f"{s['claims']} claims on {s['errands']} errands by {s['volunteers']} volunteers: "
                          f"{s['winners']} winners, {s['errands_claimed']} errands claimed, {s['refused']} refused"
                          if key == "claim_storm" else
                          f"{s['signups']} sign-ups on {s['shifts']} shifts with {s['free_places_before']} free "
                          f"places: {s['accepted']} accepted, {s['refused']} refused, over capacity: "
                          f"{len(s['over_capacity_or_inconsistent'])}")
                lines += [f"- **{title}** ({'ok' if s['ok'] else 'FAILED'}): {detail}; {s['server_errors']} "
                          f"server errors; p50 {s['p50_ms']:.0f} ms, p99 {s['p99_ms']:.0f} ms."]
        if "imports" in first:
            from bench.imports import render as render_imports

            lines += [""] + render_imports(kind, first["imports"])
        lines += ["", "### SQL statements per page", "",
                  "| page | " + " | ".join(levels) + " | equal |", "|---|" + "---:|" * len(levels) + "---|"]
        for name, _user, _path in PAGES:
            vals = [per_level.get(lvl, {}).get("page_queries", {}).get(name) for lvl in levels]
            same = "yes" if len(set(vals)) == 1 else "NO"
            lines.append(f"| {name} | " + " | ".join(_f(v, "{}") for v in vals) + f" | {same} |")
        lines += ["", "### Sweeps", "", "| sweep | level | first run s | statements | second run s | statements |",
                  "|---|---|---:|---:|---:|---:|"]
        for lvl in levels:
            for name, runs in per_level.get(lvl, {}).get("sweeps", {}).items():
                lines.append(f"| {name} | {lvl} | {runs[0]['seconds']:.3f} | {runs[0]['statements']} "
                             f"| {runs[1]['seconds']:.3f} | {runs[1]['statements']} |")
        lines += ["", "Target: each sweep under 1 s at town scale.", ""]
        lines += render_health(per_level, levels)
        n = per_level.get("notifications")
        if n:
            lines += ["### Notifications through the outbox", "",
                      f"{n['deliveries_per_run']} deliveries per run, {n['workers']} RQ workers.", "",
                      "| run | seconds | per second | ratio to plain RQ |", "|---|---:|---:|---:|",
                      f"| plain RQ no-op jobs | {n['baseline_s']:.2f} | {n['baseline_rate']:.0f} | 1.00 |",
                      f"| one event per transaction → inbox + group robot | {n['single_s']:.2f} "
                      f"| {n['single_rate']:.0f} | {n['single_ratio']:.2f} |",
                      f"| fan-out: each notice to {n['fanout_recipients']} people's inbox and "
                      f"{n['fanout_recipients']} grid robots "
                      f"| {n['fanout_s']:.2f} | {n['fanout_rate']:.0f} | {n['fanout_ratio']:.2f} |", "",
                      "Target: fan-out within 2× of plain RQ.", ""]
    if (RESULTS / "phone.md").exists():  # bench.phone's table (make bench runs it after this)
        lines += ["#" + (RESULTS / "phone.md").read_text()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
