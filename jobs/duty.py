"""Duty roster jobs: shifts 14 days ahead, reminders before shifts, gap alerts, no-shows to confirm."""

from gridapp.extensions import db
from jobs import in_app_context, instant


@in_app_context
def generate_shifts(at: str | None = None) -> dict:
    """Make the missing shifts of the next 14 days (idempotent: unique checkpoint × day × shift)."""
    from gridapp.duty import services
    from gridapp.timeutil import utcnow

    made = services.generate_shifts(instant(at) or utcnow())
    db.session.commit()
    return {"shifts": made}


@in_app_context
def sweep_duty(at: str | None = None) -> dict:
    """Remind people of shifts starting within 2 h (once each), alert the grid staff of shifts within
    24 h below their minimum (once per gap), and list ended shifts' missing people as no-shows to
    confirm. Each step claims its rows with one UPDATE … RETURNING, so a second run does nothing."""
    from gridapp.duty import services
    from gridapp.timeutil import utcnow

    now = instant(at) or utcnow()
    result = {"reminded": services.send_reminders(now), "gap_notices": services.gap_alerts(now),
              "no_show_shifts": services.list_no_shows(now)}
    db.session.commit()
    return result
