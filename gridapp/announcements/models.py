"""An announcement, and each person of its audience (resolved when it is published) with the time
they read it."""
from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gridapp.auth.models import User
from gridapp.extensions import db
from gridapp.timeutil import UTCDateTime, utcnow


class Announcement(db.Model):
    __tablename__ = "announcements"
    __table_args__ = (Index("ix_announcements_due", "published_at", "publish_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    image: Mapped[str | None] = mapped_column(String(80))  # a stored upload (gridapp/uploads.py)
    # The audience: roles (comma-separated) × places ("town", or "community:<id>" comma-separated).
    roles: Mapped[str] = mapped_column(String(200))
    places: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    publish_at = mapped_column(UTCDateTime, nullable=False)
    published_at = mapped_column(UTCDateTime, nullable=True)
    audience_size: Mapped[int] = mapped_column(Integer, default=0)

    author: Mapped[User] = relationship()

    @property
    def role_list(self) -> list[str]:
        return [r for r in self.roles.split(",") if r]

    @property
    def place_list(self) -> list[str]:
        return [p for p in self.places.split(",") if p]

    @property
    def audit_name(self) -> str:
        return self.title


class AnnouncementRecipient(db.Model):
    """One person of an announcement's audience; read_at once they opened it."""

    __tablename__ = "announcement_recipients"
    __table_args__ = (Index("ix_announcement_recipients_user", "user_id", "read_at"),)

    announcement_id: Mapped[int] = mapped_column(ForeignKey("announcements.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    read_at = mapped_column(UTCDateTime, nullable=True)
