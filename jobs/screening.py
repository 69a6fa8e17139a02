"""Screening's periodic sweep: visits for households registered since a campaign opened, and the
reminder ladder near each campaign's end."""

from gridapp.extensions import db
from jobs import in_app_context, instant


@in_app_context
def sweep_screening(at: str | None = None) -> dict:
    """Add the households registered since, then remind the building heads, the grid members and the
    secretaries of households still to visit (once per rung and place)."""
    from gridapp.screening.services import sweep

    result = sweep(instant(at))
    db.session.commit()
    return result
