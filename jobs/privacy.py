"""Privacy jobs: the nightly purge of personal data past its retention, and the purge that follows
the closing of the emergency (gridapp/privacy/retention.py and emergency.py)."""
from gridapp.privacy import emergency, retention
from jobs import in_app_context, instant


@in_app_context
def purge_personal_data(at: str | None = None) -> dict[str, int]:
    """Erase what has outlived its retention (and run a closing's purge that never ran); the counts."""
    now = instant(at)
    for run_id in emergency.waiting(now):
        emergency.run_purge(run_id, now)
    return retention.nightly(now).counts


@in_app_context
def purge_after_emergency(run_id: int, at: str | None = None) -> dict[str, int] | None:
    """The purge a closing of the emergency asked for; None when it already ran (or is running)."""
    return emergency.run_purge(run_id, instant(at))
