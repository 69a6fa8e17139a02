"""Periodic jobs for `rq cron jobs.cron` (exactly one such process runs)."""
from rq import cron

from jobs.periodic import PERIODIC_JOBS

for _job in PERIODIC_JOBS:
    cron.register(_job.func, "default", interval=_job.interval, cron=_job.cron,
                  job_timeout=_job.job_timeout, name=_job.name)
