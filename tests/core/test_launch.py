"""The first run: `make run`'s own seeding path fills every module of the demo town at any hour, two
instances run side by side, and a start by the Procfile alone (no make) speaks Chinese."""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from gridapp import create_app
from gridapp.auth.models import RoleAssignment, User
from gridapp.demo import DEMO_PASSWORD
from gridapp.disinfection.models import DisinfectionPoint, DisinfectionRound, DisinfectionSlot
from gridapp.duty.models import Checkpoint, Shift, Signup
from gridapp.duty.services import check_in_open
from gridapp.errands.models import Errand
from gridapp.extensions import db
from gridapp.grid.models import Community, Compound, PropertyCompany
from gridapp.launch import prepare, read_procfile
from gridapp.notifications.models import Notification
from gridapp.reports.models import DailyReport
from gridapp.supervision.models import RectificationItem
from gridapp.timeutil import town_today, utcnow
from tests.conftest import test_config

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _demo_app(tmp_path, app):
    """An app on an empty SQLite database of its own, as `make run` makes it on a fresh clone."""
    return create_app(test_config(INSTANCE_PATH=str(tmp_path), TESTING=False, REDIS_URL=app.config["REDIS_URL"],
                                  SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'gridapp.db'}"))


def _volunteers_without_a_shift_to_check_into(now) -> list[str]:
    volunteers = db.session.scalars(select(User).join(RoleAssignment, RoleAssignment.user_id == User.id)
                                    .where(RoleAssignment.role == "volunteer")).all()
    signups = db.session.scalars(select(Signup).where(Signup.status == "signed_up")).all()
    ready = {s.user_id for s in signups if check_in_open(s, now)}
    return [v.username for v in volunteers if v.id not in ready]


@pytest.mark.parametrize("town_time", ["2026-11-30 02:10", "2026-11-25 10:00", "2026-11-28 23:50"])
def test_the_launcher_seeds_a_town_that_has_run_for_a_week(app, tmp_path, clock, town_time):
    now = clock.town(town_time)
    demo = _demo_app(tmp_path, app)
    assert prepare(demo) == "seeded"
    with demo.app_context():
        count = lambda model, *where: db.session.scalar(select(func.count()).select_from(model).where(*where))  # noqa: E731
        assert count(Checkpoint) == 107 and count(Shift) > 107 * 3 * 14
        # Duty: a past with check-ins, check-outs and a few no-shows, and someone on duty now.
        statuses = dict(db.session.execute(select(Signup.status, func.count()).group_by(Signup.status)).all())
        assert statuses["checked_out"] > 50 and statuses["no_show"] > 0
        assert count(Signup, Signup.checked_in_at.is_not(None), Signup.checked_out_at.is_not(None)) == \
            statuses["checked_out"]
        assert _volunteers_without_a_shift_to_check_into(now) == []
        # Disinfection: rounds behind the done slots (who, when, with what), misses and their notices.
        assert count(DisinfectionPoint) > 50
        done = count(DisinfectionSlot, DisinfectionSlot.status == "done")
        assert done > 1000 and count(DisinfectionSlot, DisinfectionSlot.status == "done",
                                     DisinfectionSlot.done_by_id.is_(None)) == 0
        assert count(DisinfectionRound) == done
        assert count(DisinfectionRound, DisinfectionRound.disinfectant != "") > done // 2
        assert count(DisinfectionSlot, DisinfectionSlot.status == "missed") > 0
        assert count(Notification, Notification.kind == "disinfection_missed") > 0
        due_by_company = set(db.session.scalars(
            select(Compound.property_company_id).join(DisinfectionPoint, DisinfectionPoint.compound_id == Compound.id)
            .join(DisinfectionSlot, DisinfectionSlot.point_id == DisinfectionPoint.id)
            .where(DisinfectionSlot.status == "pending", DisinfectionSlot.starts_at <= now,
                   DisinfectionSlot.ends_at > now)))
        assert set(db.session.scalars(select(PropertyCompany.id))) <= due_by_company, \
            "every property manager has a round due at any hour"
        # Errands in every state, supervision items at every escalation level.
        assert set(db.session.scalars(select(Errand.status).distinct())) == {
            "open", "claimed", "purchased", "delivered", "confirmed", "cancelled"}
        assert set(db.session.scalars(select(RectificationItem.escalation_level).distinct())) == {0, 1, 2}
        # Yesterday's daily reports, for the town and each community, are there to read.
        yesterday = town_today(now) - timedelta(days=1)
        assert db.session.scalar(select(func.count(DailyReport.id)).where(DailyReport.day == yesterday)) == \
            1 + db.session.scalar(select(func.count(Community.id)))

    # Started again nine hours later, the demo is kept alive: someone can check in now.
    later = clock.advance(timedelta(hours=9))
    assert prepare(demo) == "livened"
    with demo.app_context():
        assert _volunteers_without_a_shift_to_check_into(later) == []
        assert utcnow() == later


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str, proc: subprocess.Popen, seconds: int = 180) -> requests.Response:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{url}: the process ended with {proc.returncode}: {proc.stdout.read()[-3000:]}")
        try:
            resp = requests.get(url, timeout=10)
            if resp.status_code == 200:
                return resp
        except requests.RequestException:  # not listening yet, or busy starting
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} did not answer in {seconds} s")


def _stop(proc: subprocess.Popen) -> str:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    return proc.stdout.read() if proc.stdout else ""


def _clean_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("REDIS_URL", "DATABASE_URL", "TEST_DATABASE_URL", "GRIDAPP_ENV", "SECRET_KEY")}
    env.update({k: str(v) for k, v in extra.items()})
    return env


@pytest.mark.skipif(bool(os.environ.get("TEST_DATABASE_URL")),
                    reason="runs on SQLite whatever the pass (make run's defaults): the SQLite pass runs it")
def test_two_make_runs_side_by_side(tmp_path):
    """`make run` twice on one machine, each with its own port and instance folder: both serve the
    demo with an embedded Redis, and stopping one leaves the other whole. Neither leaves a control
    socket in the home directory, where two gunicorns would clash (one removing the other's)."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    home = tmp_path / "home"
    home.mkdir()
    runs = []
    try:
        for name in ("a", "b"):
            port = _free_port()
            env = _clean_env(PORT=port, GRIDAPP_INSTANCE=tmp_path / name, HOME=home)
            proc = subprocess.Popen(["make", "-s", "run"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True, start_new_session=True)
            runs.append((proc, f"http://127.0.0.1:{port}"))
        for proc, url in runs:
            health = _wait_for(url + "/healthz", proc).json()
            assert health["database"] == "ok" and health["redis"] == "ok"
            assert "登录" in requests.get(url + "/login", timeout=10).text
        (first, _url_a), (second, url_b) = runs
        _stop(first)
        session = requests.Session()
        page = session.get(url_b + "/login", timeout=10).text
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        resp = session.post(url_b + "/login", data={"csrf_token": token, "username": "vol1",
                                                    "password": DEMO_PASSWORD}, timeout=10)
        assert resp.status_code == 200 and "志愿者" in resp.text
        mine = session.get(url_b + "/duty/mine", timeout=10)
        assert mine.status_code == 200 and "签到" in mine.text
        assert second.poll() is None
        assert not (home / ".gunicorn").exists()
    finally:
        for proc, _url in runs:
            _stop(proc)


def _tracked_files() -> list[str]:
    try:
        out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
        return [line for line in out.splitlines() if (ROOT / line).is_file()]
    except (OSError, subprocess.CalledProcessError):
        skip = {".venv", "instance", ".git", "test-artifacts", "__pycache__"}
        return [str(p.relative_to(ROOT)) for p in ROOT.rglob("*")
                if p.is_file() and not skip & set(p.relative_to(ROOT).parts) and p.suffix != ".mo"]


@pytest.mark.skipif(bool(os.environ.get("TEST_DATABASE_URL")),
                    reason="runs on SQLite whatever the pass (make run's defaults): the SQLite pass runs it")
def test_a_procfile_start_without_make_speaks_chinese(app, tmp_path):
    """The README's Production steps on a fresh copy of the sources (no make, so no compiled
    catalogue): `flask db upgrade`, then the Procfile's web process serves Chinese."""
    src = tmp_path / "src"
    for rel in _tracked_files():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, src / rel)
    assert not list(src.rglob("*.mo"))
    port = _free_port()
    env = _clean_env(GRIDAPP_ENV="production", SECRET_KEY="procfile-test-secret", PORT=port,
                     GRIDAPP_INSTANCE=tmp_path / "instance", FLASK_APP="wsgi", REDIS_URL=app.config["REDIS_URL"],
                     DATABASE_URL=f"sqlite:///{tmp_path / 'prod.db'}", PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    env.pop("GRIDAPP_CLOCK_OFFSET", None)  # refused in production
    upgrade = subprocess.run([str(BIN / "flask"), "db", "upgrade"], cwd=src, env=env, capture_output=True,
                             text=True, timeout=120)
    assert upgrade.returncode == 0, upgrade.stderr
    web = subprocess.Popen(["sh", "-c", "exec " + read_procfile(src / "Procfile")["web"]], cwd=src, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        page = _wait_for(f"http://127.0.0.1:{port}/login", web).text
        assert '<html lang="zh-Hans">' in page and "登录" in page and "用户名或手机号" in page
    finally:
        _stop(web)
    assert (tmp_path / "instance" / "translations" / "zh" / "LC_MESSAGES" / "messages.mo").is_file()
