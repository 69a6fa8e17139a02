"""Writing audit events in the caller's transaction, and reading them back."""
from flask import has_request_context, request
from flask_login import current_user

from gridapp.audit.models import AuditEvent
from gridapp.extensions import db


def client_ip() -> str:
    if not has_request_context():
        return ""
    return (request.remote_addr or "")[:64]


def _object_name(obj) -> str:
    for attr in ("audit_name", "name", "username", "label"):
        value = getattr(obj, attr, None)
        if value:
            return str(value)[:200]
    return ""


def record(action: str, obj=None, summary: str = "", actor=None, object_name: str | None = None) -> AuditEvent:
    """Add an audit event to the current session; it commits with the change it describes."""
    if actor is None and has_request_context() and current_user and current_user.is_authenticated:
        actor = current_user
    event = AuditEvent(
        actor_id=getattr(actor, "id", None),
        actor_name=(getattr(actor, "username", "") or "")[:100],
        action=action,
        object_type=type(obj).__name__ if obj is not None else "",
        object_id=getattr(obj, "id", None),
        object_name=object_name if object_name is not None else (_object_name(obj) if obj is not None else ""),
        summary=summary,
        ip=client_ip(),
    )
    db.session.add(event)
    return event


def describe_changes(before: dict, after: dict, personal: frozenset = frozenset()) -> str:
    """'field: old → new' for each changed field; personal fields are named, never shown."""
    parts = []
    for key, new in after.items():
        old = before.get(key)
        if old == new:
            continue
        if key in personal:
            parts.append(f"{key}: changed")
        else:
            parts.append(f"{key}: {'' if old is None else old} → {'' if new is None else new}")
    return "; ".join(parts)


def snapshot(obj, fields) -> dict:
    return {f: getattr(obj, f) for f in fields}


def search_events(actor: str = "", action: str = "", object_type: str = ""):
    """The filtered audit trail, newest first (a select for db.paginate)."""
    stmt = db.select(AuditEvent).order_by(AuditEvent.id.desc())
    if actor:
        stmt = stmt.where(AuditEvent.actor_name == actor)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    if object_type:
        stmt = stmt.where(AuditEvent.object_type == object_type)
    return stmt
