"""Two versions of gridapp side by side on one page, served as in production:

    .venv/bin/python -m bench.compare --ref 0e32679 [--path /duty/] [--user vol1] [--rounds 3]
                                      [--duration 10] [--connections 8]

Checks REF out into a temporary git worktree (it shares this virtualenv), and for it and for this
working tree: seeds the demo town into a SQLite database of its own (gridapp.launch.prepare, as
`make run` does), serves it with gunicorn as the Procfile does (2 workers × 4 threads), logs USER in,
and then measures PATH with wrk on each in turn, ROUNDS times alternately (a machine's drift falls
on both), a new connection per request (wrk's kept-alive connections would stay with whichever
gunicorn worker accepted them, and all on one worker halves a run). Reports each one's requests per
second and latency, and the ratio of the two. Needs wrk.

This is the command behind the README's before/after figure for the volunteer's duty list: the peer
application the issue compared against is not here, so its figure is carried over as a ratio to the
version of the day it was measured (see README, "Performance").
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.run import RESULTS, answers, free_port, log, login, machine, stop_groups, wrk

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PREPARE = "from gridapp import create_app\nfrom gridapp.launch import prepare\nprint(prepare(create_app()))\n"


class Served:
    """One checkout with its own demo database, instance folder and gunicorn."""

    def __init__(self, name: str, tree: Path, work: Path, redis_url: str):
        self.name, self.tree = name, tree
        instance = work / f"instance-{name}"
        instance.mkdir(parents=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = dict(os.environ, DATABASE_URL=f"sqlite:///{instance / 'gridapp.db'}", REDIS_URL=redis_url,
                        GRIDAPP_INSTANCE=str(instance), SECRET_KEY=f"compare-{name}",
                        LOGIN_LIMIT_PER_IP="100000 per minute", LOGIN_LIMIT_PER_ACCOUNT="100000 per minute",
                        PYTHONPATH=str(tree))
        self.proc = None

    def __enter__(self):
        out = subprocess.run([str(BIN / "python"), "-c", PREPARE], cwd=self.tree, env=self.env, capture_output=True,
                             text=True, timeout=600)
        if out.returncode != 0:
            raise SystemExit(f"{self.name}: the demo town could not be prepared:\n{out.stderr[-2000:]}")
        self.proc = subprocess.Popen(
            [str(BIN / "gunicorn"), "--no-control-socket", "-k", "gthread", "-w", "2", "--threads", "4",
             "-b", f"127.0.0.1:{self.port}", "--log-level", "warning", "wsgi:app"],
            cwd=self.tree, env=self.env, start_new_session=True)
        if answers(self.url + "/login"):
            return self
        self.__exit__()
        raise SystemExit(f"{self.name}: gunicorn did not answer")

    def __exit__(self, *exc):
        stop_groups([self.proc])


def cookie_for(served: Served, user: str, path: str) -> tuple[str, int]:
    s = login(served.url, user)
    for _ in range(5):  # warm up, and make sure the page is the page
        r = s.get(served.url + path, allow_redirects=False, timeout=60)
        if r.status_code != 200:
            raise SystemExit(f"{served.name}: {path} as {user}: HTTP {r.status_code}")
    return "; ".join(f"{k}={v}" for k, v in s.cookies.items()), len(r.content)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", required=True, help="the git commit to compare this working tree with")
    args = round_arguments(parser, rounds=3, duration=10, out="compare")
    work = Path(tempfile.mkdtemp(prefix="gridapp-compare-"))
    before_tree = work / "before"
    subprocess.run(["git", "worktree", "add", "-q", "--detach", str(before_tree), args.ref], cwd=ROOT, check=True)
    results: dict[str, list[dict]] = {"before": [], "after": []}
    try:
        with (Served("before", before_tree, work, args.redis) as before,
              Served("after", ROOT, work, args.redis) as after):
            cookies = {s.name: cookie_for(s, args.user, args.path) for s in (before, after)}
            for i in range(args.rounds):
                for s in (before, after) if i % 2 == 0 else (after, before):
                    log(f"  round {i + 1}: {s.name} {args.path} for {args.duration} s")
                    results[s.name].append(wrk(s.url + args.path, cookies[s.name][0], args.duration,
                                               args.connections, close=True))
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(before_tree)], cwd=ROOT, check=False)
        shutil.rmtree(work, ignore_errors=True)
    rps, rows = summary(results, {k: cookies[k][1] for k in results})
    m = machine()
    text = "\n".join([
        f"# {args.path} as {args.user}: {args.ref} against this tree — {time.strftime('%Y-%m-%d %H:%M')}", "",
        f"Machine: {m['cpus']} CPUs, Python {m['python']}, load average {os.getloadavg()[0]:.2f} at the end. "
        f"Command: `.venv/bin/python -m bench.compare --ref {args.ref} --path {args.path} --user {args.user} "
        f"--rounds {args.rounds} --duration {args.duration} --connections {args.connections}`; each one seeded "
        "with the demo town on SQLite and served by gunicorn (2 workers × 4 threads), wrk on loopback with a "
        "new connection per request (kept-alive connections stay with one worker), the rounds alternating.", "",
        "| version | page bytes | req/s (median of rounds) | p95 ms | errors | rounds, req/s |",
        "|---|---:|---:|---:|---:|---|", rows["before"], rows["after"], "",
        f"After / before: {rps['after'] / rps['before']:.2f}× the requests per second.", ""])
    Path(args.out + ".md").write_text(text)
    print(text)
    return 1 if failed(results) else 0


def round_arguments(parser: argparse.ArgumentParser, rounds: int, duration: int, out: str) -> argparse.Namespace:
    """The arguments of a side-by-side run with wrk (this module's and bench.peer's), parsed; wrk must
    be there."""
    parser.add_argument("--path", default="/duty/", help="gridapp's page")
    parser.add_argument("--user", default="vol1")
    parser.add_argument("--rounds", type=int, default=rounds)
    parser.add_argument("--duration", type=int, default=duration)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/13")
    parser.add_argument("--out", default=str(RESULTS / out), help="writes OUT.md")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed (Debian package wrk)")
    return args


def failed(results: dict[str, list[dict]]) -> bool:
    """Whether any round of either side had a failed request."""
    return any(r["errors"] + r["http_errors"] for v in results.values() for r in v)


def summary(results: dict[str, list[dict]], sizes: dict[str, int]) -> tuple[dict[str, float], dict[str, str]]:
    """Each side's median requests per second over its rounds, and its row of the report: page bytes,
    that median, the median p95, the errors of all rounds, each round's requests per second."""
    rps = {k: statistics.median(r["rps"] for r in v) for k, v in results.items()}
    rows = {k: f"| {k} | {sizes[k]} | {rps[k]:.0f} | {statistics.median(r['p95_ms'] for r in v):.1f} | "
               f"{sum(r['errors'] + r['http_errors'] for r in v)} | {', '.join(format(r['rps'], '.0f') for r in v)} |"
            for k, v in results.items()}
    return rps, rows


if __name__ == "__main__":
    raise SystemExit(main())
