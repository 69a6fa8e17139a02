"""gridapp's volunteer duty list beside a peer application's, served side by side: `make bench-peer`.

    .venv/bin/python -m bench.peer [--rounds 6] [--duration 8] [--connections 8] [--out bench/results/peer]

The peer is ephios (bench/requirements-peer.txt), a Django application for volunteers' shifts, in a
virtualenv of its own (.venv-peer, made from the package index when it is missing; the run itself
fetches nothing), configured in a temporary folder (SQLite, DEBUG off, its static files and
translations built), served by gunicorn with 4 sync workers. It gets one volunteer and as many shifts
as gridapp's page shows (bench/peer_seed.py: three a day at six checkpoints, from tomorrow), and its
volunteer's list of events, /events/, is measured. gridapp: this tree with the demo town, prepared as
`make run` does, served as the Procfile does (gunicorn, 2 workers × 4 threads), /duty/ as vol1. wrk on
each in turn, ROUNDS times alternately, a new connection per request (as bench.compare). The peer is
asked as if behind a TLS proxy (X-Forwarded-Proto: https): outside DEBUG it sends plain HTTP there.
"""
import argparse
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from bench.compare import Served, cookie_for, failed, round_arguments, summary
from bench.run import ROOT, answers, ensure_venv, free_port, log, machine, stop_groups, wrk

PEER_VENV = ROOT / ".venv-peer"
PEER_PAGE = "/events/"
PROXY = {"X-Forwarded-Proto": "https"}


class Peer:
    """ephios in a folder of its own, with its own SQLite database, served by gunicorn (sync workers)."""

    def __init__(self, work: Path, shifts: int, workers: int = 4):
        self.bin = ensure_venv(PEER_VENV, ROOT / "bench" / "requirements-peer.txt", "gunicorn").parent
        self.folder, self.shifts, self.workers = work / "peer", shifts, workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc, self.cookie = None, ""
        self.env = dict(os.environ, ENV_PATH=str(self.folder / ".env"), DJANGO_SETTINGS_MODULE="ephios.settings")
        self.env.pop("PYTHONPATH", None)

    def _run(self, *args: str) -> str:
        out = subprocess.run([str(self.bin / "python"), *args], cwd=self.folder, env=self.env, capture_output=True,
                             text=True, timeout=600)
        if out.returncode != 0:
            raise SystemExit(f"peer: {' '.join(args)} failed:\n{out.stderr[-2000:]}")
        return out.stdout

    def __enter__(self):
        self.folder.mkdir(parents=True)
        (self.folder / ".env").write_text("\n".join([
            "DEBUG=False", "SECRET_KEY=bench-peer", "ALLOWED_HOSTS=127.0.0.1",
            f"DATABASE_URL=sqlite:///{self.folder / 'db.sqlite3'}", f"SITE_URL={self.url}",
            "EMAIL_URL=dummymail://", "DEFAULT_FROM_EMAIL=peer@localhost", "SERVER_EMAIL=peer@localhost",
            "ADMINS=Peer <peer@localhost>", f"DATA_DIR={self.folder / 'data'}", "TRUST_X_FORWARDED_PROTO=True", ""]))
        for command in (["migrate", "-v0"], ["compilejsi18n"], ["collectstatic", "--noinput", "-v0"]):
            self._run("-m", "ephios", *command)
        self.cookie = "sessionid=" + self._run(str(ROOT / "bench" / "peer_seed.py"), str(self.shifts)).split()[-1]
        self.proc = subprocess.Popen(
            [str(self.bin / "gunicorn"), "-w", str(self.workers), "-b", f"127.0.0.1:{self.port}",
             "--log-level", "warning", "ephios.wsgi:application"],
            cwd=self.folder, env=self.env, start_new_session=True)
        if answers(self.url + "/accounts/login/", PROXY):
            return self
        self.__exit__()
        raise SystemExit("peer: gunicorn did not answer")

    def page(self, path: str) -> tuple[int, str]:
        import requests

        r = requests.get(self.url + path, headers={**PROXY, "Cookie": self.cookie}, allow_redirects=False,
                         timeout=60)
        return r.status_code, r.text

    def __exit__(self, *exc):
        stop_groups([self.proc])


def main() -> int:
    import requests

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args = round_arguments(parser, rounds=6, duration=8, out="peer")
    work = Path(tempfile.mkdtemp(prefix="gridapp-peer-"))
    results: dict[str, list[dict]] = {"gridapp": [], "peer": []}
    try:
        with Served("gridapp", ROOT, work, args.redis) as ours:
            cookie, size = cookie_for(ours, args.user, args.path)
            html = requests.get(ours.url + args.path, headers={"Cookie": cookie}, timeout=60).text
            shifts = html.count('id="shift-')
            log(f"gridapp {args.path} as {args.user}: {shifts} shifts, {size} bytes; the peer gets as many")
            with Peer(work, shifts) as peer:
                for _ in range(20):  # each worker's first requests fill its caches
                    status, peer_html = peer.page(PEER_PAGE)
                    if status != 200:
                        raise SystemExit(f"peer: {PEER_PAGE}: HTTP {status}")
                # The page is the list the volunteer sees: every event (a checkpoint's day) is on it.
                listed = len(set(re.findall(r'href="/events/(\d+)-checkpoint-', peer_html)))
                if listed != -(-shifts // 3):
                    raise SystemExit(f"peer: {PEER_PAGE} lists {listed} events of {-(-shifts // 3)}")
                served = {"gridapp": (ours.url + args.path, cookie, None),
                          "peer": (peer.url + PEER_PAGE, peer.cookie, PROXY)}
                sizes = {"gridapp": size, "peer": len(peer_html.encode())}
                for i in range(args.rounds):
                    for name in ("gridapp", "peer") if i % 2 == 0 else ("peer", "gridapp"):
                        url, cookie_of, headers = served[name]
                        log(f"  round {i + 1}: {name} for {args.duration} s")
                        results[name].append(wrk(url, cookie_of, args.duration, args.connections, close=True,
                                                 headers=headers))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rps, rows = summary(results, sizes)
    m = machine()
    pages = {"gridapp": f"{args.path} as {args.user}", "peer": f"{PEER_PAGE} as its volunteer"}
    text = "\n".join([
        f"# gridapp's duty list beside a peer's (ephios) — {time.strftime('%Y-%m-%d %H:%M')}", "",
        f"Machine: {m['cpus']} CPUs, Python {m['python']}, load average {os.getloadavg()[0]:.2f} at the end. "
        f"Command: `.venv/bin/python -m bench.peer --rounds {args.rounds} --duration {args.duration} "
        f"--connections {args.connections}`. gridapp: the demo town on SQLite, gunicorn 2 workers × 4 threads. "
        f"The peer: ephios (bench/requirements-peer.txt) on SQLite, gunicorn 4 sync workers, {shifts} shifts as "
        "on gridapp's page (an event per checkpoint and day, each checked to be on the list). wrk on loopback, "
        "a new connection per request, the rounds alternating.", "",
        "| application | page | page bytes | req/s (median of rounds) | p95 ms | errors | rounds, req/s |",
        "|---|---|---:|---:|---:|---:|---|",
        *(rows[k].replace(f"| {k} |", f"| {k} | {pages[k]} |", 1) for k in ("gridapp", "peer")), "",
        f"gridapp / peer: {rps['gridapp'] / rps['peer']:.2f}× the requests per second.", ""])
    Path(args.out + ".md").write_text(text)
    print(text)
    return 1 if failed(results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
