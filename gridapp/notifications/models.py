"""Notifications: the in-app inbox, the outbox of external deliveries, preferences,
and the group-robot webhooks registered for communities and grids."""
from datetime import time

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gridapp.extensions import db
from gridapp.timeutil import UTCDateTime, utcnow

CHANNELS = ("email", "sms", "webhook")
USER_CHANNELS = ("email", "sms")  # a person's own channels; webhooks belong to places
OUTBOX_STATES = ("pending", "sending", "sent", "failed")


class Notification(db.Model):
    """One entry in one person's inbox."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("user_id", "dedupe_key"),
        Index("ix_notifications_user_unread", "user_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(String(300), default="")
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    dedupe_key: Mapped[str] = mapped_column(String(200))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    read_at = mapped_column(UTCDateTime, nullable=True)


class OutboxMessage(db.Model):
    """One delivery on one external channel, written in the transaction of the change
    that caused it, then sent by an RQ job exactly once (claimed with a conditional update)."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_due", "status", "not_before"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    webhook_id: Mapped[int | None] = mapped_column(ForeignKey("group_webhooks.id", ondelete="SET NULL"))
    address: Mapped[str] = mapped_column(String(254), default="")  # e-mail address or phone
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    claimed_at = mapped_column(UTCDateTime, nullable=True)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    sent_at = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    webhook: Mapped["GroupWebhook | None"] = relationship()


class NotificationSetting(db.Model):
    """A person's quiet hours, in the town's zone."""

    __tablename__ = "notification_settings"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    quiet_start = mapped_column(Time, default=time(22, 0), nullable=False)
    quiet_end = mapped_column(Time, default=time(7, 0), nullable=False)


class NotificationPreference(db.Model):
    """A person's choice for one kind of notice on one channel (absent: the kind's default)."""

    __tablename__ = "notification_preferences"
    __table_args__ = (UniqueConstraint("user_id", "kind", "channel"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(16))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)


class GroupWebhook(db.Model):
    """A WeCom (企业微信) or DingTalk group robot that hears the notices of one place."""

    __tablename__ = "group_webhooks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"), index=True)
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(16))  # wecom | dingtalk
    name: Mapped[str] = mapped_column(String(100))
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(200), default="")  # DingTalk signing secret
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    @property
    def audit_name(self):
        return self.name


class NoticeMark(db.Model):
    """"Told once" for an item of a digest (a compound's misses of a day…): the sweep that
    inserts the key first tells it; every later one finds it there (see digest.py)."""

    __tablename__ = "notice_marks"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
