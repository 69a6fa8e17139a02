"""Supervision's periodic sweeps: deadline reminders to owners, and the escalation ladder."""

from gridapp.extensions import db
from jobs import in_app_context, instant


@in_app_context
def remind_rectification(at: str | None = None) -> dict:
    """Owners hear when a quarter of the time is left and at the due time (once per due time)."""
    from gridapp.supervision.services import send_reminders

    result = send_reminders(instant(at))
    db.session.commit()
    return result


@in_app_context
def escalate_rectification(at: str | None = None) -> dict:
    """Overdue items climb to the community secretary, then the town leader (once per level)."""
    from gridapp.supervision.services import escalate_overdue

    result = escalate_overdue(instant(at))
    db.session.commit()
    return result
