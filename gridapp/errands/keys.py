"""The dedupe keys of errands' notices, one format each: the services notify with them and the
benchmark seeder (bench/seed/errands.py) writes its history with them, so the sweeps recognise it."""
from datetime import datetime


def errand_claimed(errand_id: int, claimed_at: datetime) -> str:
    """The filer told of a claim; a later claim (after a release or expiry) is told again."""
    return f"errand-claimed:{errand_id}:{claimed_at.isoformat()}"


def errand_delivered(errand_id: int) -> str:
    return f"errand-delivered:{errand_id}"


def errand_confirmed(errand_id: int) -> str:
    return f"errand-confirmed:{errand_id}"


def errand_overdue(errand_id: int) -> str:
    return f"errand-overdue:{errand_id}"


def errand_unconfirmed(errand_id: int) -> str:
    return f"errand-unconfirmed:{errand_id}"


def errand_urgent_unclaimed(errand_id: int, opened_at: datetime) -> str:
    """An urgent errand nobody claimed in time, once per time it was opened (Errand.opened_at)."""
    return f"errand-urgent-unclaimed:{errand_id}:{opened_at.isoformat()}"
