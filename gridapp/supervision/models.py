"""Tables of supervision: inspections, findings, rectification items with their history and
comments, interviews (约谈) and circulars (通报)."""
from sqlalchemy import Column, Date, ForeignKey, Index, Integer, SmallInteger, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gridapp.auth.models import User
from gridapp.extensions import db
from gridapp.timeutil import UTCDateTime, utcnow

INSPECTION_KINDS = ("routine", "unannounced", "follow_up")
TARGET_TYPES = ("community", "compound", "work_unit", "checkpoint")
CATEGORIES = ("checkpoint_unstaffed", "no_temperature_check", "registration_incomplete", "disinfection_missed",
              "sanitation", "other")
SEVERITIES = ("minor", "major", "critical")
ITEM_STATES = ("issued", "acknowledged", "submitted", "verified", "rejected")
# The clock runs in these states; submitting stops it, verifying ends it.
CLOCK_STATES = ("issued", "acknowledged", "rejected")


inspection_participants = Table(
    "supervision_inspection_participants", db.metadata,
    Column("inspection_id", ForeignKey("supervision_inspections.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)


class Inspection(db.Model):
    __tablename__ = "supervision_inspections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), default="routine")
    planned_at = mapped_column(UTCDateTime, nullable=False)
    target_type: Mapped[str] = mapped_column(String(20))
    target_id: Mapped[int] = mapped_column(Integer)
    target_name: Mapped[str] = mapped_column(String(200), default="")
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"), index=True)
    participants: Mapped[str] = mapped_column(String(300), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    # Members of the supervision team who took part; `participants` keeps anyone else by name.
    team: Mapped[list[User]] = relationship(secondary=inspection_participants, order_by="User.display_name")
    findings: Mapped[list["Finding"]] = relationship(back_populates="inspection", order_by="Finding.id")

    @property
    def audit_name(self):
        return self.target_name


class Finding(db.Model):
    __tablename__ = "supervision_findings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("supervision_inspections.id"), index=True)
    category: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(10))
    description: Mapped[str] = mapped_column(Text)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    inspection: Mapped[Inspection] = relationship(back_populates="findings")
    item: Mapped["RectificationItem"] = relationship(back_populates="finding", uselist=False)


class RectificationItem(db.Model):
    """整改事项: one finding's rectification, with its owner, due time and escalation level.

    Times that the sweeps compare (warn_at, due_at, level2_due_at) are computed when the
    clock (re)starts, so that the sweeps are plain comparisons on any database."""

    __tablename__ = "supervision_items"
    __table_args__ = (
        Index("ix_supervision_items_status_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("supervision_findings.id"), unique=True)
    target_type: Mapped[str] = mapped_column(String(20))
    target_id: Mapped[int] = mapped_column(Integer)
    target_name: Mapped[str] = mapped_column(String(200), default="")
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"), index=True)
    category: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(10))
    description: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="issued")
    issued_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    clock_started_at = mapped_column(UTCDateTime, nullable=False)
    due_at = mapped_column(UTCDateTime, nullable=False)
    warn_at = mapped_column(UTCDateTime, nullable=False)
    level2_due_at = mapped_column(UTCDateTime, nullable=False)
    warned_at = mapped_column(UTCDateTime, nullable=True)  # for the current due time
    due_notified_at = mapped_column(UTCDateTime, nullable=True)  # for the current due time
    escalation_level: Mapped[int] = mapped_column(SmallInteger, default=0)
    level1_at = mapped_column(UTCDateTime, nullable=True)
    level2_at = mapped_column(UTCDateTime, nullable=True)
    acknowledged_at = mapped_column(UTCDateTime, nullable=True)
    submitted_at = mapped_column(UTCDateTime, nullable=True)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    evidence: Mapped[str] = mapped_column(Text, default="")
    verified_at = mapped_column(UTCDateTime, nullable=True)
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reject_reason: Mapped[str] = mapped_column(Text, default="")

    finding: Mapped[Finding] = relationship(back_populates="item")
    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])
    verified_by: Mapped[User | None] = relationship(foreign_keys=[verified_by_id])
    photos: Mapped[list["Photo"]] = relationship(order_by="Photo.id", viewonly=True)

    @property
    def audit_name(self):
        return f"#{self.id} {self.target_name}"


PHOTO_KINDS = ("finding", "evidence")


class Photo(db.Model):
    """A photo of an item: taken with the finding, or sent with the evidence. The file lives in
    the private uploads folder (gridapp.uploads) and is served only to those who see the item."""

    __tablename__ = "supervision_photos"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("supervision_items.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class ItemEvent(db.Model):
    """One step in an item's history: who did what, when (the sweeps' escalations too)."""

    __tablename__ = "supervision_item_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("supervision_items.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    actor: Mapped[User | None] = relationship()


class ItemComment(db.Model):
    __tablename__ = "supervision_item_comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("supervision_items.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    author: Mapped[User] = relationship()


interview_items = Table(
    "supervision_interview_items", db.metadata,
    Column("interview_id", ForeignKey("supervision_interviews.id", ondelete="CASCADE"), primary_key=True),
    Column("item_id", ForeignKey("supervision_items.id", ondelete="CASCADE"), primary_key=True),
)

circular_items = Table(
    "supervision_circular_items", db.metadata,
    Column("circular_id", ForeignKey("supervision_circulars.id", ondelete="CASCADE"), primary_key=True),
    Column("item_id", ForeignKey("supervision_items.id", ondelete="CASCADE"), primary_key=True),
)


class Interview(db.Model):
    """约谈: a person held to account, by whom, why, when, about which items."""

    __tablename__ = "supervision_interviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_name: Mapped[str] = mapped_column(String(100))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    interviewer: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    held_on = mapped_column(Date, nullable=False, index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    items: Mapped[list[RectificationItem]] = relationship(secondary=interview_items, order_by="RectificationItem.id")

    @property
    def audit_name(self):
        return self.held_on.isoformat()


class Circular(db.Model):
    """通报 第 N 期: published to every staff member, printable."""

    __tablename__ = "supervision_circulars"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    issued_on = mapped_column(Date, nullable=False, index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    items: Mapped[list[RectificationItem]] = relationship(secondary=circular_items, order_by="RectificationItem.id")

    @property
    def audit_name(self):
        return f"{self.number}: {self.title}"
