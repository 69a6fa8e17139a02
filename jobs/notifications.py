"""Delivering the outbox: one job per row, and the relay that re-enqueues what is due."""

from gridapp.extensions import db
from gridapp.notifications import services
from gridapp.notifications.channels import failure_text, send
from gridapp.notifications.dispatch import enqueue_deliveries
from jobs import in_app_context, instant


@in_app_context
def deliver_outbox(outbox_id: int) -> str:
    """Claim the row, send it, mark it sent. Never sends a row twice: the claim is a
    conditional UPDATE, so a duplicate job (relay, retry, a second worker) does nothing."""
    delivery = services.claim(outbox_id)  # commits: no transaction stays open while sending
    if delivery is None:
        return "skipped"
    try:
        send(delivery)
    except Exception as exc:
        # Whatever went wrong (a refusal, or a mistyped setting raising something else) is
        # written on the row, which backs off and ends failed after its last attempt.
        db.session.rollback()
        services.record_failure(outbox_id, delivery.token, failure_text(exc, delivery))
        raise  # RQ's Retry (30 s, 2 min, 10 min, 1 h) and its failed registry take over
    services.mark_sent(outbox_id, delivery.token)
    return "sent"


@in_app_context
def relay_outbox(at: str | None = None) -> int:
    """Enqueue every outbox row that is due and not being sent (Redis outages, lost jobs,
    workers that died mid-delivery); a row whose worker died during its last attempt is
    marked failed instead. Safe to run twice at once."""
    now = instant(at)
    services.fail_abandoned(now)
    ids = services.due_outbox_ids(now)
    return enqueue_deliveries(ids, skip_active=True, raise_errors=True) if ids else 0
