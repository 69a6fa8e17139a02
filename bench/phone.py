"""Load time of each key page on a slow phone: `make bench-phone` (and part of `make bench`).

    .venv/bin/python -m bench.phone [--reuse] [--runs 3] [--pages "errand board" /duty/roster ...]
                                    [--out bench/results/phone] [--report latest]

Serves the town dataset (the SQLite file bench.render builds; --reuse keeps one built before) as
in production (gunicorn gthread -w 2 --threads 4, two RQ workers) and opens each key page, as the
user who uses it, in Debian's Chromium (Playwright, headless) emulating a phone: 390×844 at 3×,
touch, zh-CN, the network throttled to 400 kbit/s each way with 400 ms of latency and the CPU
slowed 4× (Chrome DevTools Protocol). Each run is a fresh browser context (an empty cache) logged
in outside the page (the context's request API: no static file reaches the browser's cache), then:

- first visit: the page opened with an empty cache;
- repeat visit: another page of the app (/profile), then the key page again (a new navigation,
  not a reload): the static files come from the cache, only the HTML crosses the network.

Each visit records, from the navigation's start (the page's own clock, performance.now()):
DOMContentLoaded (Navigation Timing, domContentLoadedEventEnd), the first tap target (the first
animation frame in which the first `main a[href], main button, main input, main summary` has a box
and is not hidden — or, once the document is parsed and main has none, the menu button), and
"usable", the later of the two; and the bytes received (CDP Network.loadingFinished
encodedDataLength: compressed bodies plus response headers; every request of the visit, the
favicon asked for after the load event included). Each figure is its median over --runs runs per
page (usable: the median of each run's own). Before its runs each page is requested a few times
outside the browser, so the server is warm, as one that has been up a while.
Targets: usable within 2.0 s on a first visit and 1.0 s on a repeat visit, for every key page.
Writes OUT.md and OUT.json; --report NAME also writes bench/results/NAME.md again from NAME.json
(bench.run's report), which then carries this table (`make bench` does that with latest).
"""
import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from bench.run import PAGES, PATH_ARGS, RESULTS, Server, csrf_of, find_path_args, log, machine, make_app

DEMO_PASSWORD = "demo-pass-2020"
REDIS_DEFAULT = "redis://127.0.0.1:6379/12"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu"]
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3, "is_mobile": True,
         "has_touch": True, "locale": "zh-CN"}
KBIT = 400
NETWORK = {"offline": False, "latency": 400, "downloadThroughput": KBIT * 1000 / 8,
           "uploadThroughput": KBIT * 1000 / 8}
CPU_SLOWDOWN = 4
FIRST_TARGET_S, REPEAT_TARGET_S = 2.0, 1.0
OTHER_PAGE = "/profile"  # the page visited between the first and the repeat visit
TAP_TARGETS = "main a[href], main button, main input, main summary"
MENU_BUTTON = ".nav-toggle-label"

# Runs in every document before its own scripts: watches, one animation frame at a time (no frame
# is drawn while the stylesheet is still loading), for the first tap target with a box.
_WATCH = """(() => {
  const visible = (el) => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== "hidden";
  };
  const look = () => {
    let found = Array.from(document.querySelectorAll(TAP_TARGETS)).find(visible);
    if (!found && document.readyState !== "loading") {
      const menu = document.querySelector(MENU_BUTTON);
      if (menu && visible(menu)) { found = menu; }
    }
    if (!found) { requestAnimationFrame(look); return; }
    const text = (found.textContent || found.value || found.placeholder || "").trim().replace(/\\s+/g, " ");
    window.__firstTap = {ms: performance.now(), what: found.tagName.toLowerCase() + " " + text.slice(0, 24)};
  };
  requestAnimationFrame(look);
})();""".replace("TAP_TARGETS", json.dumps(TAP_TARGETS)).replace("MENU_BUTTON", json.dumps(MENU_BUTTON))

_TIMINGS = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const fcp = performance.getEntriesByName("first-contentful-paint")[0];
  return {dcl: nav.domContentLoadedEventEnd, load: nav.loadEventEnd,
          fcp: fcp ? fcp.startTime : null, tap: window.__firstTap.ms, what: window.__firstTap.what};
}"""


def password_login(username: str, password: str) -> Callable:
    """A way in: the login form posted with the context's request API (cookies shared with the
    context's pages, nothing loaded into the browser's cache)."""

    def log_in(request, base: str) -> None:
        page = request.get(base + "/login")
        resp = request.post(base + "/login", max_redirects=0,
                            form={"username": username, "password": password, "csrf_token": csrf_of(page.text())})
        if resp.status != 302:
            raise RuntimeError(f"{username} could not log in (HTTP {resp.status})")

    return log_in


class _Traffic:
    """The requests of the current visit and their bytes, from the CDP Network events."""

    def __init__(self, cdp):
        self.reset()
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.loadingFinished", self._finished)
        cdp.on("Network.loadingFailed", self._finished)

    def reset(self):
        self.started, self.done, self.urls = set(), set(), {}
        self.bytes, self.fetched, self.favicon = 0, 0, False

    def _sent(self, event):
        self.started.add(event["requestId"])
        self.urls[event["requestId"]] = event["request"]["url"]

    def _finished(self, event):
        if event["requestId"] in self.started:
            self.done.add(event["requestId"])
            received = int(event.get("encodedDataLength", 0))  # 0: served from the cache
            self.bytes += received
            self.fetched += 1 if received else 0
            self.favicon |= "/favicon." in self.urls[event["requestId"]]

    def pending(self) -> int:
        return len(self.started - self.done)


def _visit(page, traffic: _Traffic, url: str) -> dict:
    traffic.reset()
    resp = page.goto(url)
    if resp is None or resp.status != 200 or resp.url != url:
        raise RuntimeError(f"{url}: HTTP {resp and resp.status} at {resp and resp.url}")
    page.wait_for_function("() => window.__firstTap !== undefined")
    page.wait_for_load_state("networkidle")
    # The favicon is asked for after the load event (from the cache on a repeat visit): counted too.
    deadline = time.monotonic() + 5
    while (traffic.pending() or not traffic.favicon) and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    t = page.evaluate(_TIMINGS)
    return {"dcl_s": t["dcl"] / 1000, "tap_s": t["tap"] / 1000, "usable_s": max(t["dcl"], t["tap"]) / 1000,
            "fcp_s": t["fcp"] / 1000 if t["fcp"] is not None else None, "load_s": t["load"] / 1000,
            "bytes": traffic.bytes, "requests": traffic.fetched, "tap_target": t["what"]}


def measure_page(browser, base: str, log_in: Callable, path: str, other: str = OTHER_PAGE,
                 cpu_slowdown: float = CPU_SLOWDOWN) -> dict:
    """One run on one page: a fresh phone context logged in by log_in(request, base), the page
    opened throttled with an empty cache (first), then `other` and the page again (repeat)."""
    context = browser.new_context(**PHONE)
    try:
        log_in(context.request, base)
        context.add_init_script(_WATCH)
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", NETWORK)
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": cpu_slowdown})
        traffic = _Traffic(cdp)
        first = _visit(page, traffic, base + path)
        _visit(page, traffic, base + other)
        repeat = _visit(page, traffic, base + path)
        return {"first": first, "repeat": repeat}
    finally:
        context.close()


def median_of(runs: list[dict]) -> dict:
    out = {}
    for visit in ("first", "repeat"):
        v = {}
        for key in runs[0][visit]:
            values = [r[visit][key] for r in runs if r[visit][key] is not None]
            if key == "tap_target":
                v[key] = values[0]
            else:
                v[key] = statistics.median(values) if values else None
        out[visit] = v
    return out


def measure(browser, base: str, pages: list[tuple], runs: int, cpu_slowdown: float = CPU_SLOWDOWN) -> list[dict]:
    from bench.run import login

    rows = []
    for name, username, path in pages:
        path = path.format(**PATH_ARGS)
        s = login(base, username)  # warm the server (both workers) on the page: templates, caches
        for _ in range(4):
            for p in (path, OTHER_PAGE):
                r = s.get(base + p, allow_redirects=False, timeout=60)
                if r.status_code != 200:
                    raise SystemExit(f"{p} as {username}: HTTP {r.status_code}")
        results = [measure_page(browser, base, password_login(username, DEMO_PASSWORD), path, cpu_slowdown=cpu_slowdown)
                   for _ in range(runs)]
        row = {"page": name, "user": username, "path": path, "runs": results, **median_of(results)}
        row["meets_targets"] = (row["first"]["usable_s"] <= FIRST_TARGET_S
                                and row["repeat"]["usable_s"] <= REPEAT_TARGET_S)
        rows.append(row)
        f, r = row["first"], row["repeat"]
        log(f"  {name}: first {f['dcl_s']:.2f} / {f['tap_s']:.2f} s, {f['bytes'] / 1024:.1f} KB; "
            f"repeat {r['dcl_s']:.2f} / {r['tap_s']:.2f} s, {r['bytes'] / 1024:.1f} KB")
    return rows


def render(report: dict) -> str:
    m, rows = report["machine"], report["pages"]
    slowdown = report.get("conditions", {}).get("cpu_slowdown", CPU_SLOWDOWN)
    lines = [f"# Load time on a phone — {report['started']}", "",
             f"Chromium {report['browser']} (headless, Playwright) as a phone: 390×844 at 3×, touch, zh-CN; "
             f"network {KBIT} kbit/s down and up, {NETWORK['latency']} ms latency; CPU slowed {slowdown:g}×. "
             f"Town dataset on SQLite, gunicorn gthread -w 2 --threads 4 and 2 RQ workers on loopback. "
             f"Median of {report['runs']} runs per page, each in a fresh context (empty cache). "
             f"Machine: {m['cpus']} CPUs ({m['cpu'] or 'unknown'}), Python {m['python']}. "
             "Command: `.venv/bin/python -m bench.phone`.", "",
             "Times from the navigation's start: DCL = DOMContentLoaded ends; tap = the first frame showing "
             "the first tap target in main (else the menu button); usable = the later of the two. "
             f"KB received (compressed, with headers). Repeat: after {OTHER_PAGE}, the page opened again.", "",
             "| page | user | first DCL s | first tap s | first KB | repeat DCL s | repeat tap s | repeat KB |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        f, p = r["first"], r["repeat"]
        lines.append(f"| {r['page']} `{r['path']}` | {r['user']} | {f['dcl_s']:.2f} | {f['tap_s']:.2f} | "
                     f"{f['bytes'] / 1024:.1f} | {p['dcl_s']:.2f} | {p['tap_s']:.2f} | {p['bytes'] / 1024:.1f} |")
    met = [r["page"] for r in rows if r["meets_targets"]]
    missed = [f"{r['page']} (usable {r['first']['usable_s']:.2f} s first, {r['repeat']['usable_s']:.2f} s repeat)"
              for r in rows if not r["meets_targets"]]
    lines += ["", f"Targets: usable within {FIRST_TARGET_S:.1f} s on a first visit and {REPEAT_TARGET_S:.1f} s on a "
              f"repeat visit. Met by {len(met)} of {len(rows)} pages"
              + (f": {', '.join(met)}" if met and missed else "") + "."
              + (f" Not met by {'; '.join(missed)}." if missed else "")]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reuse", action="store_true", help="keep a town dataset built before")
    parser.add_argument("--runs", type=int, default=3, help="runs per page (the median is reported)")
    parser.add_argument("--pages", nargs="+", help="key pages by name or path (default: all)")
    parser.add_argument("--out", default=str(RESULTS / "phone"), help="writes OUT.md and OUT.json")
    parser.add_argument("--report", default="", help="write bench/results/REPORT.md again from REPORT.json")
    parser.add_argument("--cpu-slowdown", type=float, default=CPU_SLOWDOWN,
                        help="how many times slower than this machine the phone's CPU is (default 4); the "
                             "slowdown is relative, so a faster machine needs more for the same phone")
    args = parser.parse_args()
    pages = [p for p in PAGES if not args.pages or p[0] in args.pages or p[2] in args.pages]
    if not pages:
        raise SystemExit(f"no key page named {args.pages}")
    redis_url = os.environ.setdefault("REDIS_URL", REDIS_DEFAULT)  # bench.render reads it too
    from playwright.sync_api import sync_playwright

    from bench.render import build

    log("building the town dataset (SQLite)" if not args.reuse else "the town dataset (SQLite)")
    url = build(args.reuse)
    instance = RESULTS / "tmp" / "phone-instance"
    instance.mkdir(parents=True, exist_ok=True)
    find_path_args(make_app(url, instance, redis_url))
    report = {"started": time.strftime("%Y-%m-%d %H:%M %Z"), "machine": machine(), "runs": args.runs,
              "conditions": {"phone": PHONE, "network": NETWORK, "cpu_slowdown": args.cpu_slowdown,
                             "other_page": OTHER_PAGE},
              "targets_s": {"first": FIRST_TARGET_S, "repeat": REPEAT_TARGET_S}}
    with Server(url, instance, redis_url, workers=2, threads=4) as server, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        report["browser"] = browser.version
        log(f"{len(pages)} pages × {args.runs} runs on an emulated phone (Chromium {browser.version})")
        report["pages"] = measure(browser, server.url, pages, args.runs, args.cpu_slowdown)
        browser.close()
    report["finished"] = time.strftime("%Y-%m-%d %H:%M %Z")
    Path(args.out + ".json").write_text(json.dumps(report, indent=1, ensure_ascii=False))
    md = render(report)
    Path(args.out + ".md").write_text(md)
    print(md)
    if args.report and (RESULTS / f"{args.report}.json").exists():
        from bench.run import render as render_report

        (RESULTS / f"{args.report}.md").write_text(
            render_report(json.loads((RESULTS / f"{args.report}.json").read_text())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
