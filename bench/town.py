"""make bench-town: a load shaped like a town at shift change, and the most users it serves.

    .venv/bin/python -m bench.town [--level town] [--reuse] [--duration 60] [--users 110,275,550,…]
                                   [--think 5,15] [--mix 500,30,20] [--refine 2] [--web-workers 2] [--threads 4]

500 volunteers, 30 staff and 20 property managers (--mix), each logged in through the real /login
form, each opening their own pages now and then (a think time of 5 to 15 s between two actions:
the rush of a shift change) — locust, headless, FastHttpUser, in its own virtualenv (.venv-load,
bench/requirements-load.txt, made here when it is missing) with the users of
bench/locustfile_town.py. The app is served as in production (bench.run's Server: gunicorn
gthread and two RQ workers) on the town dataset (bench.seed) on PostgreSQL.

The user count goes up in steps (--users; the mix scaled to each count, identities shared when a
step has more users than the dataset has accounts); each step is spawned in a few seconds, its
statistics reset, then measured for --duration seconds. The run stops at the first step whose
p95 over all requests is 500 ms or more, or whose failures pass 1 %, then tries --refine counts
between the last good step and that one. The answer: the most concurrent users served with p95
under 500 ms. Then the trivial view (/bench/ping) under wrk, as bench.run measures it: the
secondary figure. Writes bench/results/town-load.md and .json (--output).

PostgreSQL: --database-url, else BENCH_LOAD_PG_URL, else BENCH_PG_URL's server with the database
gridapp_load_<level> (dropped and built again unless --reuse finds the dataset in it). A
sqlite:/// URL works too (the smoke test). Redis: --redis-url, a database of this run's own, flushed
(default redis://127.0.0.1:6379/9 when it answers, else the embedded Redis). Needs wrk (Debian
package `wrk`) for the trivial view.
"""
import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from bench.run import RESULTS, ROOT, Server, csrf_of, ensure_venv, fresh_database, log, login, machine, make_app, wrk

LOAD_VENV = ROOT / ".venv-load"
LOCUSTFILE = ROOT / "bench" / "locustfile_town.py"
P95_LIMIT_MS = 500.0
MAX_FAILURE_RATIO = 0.01
DEFAULT_REDIS = "redis://127.0.0.1:6379/9"
DEFAULT_USERS = "110,275,550,825,1100,1375,1650,2200,2750,3300,4400"
# Staff in this order: every town leader, supervisor and secretary, then grid members to fill the count.
STAFF_ROLES = ("town_leader", "supervisor", "secretary", "grid_member")
# The staff pages; each staff role keeps those it may open (probed once per role before the run).
STAFF_PAGES = [("/today/", "/today/"), ("/duty/roster", "/duty/roster"),
               ("/disinfection/board", "/disinfection/board"),
               ("/supervision/items?overdue=1", "/supervision/items?overdue=1"), ("/errands/staff", "/errands/staff"),
               ("/screening/{campaign}", "/screening/[campaign]"),
               ("/screening/{campaign}/mine", "/screening/[campaign]/mine"), ("/observation/", "/observation/")]
VOLUNTEER_PAGES = ["/duty/mine", "/duty/", "/errands/"]
PM_PAGES = ["/disinfection/"]


# --- the load generator's own virtualenv ------------------------------------------------------

def ensure_locust(venv: Path = LOAD_VENV) -> Path:
    """locust in its own virtualenv (never the app's: gevent, its own Flask); made when missing."""
    return ensure_venv(venv, ROOT / "bench" / "requirements-load.txt", "locust")


def _answers(redis_url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(redis_url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


# --- the dataset ------------------------------------------------------------------------------

def database_url(level: str) -> str:
    explicit = os.environ.get("BENCH_LOAD_PG_URL")
    if explicit:
        return explicit
    server = (os.environ.get("BENCH_PG_URL") or "postgresql://postgres@127.0.0.1:5432/gridapp_bench").rsplit("/", 1)[0]
    return f"{server}/gridapp_load_{level}"


def _exists(url: str) -> bool:
    if url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite:///")).exists()
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


def _fresh(url: str, level: str) -> None:
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        fresh_database("postgresql", level, url)


def dataset(url: str, level: str, reuse: bool, instance: Path, redis_url: str):
    """The app on the `level` dataset: built afresh, or (--reuse) found in the database."""
    from bench.seed import seed_dataset
    from gridapp.extensions import db

    reused = reuse and _exists(url)
    if not reused:
        _fresh(url, level)
    app = make_app(url, instance, redis_url)
    start = time.perf_counter()
    with app.app_context():
        db.create_all()
        summary = seed_dataset(level, progress=lambda m: log("  " + str(m)))
        db.session.remove()
    info = {"level": level, "database": url.rsplit("/", 1)[-1], "kind": url.split(":", 1)[0].split("+")[0],
            "reused": bool(summary.get("existing")), "seconds": round(time.perf_counter() - start, 1),
            "counts": {k: summary["counts"].get(k) for k in ("users", "households", "duty_shifts", "duty_signups",
                                                            "errands", "disinfection_points", "disinfection_slots")}}
    return app, info


# --- who logs in ------------------------------------------------------------------------------

def accounts(app, mix: dict) -> dict:
    """From the database: the volunteers (with their sign-up of the shift of now, if any), the
    staff by role, the property managers with their points; and the screening campaign's id."""
    from sqlalchemy import select

    from gridapp.auth.models import RoleAssignment, User
    from gridapp.disinfection.models import DisinfectionPoint
    from gridapp.duty.models import Shift, Signup
    from gridapp.duty.policy import CHECK_IN_EARLY
    from gridapp.extensions import db
    from gridapp.grid.models import Compound
    from gridapp.screening.demo import TOWN_CAMPAIGN
    from gridapp.screening.models import ScreeningCampaign
    from gridapp.timeutil import utcnow

    def holders(role):
        return db.session.execute(
            select(User.id, User.username, RoleAssignment.scope_id)
            .join(RoleAssignment, RoleAssignment.user_id == User.id)
            .where(RoleAssignment.role == role, User.active.is_(True)).order_by(User.id)).all()

    with app.app_context():
        now = utcnow()
        volunteers = holders("volunteer")[:mix["volunteer"]]
        # Each volunteer's sign-up whose check-in is open now (still to check in first).
        rows = db.session.execute(
            select(Signup.user_id, Signup.id, Signup.status).join(Shift, Shift.id == Signup.shift_id)
            .where(Signup.user_id.in_([v.id for v in volunteers]), Signup.status.in_(("signed_up", "checked_in")),
                   Shift.starts_at <= now + CHECK_IN_EARLY, Shift.ends_at > now)
            .order_by(Signup.status.desc(), Shift.starts_at)).all()
        signup = {}
        for user_id, signup_id, _status in rows:
            signup.setdefault(user_id, signup_id)
        staff = []
        for role in STAFF_ROLES:
            staff += [(role, r.username) for r in holders(role) if r.username not in {u for _r, u in staff}]
        staff = staff[:mix["staff"]]
        managers = []
        for r in holders("property_manager"):
            points = list(db.session.scalars(
                select(DisinfectionPoint.id).join(Compound, Compound.id == DisinfectionPoint.compound_id)
                .where(Compound.property_company_id == r.scope_id, DisinfectionPoint.active.is_(True))
                .order_by(DisinfectionPoint.id).limit(20)))
            if points:
                managers.append((r.username, points))
        managers = managers[:mix["property_manager"]]
        campaign = db.session.scalar(select(ScreeningCampaign.id).where(ScreeningCampaign.name == TOWN_CAMPAIGN))
        db.session.remove()
    return {"volunteers": [(v.username, signup.get(v.id)) for v in volunteers], "staff": staff,
            "managers": managers, "campaign": campaign}


def _session_of(base: str, username: str) -> dict:
    """Logged in through /login; the cookies, and a CSRF token of this session (any token the
    session was given stays valid for it)."""
    s = login(base, username)
    token = csrf_of(s.get(base + "/bench/layout", timeout=120).text)
    cookie = "; ".join(f"{k}={v}" for k, v in s.cookies.items())
    s.close()
    return {"username": username, "cookie": cookie, "csrf": token}


def _probe(base: str, me: dict, paths) -> dict:
    """The status of each path for this identity (no redirects followed)."""
    import requests

    out = {}
    for path in paths:
        r = requests.get(base + path, headers={"Cookie": me["cookie"]}, allow_redirects=False, timeout=300)
        out[path] = r.status_code
    return out


def identities(base: str, found: dict, mix: dict, logins: int) -> tuple[dict, dict]:
    """Log everyone in (`logins` at a time) and probe each role's pages once. Returns the
    identities for the locustfile and what the report says about them."""
    campaign = found["campaign"]
    names = ([u for u, _s in found["volunteers"]] + [u for _r, u in found["staff"]]
             + [u for u, _p in found["managers"]])
    start = time.perf_counter()
    with ThreadPoolExecutor(logins) as pool:
        sessions = dict(zip(names, pool.map(lambda u: _session_of(base, u), names), strict=True))
    login_s = time.perf_counter() - start
    volunteers = [sessions[u] | {"signup": signup} for u, signup in found["volunteers"]]
    managers = [sessions[u] | {"points": points} for u, points in found["managers"]]
    pages_of, refused_of, staff = {}, {}, []
    for role, username in found["staff"]:
        if role not in pages_of:
            candidates = [(p.format(campaign=campaign), n) for p, n in STAFF_PAGES]
            status = _probe(base, sessions[username], [p for p, _n in candidates])
            pages_of[role] = [[p, n] for p, n in candidates if status[p] == 200]
            refused_of[role] = {n: status[p] for p, n in candidates if status[p] != 200}
        if pages_of[role]:
            staff.append(sessions[username] | {"kind": role, "pages": pages_of[role]})
    for role, pool in (("volunteer", volunteers), ("staff", staff), ("property_manager", managers)):
        if mix[role] and not pool:
            raise SystemExit(f"the dataset gives no {role} account with pages to open (--mix asks for {mix[role]})")
    # One volunteer and one manager open their pages once: a page that fails here would fail the run.
    for me, paths in ((volunteers[0] if volunteers else None, VOLUNTEER_PAGES),
                      (managers[0] if managers else None,
                       PM_PAGES + [f"/disinfection/points/{managers[0]['points'][0]}"] if managers else [])):
        if me is not None:
            bad = {p: s for p, s in _probe(base, me, paths).items() if s != 200}
            if bad:
                raise SystemExit(f"{me['username']} cannot open their pages: {bad}")
    data = {"identities": {"volunteer": volunteers, "staff": staff, "property_manager": managers},
            "weights": {"volunteer": mix["volunteer"], "staff": mix["staff"],
                        "property_manager": mix["property_manager"]}}
    about = {"login_s": round(login_s, 1), "logins": len(names),
             "volunteers": len(volunteers),
             "volunteers_with_a_shift_to_check_in": sum(1 for v in volunteers if v["signup"]),
             "staff": {role: sum(1 for r, _u in found["staff"] if r == role) for role in STAFF_ROLES
                       if any(r == role for r, _u in found["staff"])},
             "staff_pages": {role: [n for _p, n in pages] for role, pages in pages_of.items()},
             "staff_pages_refused": refused_of,
             "property_managers": [u for u, _p in found["managers"]],
             "points_per_manager": [len(p) for _u, p in found["managers"]]}
    return data, about


# --- the steps --------------------------------------------------------------------------------

def _split(users: int, mix: dict) -> dict:
    """How locust shares `users` out by the weights (largest remainder; a tie may go another way)."""
    total = sum(mix.values())
    raw = {k: users * v / total for k, v in mix.items()}
    out = {k: int(v) for k, v in raw.items()}
    for k in sorted(raw, key=lambda k: raw[k] - out[k], reverse=True)[:users - sum(out.values())]:
        out[k] += 1
    return out


class CpuMeter:
    """CPU seconds between start() and stop() (from /proc) of the web processes, the RQ workers,
    PostgreSQL (the backends of this run's database and the server's own background processes),
    the load generator, and the whole machine: what is left is other work on the machine (other
    databases' backends among it), which disturbs the figures."""

    def __init__(self, server: Server, database: str):
        self.server = server
        self.database = database

    @staticmethod
    def _ticks(pid: int) -> int:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            return int(fields[11]) + int(fields[12])  # utime + stime
        except (OSError, IndexError, ValueError):
            return 0

    def _ours(self, proc: Path) -> bool:
        """A backend of this run's database, or a background process of the server (no client)."""
        try:
            title = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").split()
        except OSError:
            return False
        client = any("(" in t or t == "[local]" for t in title)
        return self.database in title or not client

    def _sample(self, locust_pid: int | None) -> dict:
        groups = {"web": {self.server.procs[0].pid}, "workers": {p.pid for p in self.server.procs[1:]}}
        out = {"web": 0, "workers": 0, "postgresql": 0, "locust": 0}
        for d in Path("/proc").iterdir():
            if not d.name.isdigit():
                continue
            pid = int(d.name)
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            comm = stat[stat.index("(") + 1:stat.rindex(")")]
            pgid = int(stat.rsplit(")", 1)[1].split()[2])
            ticks = self._ticks(pid)
            if pgid in groups["web"]:
                out["web"] += ticks
            elif pgid in groups["workers"]:
                out["workers"] += ticks
            elif comm.startswith("postgres") and self._ours(d):
                out["postgresql"] += ticks
            elif locust_pid and pgid == locust_pid:
                out["locust"] += ticks
        cpu = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        out["machine_busy"] = sum(int(x) for x in cpu) - int(cpu[3]) - int(cpu[4])  # less idle and iowait
        return out

    def start(self, locust_pid: int | None) -> None:
        self.pid, self.t0, self.first = locust_pid, time.monotonic(), self._sample(locust_pid)

    def stop(self) -> dict:
        hz = os.sysconf("SC_CLK_TCK")
        last = self._sample(self.pid)
        wall = time.monotonic() - self.t0
        out = {k: round((last[k] - self.first[k]) / hz, 1) for k in last}
        out["other"] = round(out["machine_busy"] - out["web"] - out["workers"] - out["postgresql"] - out["locust"], 1)
        out["wall_s"] = round(wall, 1)
        return out


def _read_stats(prefix: Path) -> dict:
    def num(x):
        try:
            return float(x)
        except (TypeError, ValueError):
            return None

    endpoints, total = {}, None
    with open(f"{prefix}_stats.csv", newline="") as f:
        for row in csv.DictReader(f):
            r = {"method": row["Type"], "requests": int(row["Request Count"]), "failures": int(row["Failure Count"]),
                 "rps": num(row["Requests/s"]), "avg_ms": num(row["Average Response Time"]),
                 "p50_ms": num(row["50%"]), "p95_ms": num(row["95%"]), "p99_ms": num(row["99%"]),
                 "max_ms": num(row["Max Response Time"])}
            if row["Name"] == "Aggregated":
                total = r
            elif r["requests"]:
                endpoints[f"{row['Type']} {row['Name']}" if row["Type"] != "POST" else row["Name"]] = r
    failures = {}
    if Path(f"{prefix}_failures.csv").exists():
        with open(f"{prefix}_failures.csv", newline="") as f:
            for row in csv.DictReader(f):
                key = f"{row['Name']}: {row['Error']}"[:200]
                failures[key] = failures.get(key, 0) + int(row["Occurrences"])
    return {"total": total or {"requests": 0, "failures": 0}, "endpoints": endpoints, "failures": failures}


def run_step(locust: Path, server: Server, ids_file: Path, users: int, args, workdir: Path, cpu: CpuMeter) -> dict:
    spawn_s = args.spawn_seconds
    prefix = workdir / f"step-{users}"
    cmd = [str(locust), "-f", str(LOCUSTFILE), "--headless", "--host", server.url, "-u", str(users),
           "-r", f"{max(1.0, users / spawn_s):.1f}", "-t", f"{spawn_s + args.duration}s", "--reset-stats",
           "--csv", str(prefix), "--only-summary", "--exit-code-on-error", "0", "--loglevel", "WARNING",
           "--stop-timeout", "5"]
    env = dict(os.environ, TOWN_LOAD_IDENTITIES=str(ids_file), TOWN_LOAD_THINK=f"{args.think[0]},{args.think[1]}")
    env.pop("PYTHONPATH", None)
    log(f"  {users} users: {_split(users, args.mix)}, spawned in {spawn_s} s, measured for {args.duration} s")
    load_before = os.getloadavg()
    with open(workdir / f"step-{users}.log", "w") as out:
        proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        # The statistics are reset when every user is spawned; the CPU is read over the same span,
        # ending just before locust does (its own CPU is counted while it lives).
        time.sleep(spawn_s + 1)
        cpu.start(proc.pid)
        time.sleep(max(1, args.duration - 1.5))
        used = cpu.stop()
        try:
            rc = proc.wait(timeout=spawn_s + args.duration + 120)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise SystemExit(f"locust did not end; see {workdir}/step-{users}.log") from None
    if rc != 0 or not Path(f"{prefix}_stats.csv").exists():
        raise SystemExit(f"locust failed ({rc}): " + (workdir / f"step-{users}.log").read_text()[-3000:])
    stats = _read_stats(prefix)
    t = stats["total"]
    refused = sum(r["requests"] for n, r in stats["endpoints"].items() if n.endswith("refused (409)"))
    done = {kind: sum(r["requests"] - r["failures"] for n, r in stats["endpoints"].items()
                      if n.startswith("POST") and kind in n and not n.endswith("refused (409)"))
            for kind in ("check-in", "tick")}
    ratio = t["failures"] / t["requests"] if t["requests"] else 1.0
    good = bool(t["requests"]) and t["p95_ms"] is not None and t["p95_ms"] < P95_LIMIT_MS \
        and ratio <= MAX_FAILURE_RATIO
    step = {"users": users, "mix": _split(users, args.mix), "requests": t["requests"], "rps": t.get("rps"),
            "p50_ms": t.get("p50_ms"), "p95_ms": t.get("p95_ms"), "p99_ms": t.get("p99_ms"),
            "failures": t["failures"], "failure_ratio": ratio, "refused_409": refused, "done": done, "good": good,
            "load_before": [round(x, 2) for x in load_before], "load_after": [round(x, 2) for x in os.getloadavg()],
            "cpu_s": used, "endpoints": stats["endpoints"], "failure_kinds": stats["failures"]}
    log(f"    {t['requests']} requests, {step['rps'] or 0:.1f} req/s, p50 {step['p50_ms']} ms, "
        f"p95 {step['p95_ms']} ms, p99 {step['p99_ms']} ms, {t['failures']} failures, {refused} refused (409): "
        f"{'good' if good else 'over the line'}")
    return step


def climb(locust, server, ids_file, args, workdir) -> list[dict]:
    """Up the --users steps until the first one over the line, then --refine counts between."""
    cpu = CpuMeter(server, args.database_name)
    steps: list[dict] = []
    last = {True: None, False: None}  # the last good step and the last step over the line

    def take(users: int) -> dict:
        step = run_step(locust, server, ids_file, users, args, workdir, cpu)
        steps.append(step)
        last[bool(step["good"])] = step
        return step

    for users in args.users:
        if not take(users)["good"]:
            break
    for _ in range(args.refine):
        good, bad = last[True], last[False]
        if bad is None:
            break
        low = good["users"] if good else 0
        users = (low + bad["users"]) // 2
        if users <= low or users >= bad["users"] or bad["users"] - low < max(10, bad["users"] // 20):
            break
        take(users)
    return steps


def redis_footprint(redis_url: str) -> dict:
    """Keys and bytes this run left in its Redis database (queues, finished jobs, limiter counters)."""
    import redis

    r = redis.Redis.from_url(redis_url)
    keys = list(r.scan_iter(count=1000))
    used = sum(r.memory_usage(k) or 0 for k in keys)
    return {"keys": len(keys), "bytes": used, "server_used_memory": r.info("memory").get("used_memory")}


# --- the run ----------------------------------------------------------------------------------

def _csv_ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--level", default="town", help="dataset level (bench.seed): tiny, town, county")
    parser.add_argument("--database-url", help="default: BENCH_LOAD_PG_URL, else gridapp_load_<level> on "
                                               "BENCH_PG_URL's server")
    parser.add_argument("--reuse", action="store_true", help="use the dataset already in the database, if it is there")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_LOAD_REDIS_URL") or DEFAULT_REDIS,
                        help="a Redis database of this run's own (it is flushed), or 'embedded' (the default "
                             "when nothing answers on 127.0.0.1:6379)")
    parser.add_argument("--users", type=_csv_ints, default=_csv_ints(DEFAULT_USERS),
                        help="the steps: concurrent users, the mix scaled to each")
    parser.add_argument("--refine", type=int, default=2, help="steps tried between the last good and first bad")
    parser.add_argument("--mix", type=_csv_ints, default=[500, 30, 20],
                        help="volunteers, staff, property managers")
    parser.add_argument("--think", type=lambda t: [float(x) for x in t.split(",")], default=[5.0, 15.0],
                        help="seconds between two actions of a user, min,max")
    parser.add_argument("--duration", type=int, default=60, help="seconds measured per step")
    parser.add_argument("--spawn-seconds", type=int, default=10,
                        help="seconds to start a step's users (about one think time: they arrive spread over it)")
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--logins", type=int, default=8, help="logins at a time before the run")
    parser.add_argument("--ping-duration", type=int, default=15, help="seconds of wrk on /bench/ping (0: skip)")
    parser.add_argument("--ping-connections", type=int, default=8)
    parser.add_argument("--output", default="town-load", help="name of the result files")
    parser.add_argument("--out-dir", type=Path, default=RESULTS, help="where they go (bench/results/)")
    args = parser.parse_args(argv)
    if len(args.mix) != 3 or len(args.think) != 2:
        parser.error("--mix takes three numbers, --think two")
    args.mix = dict(zip(("volunteer", "staff", "property_manager"), args.mix, strict=True))
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    started = datetime.now(UTC)
    command = " ".join(["python -m bench.town", *(argv if argv is not None else sys.argv[1:])])
    locust = ensure_locust()
    url = args.database_url or database_url(args.level)
    args.database_name = url.rsplit("/", 1)[-1]
    instance = Path(tempfile.mkdtemp(prefix="gridapp-bench-town-"))
    workdir = instance / "locust"
    workdir.mkdir()
    from gridapp.redis_conn import ensure_embedded_redis, stop_embedded_redis

    if args.ping_duration and not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk), or --ping-duration 0")
    if args.redis_url == DEFAULT_REDIS and not _answers(DEFAULT_REDIS):
        args.redis_url = "embedded"
    embedded = args.redis_url == "embedded"
    redis_url = ensure_embedded_redis(instance) if embedded else args.redis_url
    report = {"started": started.isoformat(timespec="seconds"), "command": command, "machine": machine(),
              "uptime_load_start": [round(x, 2) for x in os.getloadavg()],
              "settings": {"level": args.level, "mix": args.mix, "think_s": args.think, "duration_s": args.duration,
                           "spawn_s": args.spawn_seconds, "web_workers": args.web_workers, "threads": args.threads,
                           "rq_workers": 2, "p95_limit_ms": P95_LIMIT_MS, "max_failure_ratio": MAX_FAILURE_RATIO,
                           "locust": subprocess.run([str(locust), "--version"], capture_output=True,
                                                    text=True).stdout.strip().split(" from ")[0]}}
    try:
        import redis

        redis.Redis.from_url(redis_url).flushdb()
        log(f"dataset {args.level} in {url.rsplit('/', 1)[-1]}{' (reuse if there)' if args.reuse else ''}")
        app, report["dataset"] = dataset(url, args.level, args.reuse, instance, redis_url)
        found = accounts(app, args.mix)
        from gridapp.extensions import db

        with app.app_context():
            db.engine.dispose()
        with Server(url, instance, redis_url, args.web_workers, args.threads) as server:
            log(f"logging in {len(found['volunteers']) + len(found['staff']) + len(found['managers'])} accounts")
            data, report["identities"] = identities(server.url, found, args.mix, args.logins)
            ids_file = workdir / "identities.json"
            ids_file.write_text(json.dumps(data))
            log(f"  {report['identities']}")
            log("steps (locust)")
            report["steps"] = climb(locust, server, ids_file, args, workdir)
            report["redis"] = redis_footprint(redis_url)
            if args.ping_duration:
                log(f"trivial view /bench/ping (wrk, {args.ping_connections} connections, {args.ping_duration} s)")
                report["ping"] = wrk(server.url + "/bench/ping", None, args.ping_duration, args.ping_connections)
    finally:
        if embedded:
            stop_embedded_redis(instance)
        shutil.rmtree(instance, ignore_errors=True)
    report["uptime_load_end"] = [round(x, 2) for x in os.getloadavg()]
    report["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    report["result"] = verdict(report)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / f"{args.output}.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    md = render(report)
    (args.out_dir / f"{args.output}.md").write_text(md)
    print(md)
    return 0


def verdict(report: dict) -> dict:
    steps = report.get("steps", [])
    good = [s for s in steps if s["good"]]
    best = max(good, key=lambda s: s["users"]) if good else None
    bad = [s for s in steps if not s["good"] and (best is None or s["users"] > best["users"])]
    first_bad = min(bad, key=lambda s: s["users"]) if bad else None
    out = {"max_users": best["users"] if best else 0, "last_good_users": best["users"] if best else None,
           "first_bad_users": first_bad["users"] if first_bad else None,
           "reached_the_end": first_bad is None}
    if best:
        cpu = best["cpu_s"]
        rps = best["rps"] or 0
        out |= {"rps_at_max": best["rps"], "p95_at_max_ms": best["p95_ms"]}
        if rps and cpu.get("wall_s"):
            # Per request of the mix, what each tier burnt (CPU ms): the basis of docs/SCALING.md.
            out["cpu_ms_per_request"] = {k: round(1000 * cpu[k] / cpu["wall_s"] / rps, 1)
                                         for k in ("web", "workers", "postgresql", "locust", "other",
                                                   "machine_busy")}
    ping = report.get("ping")
    if ping and best and ping.get("p95_ms"):
        out["p95_over_trivial_p95"] = best["p95_ms"] / ping["p95_ms"]
    return out


def _f(x, fmt="{:.0f}"):
    return "–" if x is None else fmt.format(x)


def render(report: dict) -> str:
    m, st, ds, ids = report["machine"], report["settings"], report["dataset"], report["identities"]
    res = report["result"]
    steps = report.get("steps", [])
    lines = [f"# A load shaped like a town — {report['started']}", "",
             f"`{report['command']}`", "",
             f"Machine: {m['cpus']} CPUs ({m['cpu'] or 'unknown'}), {m['memory_gib']} GiB, Python {m['python']}; "
             f"load average (1, 5, 15 min) {report['uptime_load_start']} at the start, "
             f"{report['uptime_load_end']} at the end. The load generator ({st['locust']}, one process) runs on "
             "the same cores as the server, and other work on this machine disturbs the figures.", "",
             f"Server: gunicorn gthread -w {st['web_workers']} --threads {st['threads']}, {st['rq_workers']} RQ "
             f"workers; {ds['kind']} dataset `{ds['level']}` ({ds['database']}, "
             f"{'reused' if ds['reused'] else 'built'} in {ds['seconds']:.0f} s): "
             + ", ".join(f"{k} {v:,}" for k, v in ds["counts"].items() if isinstance(v, int)) + ".", "",
             f"Users: volunteers, staff and property managers {st['mix']['volunteer']}:{st['mix']['staff']}:"
             f"{st['mix']['property_manager']}, each opening its own pages with {st['think_s'][0]:g}–"
             f"{st['think_s'][1]:g} s of think time between two actions. {ids['logins']} accounts logged in "
             f"through /login in {ids['login_s']:.0f} s: {ids['volunteers']} volunteers "
             f"({ids['volunteers_with_a_shift_to_check_in']} with a shift to check in now), staff "
             + ", ".join(f"{n} {r}" for r, n in ids["staff"].items())
             + f", property managers {', '.join(ids['property_managers'])} (points each: "
             f"{ids['points_per_manager']}). A step with more users of a role than accounts shares them "
             "round robin.", "",
             "Staff pages by role (those the role may open): "
             + "; ".join(f"{r}: {', '.join(p)}" for r, p in ids["staff_pages"].items()) + ".", "",
             f"Each step: users spawned in {st['spawn_s']} s, statistics reset, then {st['duration_s']} s measured. "
             f"Good: p95 over all requests under {st['p95_limit_ms']:g} ms and failures at most "
             f"{100 * st['max_failure_ratio']:g} %. Percentiles are locust's (response times kept to two "
             "significant digits).", "",
             "## Result", "",
             f"**Most concurrent active users served with p95 < {st['p95_limit_ms']:g} ms: {res['max_users']}**"
             + (f" ({_f(res.get('rps_at_max'), '{:.1f}')} req/s, p95 {_f(res.get('p95_at_max_ms'))} ms)"
                if res["max_users"] else "")
             + (f"; {res['first_bad_users']} users were over the line." if res["first_bad_users"]
                else "; the last step was still under the line (try more users)."), ""]
    lines += ["| users | volunteers / staff / managers | requests | req/s | p50 ms | p95 ms | p99 ms | failures "
              "| check-ins / ticks done | refused (409) | load avg before → after | good |",
              "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for s in sorted(steps, key=lambda s: s["users"]):
        mx = s["mix"]
        lines.append(f"| {s['users']} | {mx['volunteer']} / {mx['staff']} / {mx['property_manager']} "
                     f"| {s['requests']} | {_f(s['rps'], '{:.1f}')} | {_f(s['p50_ms'])} | {_f(s['p95_ms'])} "
                     f"| {_f(s['p99_ms'])} | {s['failures']} "
                     f"| {s.get('done', {}).get('check-in', '–')} / {s.get('done', {}).get('tick', '–')} "
                     f"| {s['refused_409']} "
                     f"| {s['load_before'][0]:.2f} → {s['load_after'][0]:.2f} | {'yes' if s['good'] else 'no'} |")
    lines += ["", "Steps in the order they ran: " + ", ".join(str(s["users"]) for s in steps)
              + " (the last ones between the last good step and the first bad one)."]
    cpu = res.get("cpu_ms_per_request")
    if cpu:
        lines += ["", f"CPU per request of the mix at {res['max_users']} users (ms of one core): web "
                  f"{cpu['web']}, RQ workers {cpu['workers']}, PostgreSQL {cpu['postgresql']}, locust "
                  f"{cpu['locust']}, other work on the machine {cpu['other']}; the whole machine "
                  f"{cpu['machine_busy']}."]
    lines += ["", "CPU seconds used while each step was measured, and by whom (other: work on the machine that "
              "is not this run's):", "",
              "| users | wall s | web | RQ workers | PostgreSQL | locust | other | machine busy |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for s in sorted(steps, key=lambda s: s["users"]):
        c = s["cpu_s"]
        lines.append(f"| {s['users']} | {c['wall_s']} | {c['web']} | {c['workers']} | {c['postgresql']} "
                     f"| {c['locust']} | {c.get('other', '–')} | {c['machine_busy']} |")
    pair = [s for s in steps if s["users"] in (res.get("last_good_users"), res.get("first_bad_users"))]
    pair.sort(key=lambda s: s["users"])
    if pair:
        names = sorted({n for s in pair for n in s["endpoints"]})
        lines += ["", "### Per endpoint", "",
                  "| endpoint | " + " | ".join(f"{s['users']} users: requests | p95 ms | failures" for s in pair)
                  + " |", "|---|" + "---:|---:|---:|" * len(pair)]
        for n in names:
            cells = []
            for s in pair:
                e = s["endpoints"].get(n)
                cells += [str(e["requests"]), _f(e["p95_ms"]), str(e["failures"])] if e else ["–", "–", "–"]
            lines.append(f"| {n} | " + " | ".join(cells) + " |")
    kinds = {k: v for s in steps for k, v in s["failure_kinds"].items()}
    if kinds:
        lines += ["", "Failures seen: " + "; ".join(f"{k} ×{v}" for k, v in sorted(kinds.items())) + "."]
    rd = report.get("redis")
    if rd:
        lines += ["", f"Redis after the steps: {rd['keys']} keys, {rd['bytes'] / 1024:.1f} KiB in this run's "
                  "database (RQ queues and finished jobs, the login limiter's counters)."]
    ping = report.get("ping")
    if ping:
        lines += ["", "## Secondary: the trivial view", "",
                  f"`/bench/ping` under wrk (as bench.run): {ping['rps']:.0f} req/s, p50 {ping['p50_ms']:.1f} ms, "
                  f"p95 {ping['p95_ms']:.1f} ms, p99 {ping['p99_ms']:.1f} ms, "
                  f"{ping['errors'] + ping['http_errors']} errors."
                  + (f" The town mix's p95 at its most users is {res['p95_over_trivial_p95']:.0f}× the trivial "
                     "view's." if res.get("p95_over_trivial_p95") else "")]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
