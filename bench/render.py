"""In-process cost and bytes of each key page at town scale: `make bench-render`.

    .venv/bin/python -m bench.render [--reuse] [--runs 40] [--out bench/results/render]
    .venv/bin/python -m bench.render --instructions [--reuse] [--runs 10]   # counted, not timed

Builds the town dataset (bench.seed, as `make bench` does) in a SQLite file under
bench/results/tmp/ (--reuse keeps one built before), then for each key page, as the user who uses
it, with Flask's test client in this one process: the median and 90th percentile of the whole
request (routing, SQL, rendering; no network, no server), its SQL statements, and its bytes raw
and as sent compressed (brotli, as a phone asks). The figures are comparable between two runs on
the same machine, which is what they are for: before and after a change to rendering.

With --instructions, the same requests run in a process under valgrind's callgrind, which counts
each request's instructions (bench/instructions.py) instead of timing it: a figure that does not
move with the machine's load, for comparing two trees on a noisy machine (a minute or two a page).
"""
import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

from bench.instructions import MARK
from bench.run import PAGES, PATH_ARGS, RESULTS, ROOT, find_path_args, log, logged_in_client, machine, make_app

REDIS = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/11"
# The volunteer's duty list (the page the peer comparison is made on) besides the key pages.
RENDER_PAGES = [*PAGES, ("duty list", "vol1", "/duty/")]
# The town's time of day a run happens at: a morning of the field report's day, rounds done and due,
# errands open, a shift on. Two runs of two trees at any hours compare.
AT = "10:30"


def build(reuse: bool) -> str:
    from bench.seed import seed_dataset
    from gridapp.extensions import db

    tmp = RESULTS / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / "render-town.db"
    url = f"sqlite:///{path}"
    if reuse and path.exists():
        return url
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    app = make_app(url, tmp / "render-instance", REDIS)
    with app.app_context():
        db.create_all()
        seed_dataset("town", progress=lambda m: log("  " + str(m)))
        db.session.remove()
        db.engine.dispose()
    return url


@contextmanager
def recording(engine):
    """The statements (and parameters, as the driver got them) sent on this engine inside the block."""
    from sqlalchemy import event

    sent = []

    def before(_conn, _cursor, statement, parameters, _context, executemany):
        sent.append((statement, parameters, executemany))

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", before)


def sql_cost(url: str, sent: list, runs: int) -> float:
    """CPU ms of the statements alone: replayed with the sqlite3 module on the same database file,
    every row fetched, each run in a transaction rolled back (a page may write: the privacy record)."""
    con = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    statements = [s for s in sent if s[0].split(None, 1)[0].upper() not in ("BEGIN", "COMMIT", "ROLLBACK")]
    cpu = []
    try:
        for i in range(runs + 3):
            start = time.process_time()
            con.execute("BEGIN")
            for statement, parameters, many in statements:
                if many:
                    con.executemany(statement, parameters)
                else:
                    con.execute(statement, parameters).fetchall()
            con.execute("ROLLBACK")
            if i >= 3:  # the first three warm SQLite's page cache
                cpu.append((time.process_time() - start) * 1000)
    finally:
        con.close()
    return statistics.median(cpu)


def pages(url: str):
    """Each key page, as its user, ready to be measured: (name, username, path, client, recorded,
    raw), the client logged in, the page requested three times to warm (templates compiled,
    catalogues loaded, caches filled), then once more with its statements recorded (raw: that
    response, uncompressed)."""
    from gridapp.extensions import db

    app = make_app(url, RESULTS / "tmp" / "render-instance", REDIS)
    find_path_args(app)
    with app.app_context():
        engine = db.engine
    try:  # as wsgi.py does once the app is built (a checkout from before it had no such step)
        from gridapp.core.process import settle
    except ImportError:
        pass
    else:
        settle()
    for name, username, path in RENDER_PAGES:
        path = path.format(**PATH_ARGS)
        client = logged_in_client(app, username)
        for _ in range(3):
            client.get(path)
        with recording(engine) as recorded:
            raw = client.get(path)
        if raw.status_code != 200:
            raise SystemExit(f"{path} as {username}: HTTP {raw.status_code}")
        yield name, username, path, client, recorded, raw


def measure(url: str, runs: int) -> list[dict]:
    rows = []
    for name, username, path, client, recorded, raw in pages(url):
        sent = client.get(path, headers={"Accept-Encoding": "br, gzip"})
        times, cpu = [], []
        for _ in range(runs):
            start, start_cpu = time.perf_counter(), time.process_time()
            client.get(path)
            times.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
        times.sort()
        rows.append({"page": name, "user": username, "path": path, "median_ms": statistics.median(times),
                     "p90_ms": times[int(0.9 * (len(times) - 1))], "cpu_ms": statistics.median(cpu),
                     "statements": len(recorded), "sql_cpu_ms": sql_cost(url, recorded, runs),
                     "raw_bytes": len(raw.get_data()), "sent_bytes": len(sent.get_data()),
                     "encoding": sent.headers.get("Content-Encoding", "")})
        r = rows[-1]
        log(f"  {name}: {r['median_ms']:.1f} ms ({r['cpu_ms']:.1f} ms CPU, SQL {r['sql_cpu_ms']:.1f}), "
            f"{r['raw_bytes']} → {r['sent_bytes']} bytes")
    return rows


def count_instructions(url: str, runs: int) -> list[dict]:
    """Instructions per request of each key page (bench.instructions), in a process callgrind runs:
    the whole request as the CPU time of measure() is taken (no compression), each counted on its own."""
    from bench.instructions import Counter

    counter = Counter(RESULTS / "tmp")
    rows = []
    for name, username, path, client, recorded, raw in pages(url):
        counts = []
        for _ in range(runs):
            with counter.counting() as block:
                client.get(path)
            counts.append(block["instructions"])
        rows.append({"page": name, "user": username, "path": path, "instructions": statistics.median(counts),
                     "instructions_min": min(counts), "instructions_max": max(counts),
                     "statements": len(recorded), "raw_bytes": len(raw.get_data())})
        log(f"  {name}: {rows[-1]['instructions'] / 1e6:.1f} M instructions a request "
            f"({min(counts) / 1e6:.1f}–{max(counts) / 1e6:.1f})")
    return rows


def town_instant() -> str:
    """When the run happened in the town (the dataset and the pages are of that instant)."""
    from zoneinfo import ZoneInfo

    from gridapp.timeutil import utcnow

    local = utcnow().astimezone(ZoneInfo(os.environ.get("TIMEZONE", "Asia/Shanghai")))
    return f"In the town it was {local:%Y-%m-%d %H:%M} (`--at`)."


def render(rows: list[dict], runs: int) -> str:
    m = machine()
    lines = [f"# In-process cost and bytes of the key pages (town scale, SQLite) — {time.strftime('%Y-%m-%d %H:%M')}",
             "", f"Machine: {m['cpus']} CPUs, Python {m['python']}. {town_instant()} "
             "Command: `.venv/bin/python -m bench.render`; "
             f"{runs} requests per page after 3 to warm, Flask's test client in one process. CPU ms: the "
             "process's CPU time per request (SQLite runs in the process, so it includes the SQL); it moves less "
             "than the wall-clock time when something else runs on the machine. SQL ms: the CPU time of the page's "
             "statements alone, replayed with the sqlite3 module on the same file, every row fetched; the app's "
             "ms: CPU ms less SQL ms (routing, the ORM, the templates).", "",
             "| page | user | CPU ms | SQL ms | the app's ms | median ms | p90 ms | SQL | raw KB | sent KB | |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        cpu = f"{r['cpu_ms']:.1f}" if "cpu_ms" in r else "–"
        sql = f"{r['sql_cpu_ms']:.1f}" if "sql_cpu_ms" in r else "–"
        own = f"{r['cpu_ms'] - r['sql_cpu_ms']:.1f}" if "sql_cpu_ms" in r and "cpu_ms" in r else "–"
        lines.append(f"| {r['page']} `{r['path']}` | {r['user']} | {cpu} | {sql} | {own} | {r['median_ms']:.1f} | "
                     f"{r['p90_ms']:.1f} | "
                     f"{r['statements']} | {r['raw_bytes'] / 1024:.1f} | {r['sent_bytes'] / 1024:.1f} | "
                     f"{r['encoding']} |")
    over = [r["page"] for r in rows if r["sent_bytes"] > 15 * 1024]
    lines += ["", "Target: every key page at most 15 KB on the wire: "
              + ("met." if not over else f"not met by {', '.join(over)}.")]
    return "\n".join(lines) + "\n"


def render_instructions(rows: list[dict], runs: int) -> str:
    m = machine()
    lines = [f"# Instructions per request of the key pages (town scale, SQLite) — {time.strftime('%Y-%m-%d %H:%M')}",
             "", f"Machine: {m['cpus']} CPUs, Python {m['python']}. {town_instant()} "
             f"Command: `.venv/bin/python -m bench.render --instructions`; {runs} requests per page after 3 to warm, "
             "Flask's test client in one process run by "
             "valgrind's callgrind (bench/instructions.py), which counts the instructions of each request: Python, "
             "the C parts of the libraries and SQLite alike. A count does not move with the machine's load as CPU "
             "time does; it does not weigh cache misses.", "",
             "| page | user | M instructions | fewest | most | SQL | raw KB |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['page']} `{r['path']}` | {r['user']} | {r['instructions'] / 1e6:.2f} | "
                     f"{r['instructions_min'] / 1e6:.2f} | {r['instructions_max'] / 1e6:.2f} | {r['statements']} | "
                     f"{r['raw_bytes'] / 1024:.1f} |")
    return "\n".join(lines) + "\n"


def at_town_time(at: str) -> None:
    """Run this process and those it starts (GRIDAPP_CLOCK_OFFSET) as if it were `at` ("HH:MM") in
    the town today, or on the real clock for "now"."""
    from datetime import UTC, datetime
    from datetime import time as clock_time
    from zoneinfo import ZoneInfo

    from gridapp import timeutil

    if at == "now":
        return
    zone = ZoneInfo(os.environ.get("TIMEZONE", "Asia/Shanghai"))
    real = datetime.now(UTC)
    wanted = datetime.combine(real.astimezone(zone).date(), clock_time.fromisoformat(at), tzinfo=zone)
    offset = (wanted - real).total_seconds()
    os.environ["GRIDAPP_CLOCK_OFFSET"] = str(offset)
    timeutil.set_clock_offset(offset)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reuse", action="store_true", help="keep a town dataset built before")
    parser.add_argument("--runs", type=int, help="requests measured per page (40; 10 with --instructions)")
    parser.add_argument("--instructions", action="store_true",
                        help="count each request's instructions with valgrind instead of timing it")
    parser.add_argument("--out", help="writes OUT.md and OUT.json (bench/results/render, or render-instructions)")
    parser.add_argument("--at", default=AT, help=f"the town's time of day the run happens at ({AT}; 'now': the "
                        "clock's): the dataset and the pages are of that instant, so runs at any hour compare")
    args = parser.parse_args()
    if MARK not in os.environ:  # the process under callgrind has the clock of the one that started it
        at_town_time(args.at)
    runs = args.runs or (10 if args.instructions else 40)
    out = args.out or str(RESULTS / ("render-instructions" if args.instructions else "render"))
    if args.instructions and MARK not in os.environ:
        from bench.instructions import available, command

        if why := available():
            raise SystemExit(f"instructions cannot be counted here: {why}")
        log("building the town dataset (SQLite)" if not args.reuse else "the town dataset (SQLite)")
        build(args.reuse)
        argv, env = command(["-m", "bench.render", "--reuse", "--instructions", "--runs", str(runs), "--out", out],
                            RESULTS / "tmp" / "callgrind")
        log("counting under callgrind (about a minute a page)")
        return subprocess.run(argv, env=env, cwd=ROOT).returncode
    if not args.instructions:
        log("building the town dataset (SQLite)" if not args.reuse else "the town dataset (SQLite)")
    url = build(args.reuse or args.instructions)
    if args.instructions:
        rows, table = count_instructions(url, runs), render_instructions
    else:
        rows, table = measure(url, runs), render
    Path(out + ".json").write_text(json.dumps(rows, indent=1, ensure_ascii=False))
    Path(out + ".md").write_text(table(rows, runs))
    print(table(rows, runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
