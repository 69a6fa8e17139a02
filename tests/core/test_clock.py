"""The one clock: pinned by tests, shifted for a whole run, refused shifted in production."""
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gridapp import timeutil
from gridapp.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parents[2]


def test_the_clock_fixture_pins_every_reader(clock, make_client, world):
    clock.town("2026-11-30 00:30")  # Monday in the town, still Sunday in UTC
    assert timeutil.utcnow() == datetime(2026, 11, 29, 16, 30, tzinfo=UTC)
    assert timeutil.town_today().isoformat() == "2026-11-30"
    clock.advance(timedelta(hours=23, minutes=29))
    assert timeutil.town_today().isoformat() == "2026-11-30"
    clock.advance(timedelta(minutes=1))
    assert timeutil.town_today().isoformat() == "2026-12-01"


def test_a_shifted_clock_reaches_a_new_process_and_runs_on():
    offset = (datetime(2031, 2, 3, 4, 5, tzinfo=UTC) - datetime.now(UTC)).total_seconds()
    env = {**os.environ, "GRIDAPP_CLOCK_OFFSET": str(offset), "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", "from gridapp.timeutil import utcnow; print(utcnow().isoformat())"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    seen = datetime.fromisoformat(out.stdout.strip())
    assert timedelta(0) <= seen - datetime(2031, 2, 3, 4, 5, tzinfo=UTC) < timedelta(seconds=30)


def test_a_shifted_clock_is_refused_in_production(monkeypatch, tmp_path):
    monkeypatch.setenv("GRIDAPP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("GRIDAPP_CLOCK_OFFSET", "3600")
    with pytest.raises(ConfigError, match="GRIDAPP_CLOCK_OFFSET"):
        load_config(tmp_path)


def test_the_towns_days_and_weeks():
    from datetime import date

    shanghai_midnight = datetime(2026, 11, 29, 16, 0, tzinfo=UTC)  # Monday 30 November, 00:00 in the town
    assert timeutil.town_midnight(date(2026, 11, 30)) == shanghai_midnight
    assert timeutil.town_days(date(2026, 11, 30), date(2026, 12, 1)) == (
        shanghai_midnight, shanghai_midnight + timedelta(days=2))
    monday_0030 = shanghai_midnight + timedelta(minutes=30)
    assert timeutil.town_day_and_week_start(monday_0030) == (shanghai_midnight, shanghai_midnight)
    sunday_2330 = shanghai_midnight - timedelta(minutes=30)  # Sunday 29 November in the town
    assert timeutil.town_day_and_week_start(sunday_2330) == (
        shanghai_midnight - timedelta(days=1), shanghai_midnight - timedelta(days=7))


@pytest.mark.parametrize("at,expected", [
    (None, None),
    ("", None),
    ("2026-12-01T03:00:00+08:00", datetime(2026, 11, 30, 19, 0, tzinfo=UTC)),
    ("2026-12-01T03:00:00", datetime(2026, 11, 30, 19, 0, tzinfo=UTC)),  # no offset: the town's time
    ("2026-11-30T19:00:00Z", datetime(2026, 11, 30, 19, 0, tzinfo=UTC)),
])
def test_a_jobs_at_is_one_instant_in_utc(app, at, expected):
    from jobs import instant

    moment = instant(at)
    assert moment == expected
    assert moment is None or moment.utcoffset() == timedelta(0)


@pytest.mark.parametrize("job", ["jobs.maintenance.purge_expired_sessions", "jobs.notifications.relay_outbox",
                                 "jobs.supervision.escalate_rectification", "jobs.errands.sweep_errands"])
def test_every_periodic_job_takes_an_at_without_an_offset(app, world, job):
    """As `flask jobs run` and the README describe: a time without an offset is the town's."""
    import importlib

    module, name = job.rsplit(".", 1)
    getattr(importlib.import_module(module), name)(at="2026-12-01T03:00:00")
