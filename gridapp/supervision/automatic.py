"""Findings the system raises by itself (a disinfection point missed three days running …): a
system inspection of the place, then the finding and rectification item that the supervision
services make of it, addressed to the place's responsible person like any other finding.

The inspection and finding tables require a recorder, so these are recorded by one inactive
"system" account that cannot log in. Each finding carries a dedupe key, kept in the audit trail
("system_finding" on the item); the target's row is locked first (SELECT … FOR UPDATE, as the
duty and errand claims do; SQLite's BEGIN IMMEDIATE serialises writers anyway), so two sweeps
at once raise one finding: the second waits, then sees the first one's key.
"""
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from gridapp.audit.models import AuditEvent
from gridapp.audit.services import record
from gridapp.auth.models import User
from gridapp.duty.models import Checkpoint
from gridapp.extensions import db
from gridapp.grid.models import Community, Compound, WorkUnit
from gridapp.supervision import services as supervision
from gridapp.supervision.models import CATEGORIES, SEVERITIES, RectificationItem
from gridapp.timeutil import utcnow

SYSTEM_USERNAME = "__system__"
SYSTEM_DISPLAY_NAME = "系统"
_MARKER = "system_finding"
_TARGET_MODELS = {"community": Community, "compound": Compound, "work_unit": WorkUnit, "checkpoint": Checkpoint}


def system_account() -> User:
    """The inactive account system-raised inspections and findings are recorded by (made once,
    race-free: INSERT … ON CONFLICT DO NOTHING on the unique username). Its password hash is not
    a hash, so no password matches it."""
    user = db.session.scalars(select(User).where(User.username == SYSTEM_USERNAME)).first()
    if user is not None:
        return user
    dialect = db.session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(User)
    now = utcnow()
    db.session.execute(insert.values(username=SYSTEM_USERNAME, display_name=SYSTEM_DISPLAY_NAME, active=False,
                                     is_party_member=False, password_hash="!", created_at=now,
                                     password_changed_at=now)
                       .on_conflict_do_nothing(index_elements=["username"]))
    return db.session.scalars(select(User).where(User.username == SYSTEM_USERNAME)).one()


def _marker(dedupe_key: str) -> str:
    return f"dedupe: {dedupe_key}"


def existing_finding(dedupe_key: str) -> RectificationItem | None:
    item_id = db.session.scalar(select(AuditEvent.object_id).where(
        AuditEvent.action == _MARKER, AuditEvent.object_type == RectificationItem.__name__,
        AuditEvent.summary == _marker(dedupe_key)).order_by(AuditEvent.id).limit(1))
    return db.session.get(RectificationItem, item_id) if item_id is not None else None


def raise_system_finding(target_type: str, target_id: int, category: str, description: str, dedupe_key: str,
                         now: datetime | None = None, severity: str = "major",
                         summary: str = "") -> tuple[RectificationItem, bool]:
    """Record a finding on this place as the system, once per dedupe key: (item, True) when made
    now, (the earlier item, False) when the key was seen before. The item goes to the owner that
    supervision's TARGET_RESOLVERS name for the place, who is notified by record_finding()."""
    if category not in CATEGORIES or severity not in SEVERITIES:
        raise ValueError(f"unknown category or severity: {category!r}, {severity!r}")
    model = _TARGET_MODELS.get(target_type)
    if model is None:
        raise ValueError(f"unknown target type {target_type!r}")
    now = now or utcnow()
    # Serialise system findings about one place (the row stays locked until the commit).
    if db.session.execute(select(model.id).where(model.id == target_id).with_for_update()).first() is None:
        raise supervision.RuleError("the place does not exist")
    earlier = existing_finding(dedupe_key)
    if earlier is not None:
        return earlier, False
    system = system_account()
    inspection = supervision.plan_inspection(system, {
        "kind": "routine", "planned_at": now, "target_type": target_type, "target_id": target_id,
        "participants": "", "summary": summary or description})
    item = supervision.record_finding(inspection, system, {"category": category, "severity": severity,
                                                          "description": description}, now=now)
    record(_MARKER, item, summary=_marker(dedupe_key), actor=system)
    return item, True
