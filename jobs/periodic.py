"""The periodic jobs: one table read by jobs/cron.py (rq cron) and `flask jobs`."""
from collections.abc import Callable
from dataclasses import dataclass

from gridapp.config import backup_cron, daily_report_cron
from jobs.announcements import publish_announcements
from jobs.disinfection import sweep_disinfection
from jobs.duty import generate_shifts, sweep_duty
from jobs.errands import sweep_errands
from jobs.maintenance import back_up, purge_expired_sessions, purge_import_files
from jobs.notifications import relay_outbox
from jobs.observation import sweep_observation
from jobs.privacy import purge_personal_data
from jobs.reports import daily_report
from jobs.screening import sweep_screening
from jobs.supervision import escalate_rectification, remind_rectification


@dataclass(frozen=True)
class Periodic:
    name: str
    func: Callable
    description: str
    interval: int | None = None  # seconds
    cron: str | None = None  # crontab in the town's zone (see jobs/cron.py)
    job_timeout: int = 300


PERIODIC_JOBS = [
    Periodic("relay-outbox", relay_outbox, "Enqueue notification deliveries still pending (Redis outages, lost jobs)",
             interval=30, job_timeout=120),
    Periodic("purge-sessions", purge_expired_sessions, "Delete ended and long-idle login sessions",
             cron="17 * * * *", job_timeout=120),
    Periodic("purge-import-files", purge_import_files,
             "Delete the uploaded files of imports left unconfirmed or failed past IMPORT_FILE_DAYS",
             cron="23 3 * * *", job_timeout=120),
    Periodic("purge-personal-data", purge_personal_data,
             "Erase personal data past its retention (RETENTION_* settings, docs/PRIVACY.md) and record the counts",
             cron="41 3 * * *", job_timeout=3600),
    Periodic("remind-rectification", remind_rectification,
             "Remind owners of rectification items before and at the due time", interval=300, job_timeout=240),
    Periodic("escalate-rectification", escalate_rectification,
             "Escalate overdue rectification items to the secretary, then the town leader", interval=300,
             job_timeout=240),
    Periodic("sweep-disinfection", sweep_disinfection,
             "Make today's disinfection slots, mark closed windows missed and tell who is responsible",
             interval=300, job_timeout=240),
    Periodic("sweep-observation", sweep_observation,
             "End home observations past their last day (or extend them a day), make the day's checks, "
             "chase checks not recorded", interval=300, job_timeout=240),
    Periodic("generate-shifts", generate_shifts, "Make the duty shifts of the next 14 days", cron="7 * * * *",
             job_timeout=600),
    Periodic("sweep-duty", sweep_duty,
             "Remind people before their shifts, alert grid staff of gaps, list no-shows to confirm",
             interval=300, job_timeout=240),
    Periodic("sweep-errands", sweep_errands,
             "Expire stalled errand claims; chase urgent unclaimed, late and unconfirmed errands",
             interval=60, job_timeout=50),
    Periodic("publish-announcements", publish_announcements,
             "Publish the announcements whose time has come", interval=60, job_timeout=50),
    Periodic("sweep-screening", sweep_screening,
             "Add households registered since a screening campaign opened; remind of households still to visit",
             interval=900, job_timeout=600),
    Periodic("daily-report", daily_report,
             "Write and send the day's daily reports (town and communities) at DAILY_REPORT_TIME",
             cron=daily_report_cron(), job_timeout=600),
    Periodic("backup", back_up, "Back up the database and the photos into BACKUP_DIR, keeping BACKUP_KEEP",
             cron=backup_cron(), job_timeout=4 * 3600),
]


def by_name(name: str) -> Periodic | None:
    return next((p for p in PERIODIC_JOBS if p.name == name), None)
