"""The dedupe keys of outbox rows: an event's key (the notice's) and where the row goes, one format
each, for notify() and for the benchmark seeder's history (bench/seed/notifications.py)."""


def to_person(event_key: str, channel: str, user_id: int) -> str:
    """The row that takes the notice `event_key` to one person by `channel` (sms, email)."""
    return f"{event_key}:{channel}:u{user_id}"


def to_webhook(event_key: str, webhook_id: int) -> str:
    """The row that takes the notice `event_key` to one group robot."""
    return f"{event_key}:webhook:{webhook_id}"
