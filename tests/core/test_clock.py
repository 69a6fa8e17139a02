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
    from gridapp.duty.services import local_today

    clock.town("2026-11-30 00:30")  # Monday in the town, still Sunday in UTC
    assert timeutil.utcnow() == datetime(2026, 11, 29, 16, 30, tzinfo=UTC)
    assert timeutil.town_today().isoformat() == local_today().isoformat() == "2026-11-30"
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
