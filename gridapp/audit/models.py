"""The append-only audit trail: who did what to which object, when, from where."""
from sqlalchemy import ForeignKey, Integer, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from gridapp.extensions import db
from gridapp.timeutil import UTCDateTime, utcnow


class AuditEvent(db.Model):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    actor_name: Mapped[str] = mapped_column(String(100), default="")
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(64), default="")
    object_id: Mapped[int | None] = mapped_column(Integer)
    object_name: Mapped[str] = mapped_column(String(200), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    ip: Mapped[str] = mapped_column(String(64), default="")


class AppendOnlyError(RuntimeError):
    pass


@event.listens_for(AuditEvent, "before_update")
def _refuse_update(mapper, connection, target):
    raise AppendOnlyError("audit events are append-only")


@event.listens_for(AuditEvent, "before_delete")
def _refuse_delete(mapper, connection, target):
    raise AppendOnlyError("audit events are append-only")
