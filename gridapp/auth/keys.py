"""The dedupe key of the message that carries an invitation's link (its outbox rows are found by it)."""


def invitation(invitation_id: int) -> str:
    return f"invitation:{invitation_id}"
