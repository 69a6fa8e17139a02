"""Errands' periodic sweep: expire stalled claims, chase urgent unclaimed, late and unconfirmed errands."""
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
def sweep_errands(at: str | None = None) -> dict:
    """Each part is one UPDATE … RETURNING plus notices with dedupe keys: running it twice, or
    two at once, moves and tells nothing the second time."""
    from gridapp.errands.services import sweep

    result = sweep(_moment(at))
    db.session.commit()
    return result
