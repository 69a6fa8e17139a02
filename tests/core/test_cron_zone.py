"""rq cron reads crontab fields in its process's local time: jobs.cron makes that the town's zone,
whatever the server's own zone is."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import jobs.cron  # noqa: F401  (what `rq cron jobs.cron` imports first)
from rq.cron import CronJob

job = CronJob("default", func=print, cron="0 21 * * *")
job.latest_enqueue_time = datetime(2026, 11, 29, 0, 0, tzinfo=UTC)
print(job.get_next_enqueue_time().astimezone(ZoneInfo("Asia/Shanghai")).isoformat())
"""


@pytest.mark.parametrize("server_zone", ["UTC", "America/Los_Angeles", "Asia/Kolkata"])
def test_a_crontab_means_the_towns_time_whatever_the_servers_zone(server_zone):
    env = {**os.environ, "TZ": server_zone, "TIMEZONE": "Asia/Shanghai", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "2026-11-29T21:00:00+08:00"
