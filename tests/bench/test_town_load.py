"""bench.town, the town-shaped load: the whole run — dataset, gunicorn and RQ workers, logins through
/login, locust's steps, wrk on the trivial view, the report — at the tiny level, on the tests'
database kind (SQLite, or PostgreSQL in a database of its own), with a few users for a few seconds.
Every step answered requests and none failed. Figures are not judged here."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from bench.run import ROOT
from bench.town import ensure_locust
from tests.conftest import TEST_DATABASE_URL


@pytest.fixture
def database_url(tmp_path):
    if not TEST_DATABASE_URL or not TEST_DATABASE_URL.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'town-load.db'}"
        return
    import psycopg

    server = TEST_DATABASE_URL.rsplit("/", 1)[0]
    url = f"{server}/gridapp_load_test_{os.getpid()}"
    yield url
    with psycopg.connect(server + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def test_a_small_town_load_runs_its_steps_without_failures(database_url, tmp_path):
    try:
        ensure_locust()  # its own virtualenv, made once (a few seconds from the package index)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"the load generator's virtualenv (.venv-load) could not be made: {exc}")
    cmd = [sys.executable, "-m", "bench.town", "--level", "tiny", "--database-url", database_url,
           "--redis-url", "embedded", "--users", "5,9", "--refine", "0", "--mix", "5,2,2", "--think", "0.5,1",
           "--duration", "3", "--spawn-seconds", "1", "--logins", "4",
           "--ping-duration", "1" if shutil.which("wrk") else "0", "--output", "town", "--out-dir", str(tmp_path)]
    run = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]

    report = json.loads((tmp_path / "town.json").read_text())
    steps = report["steps"]
    assert [s["users"] for s in steps][:1] == [5]
    for step in steps:
        assert step["requests"] > 0, step
        assert step["failures"] == 0, step["failure_kinds"]
    # Every role took part: the volunteers', managers' and staff's pages were all opened.
    opened = {name.rsplit("[", 1)[1].rstrip("]") for s in steps for name in s["endpoints"]}
    assert {"volunteer", "property_manager"} <= opened and opened - {"volunteer", "property_manager"}
    assert report["identities"]["logins"] == 9
    assert report["result"]["max_users"] in (0, 5, 9)
    md = (tmp_path / "town.md").read_text()
    assert "Most concurrent active users served with p95 < 500 ms" in md


def test_the_climb_stops_at_the_first_step_over_the_line_and_refines_between(monkeypatch):
    """bench.town.climb with the step itself replaced (a unit test of the search, not of the load):
    up the steps until one is over the line, then halfway between the last good and the last bad."""
    from types import SimpleNamespace

    import bench.town as town

    limit = 1000  # the fake machine serves up to 1,000 users
    monkeypatch.setattr(town, "CpuMeter", lambda *a: None)
    monkeypatch.setattr(town, "run_step", lambda _l, _s, _i, users, *_a: {"users": users, "good": users <= limit})
    args = SimpleNamespace(users=[110, 550, 1100, 1650], refine=3, database_name="x")
    steps = town.climb(None, None, None, args, None)
    assert [s["users"] for s in steps] == [110, 550, 1100, 825, 962, 1031]
    assert max(s["users"] for s in steps if s["good"]) == 962

    args = SimpleNamespace(users=[110, 550], refine=2, database_name="x")  # never over the line
    assert [s["users"] for s in town.climb(None, None, None, args, None)] == [110, 550]
