"""Disinfection's periodic sweep: slots for today and tomorrow, missed rounds, repeated misses as findings."""
from datetime import timedelta

from gridapp.extensions import db
from jobs import in_app_context, instant


@in_app_context
def sweep_disinfection(at: str | None = None) -> dict:
    """Make the slots of today and tomorrow, mark closed windows without a tick missed (notifying
    the responsible managers, and the secretary of a compound's third miss of a day), and turn
    points missed three days running into a supervision finding and rectification item for the
    place's responsible person; then sum each closed day into the day tallies that the compliance
    chart reads. Idempotent: a second run (or two at once) changes and notifies nothing."""
    from gridapp.disinfection.services import ensure_slots, mark_missed, raise_flags, tally_closed_days
    from gridapp.timeutil import town_today, utcnow

    now = instant(at) or utcnow()
    today = town_today(now)
    created = ensure_slots([today - timedelta(days=1), today, today + timedelta(days=1)], missing_only=True)
    result = {"slots": created, **mark_missed(now), **raise_flags(now)}
    result["tallied_days"] = tally_closed_days(today)
    db.session.commit()
    return result
