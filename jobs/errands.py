"""Errands' periodic sweep: expire stalled claims, chase urgent unclaimed, late and unconfirmed errands."""

from gridapp.extensions import db
from jobs import in_app_context, instant


@in_app_context
def sweep_errands(at: str | None = None) -> dict:
    """Each part is one UPDATE … RETURNING plus notices with dedupe keys: running it twice, or
    two at once, moves and tells nothing the second time."""
    from gridapp.errands.services import sweep

    result = sweep(instant(at))
    db.session.commit()
    return result
