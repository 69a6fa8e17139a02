"""The dedupe keys of supervision's notices, one format each: the services notify with them and the
benchmark seeder (bench/seed/supervision.py) writes its history with them, so the sweeps recognise it."""
from datetime import datetime


def supervision_issued(item_id: int) -> str:
    return f"supervision-issued:{item_id}"


def supervision_rejected(item_id: int, due_at: datetime) -> str:
    """The owner told of a rejection, with the new due time the rejection set."""
    return f"supervision-rejected:{item_id}:{due_at.isoformat()}"


def supervision_warn(item_id: int, due_at: datetime) -> str:
    """The reminder before `due_at`; a later deadline is announced again."""
    return f"supervision-warn:{item_id}:{due_at.isoformat()}"


def supervision_due(item_id: int, due_at: datetime) -> str:
    return f"supervision-due:{item_id}:{due_at.isoformat()}"


def supervision_escalation(item_id: int, level: int) -> str:
    return f"supervision-escalation:{item_id}:{level}"
