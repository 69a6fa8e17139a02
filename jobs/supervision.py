"""Supervision's periodic sweeps: deadline reminders to owners, and the escalation ladder."""
from datetime import datetime

from gridapp.extensions import db
from jobs import in_app_context


def _moment(at: str | None):
    """An ISO time; without an offset it is read in the town's zone."""
    if not at:
        return None
    from gridapp.timeutil import town_zone

    moment = datetime.fromisoformat(at)
    return moment if moment.tzinfo else moment.replace(tzinfo=town_zone())


@in_app_context
def remind_rectification(at: str | None = None) -> dict:
    """Owners hear when a quarter of the time is left and at the due time (once per due time)."""
    from gridapp.supervision.services import send_reminders

    result = send_reminders(_moment(at))
    db.session.commit()
    return result


@in_app_context
def escalate_rectification(at: str | None = None) -> dict:
    """Overdue items climb to the community secretary, then the town leader (once per level)."""
    from gridapp.supervision.services import escalate_overdue

    result = escalate_overdue(_moment(at))
    db.session.commit()
    return result
