"""Periodic jobs for `rq cron jobs.cron` (exactly one such process runs).

rq cron matches crontab fields against the local time of its process. This module sets that
local time to the town's zone (TIMEZONE, Asia/Shanghai by default) before anything is scheduled,
so "0 21 * * *" means 21:00 in the town whatever the server's own zone is."""
import logging
import os
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from rq import cron

from jobs.periodic import PERIODIC_JOBS


def _zone_file(name: str) -> str:
    """The zone as the C library reads it: the system's zoneinfo, else the tzdata package's file."""
    system = Path("/usr/share/zoneinfo") / name
    if system.is_file():
        return name
    import tzdata

    return ":" + str(Path(tzdata.__file__).parent / "zoneinfo" / name)


def use_town_zone(name: str | None = None) -> str:
    name = name or os.environ.get("TIMEZONE") or "Asia/Shanghai"
    os.environ["TZ"] = _zone_file(name)
    time.tzset()
    now = datetime.now()
    if now.astimezone().utcoffset() != now.astimezone(ZoneInfo(name)).utcoffset():
        logging.getLogger(__name__).warning("could not set the scheduler's zone to %s: crontabs run in %s",
                                            name, time.tzname[0])
    return name


use_town_zone()
for _job in PERIODIC_JOBS:
    cron.register(_job.func, "default", interval=_job.interval, cron=_job.cron,
                  job_timeout=_job.job_timeout, name=_job.name)
