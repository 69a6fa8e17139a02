"""The dedupe keys of duty's notices, one format each: the services notify with them and the
benchmark seeder (bench/seed/duty.py) writes its history with them, so the sweeps recognise it."""


def shift_gap(shift_id: int, alert: int) -> str:
    """The gap alert of a short shift; `alert` counts the times it fell short (Shift.gap_alerts)."""
    return f"shift-gap:{shift_id}:{alert}"


def shift_reminder(signup_id: int) -> str:
    return f"shift-reminder:{signup_id}"


def shift_noshow(shift_id: int) -> str:
    return f"shift-noshow:{shift_id}"
