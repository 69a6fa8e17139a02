"""Tables of the duty roster: checkpoints with their shift pattern, shifts, sign-ups, feed tokens."""
from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gridapp.auth.models import User
from gridapp.extensions import db
from gridapp.grid.models import Community, Compound, WorkUnit
from gridapp.timeutil import UTCDateTime, utcnow

CHECKPOINT_KINDS = ("gate", "vanguard", "other")
DEFAULT_PATTERN = "08:00-16:00,16:00-24:00,00:00-08:00"
SHIFT_STATUSES = ("open", "cancelled")
# "cancelled": the shift was called off while this person was on it (the reason is kept here).
SIGNUP_STATUSES = ("signed_up", "checked_in", "checked_out", "withdrawn", "removed", "no_show", "cancelled")
ACTIVE_SIGNUP = ("signed_up", "checked_in", "checked_out")


class Checkpoint(db.Model):
    """A gate checkpoint (门岗检查点) or vanguard post (党员先锋岗), staffed in shifts round the clock."""

    __tablename__ = "duty_checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Always set (for a compound's checkpoint, the compound's community): volunteers serve a community.
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    compound_id: Mapped[int | None] = mapped_column(ForeignKey("compounds.id"), index=True)
    work_unit_id: Mapped[int | None] = mapped_column(ForeignKey("work_units.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20), default="gate")
    location: Mapped[str] = mapped_column(String(200), default="")
    # The shift pattern in the town's zone: "08:00-16:00,16:00-24:00,00:00-08:00".
    pattern: Mapped[str] = mapped_column(String(200), default=DEFAULT_PATTERN)
    min_people: Mapped[int] = mapped_column(Integer, default=1)
    max_people: Mapped[int] = mapped_column(Integer, default=2)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    community: Mapped[Community] = relationship()
    compound: Mapped[Compound | None] = relationship()
    work_unit: Mapped[WorkUnit | None] = relationship()

    @property
    def audit_name(self) -> str:
        return self.name


class Shift(db.Model):
    """One shift of a checkpoint: the local day it starts × its label. `filled` counts the active
    sign-ups and is only ever changed by conditional UPDATEs (never above `capacity`)."""

    __tablename__ = "duty_shifts"
    __table_args__ = (
        UniqueConstraint("checkpoint_id", "day", "label", name="uq_duty_shift"),
        Index("ix_duty_shifts_starts_at", "starts_at"),
        Index("ix_duty_shifts_day_checkpoint", "day", "checkpoint_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    checkpoint_id: Mapped[int] = mapped_column(ForeignKey("duty_checkpoints.id", ondelete="CASCADE"))
    day = mapped_column(Date, nullable=False)
    label: Mapped[str] = mapped_column(String(11))  # "00:00-08:00"
    starts_at = mapped_column(UTCDateTime, nullable=False)
    ends_at = mapped_column(UTCDateTime, nullable=False)
    min_people: Mapped[int] = mapped_column(Integer, default=1)
    capacity: Mapped[int] = mapped_column(Integer, default=2)
    filled: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(10), default="open")
    # Kept after a pattern change because people had signed up: staff should look at it.
    off_pattern: Mapped[bool] = mapped_column(Boolean, default=False)
    # Set when the gap alert went out; cleared when the shift reaches its minimum again.
    gap_alerted: Mapped[bool] = mapped_column(Boolean, default=False)
    gap_alerts: Mapped[int] = mapped_column(Integer, default=0)
    noshow_listed: Mapped[bool] = mapped_column(Boolean, default=False)

    checkpoint: Mapped[Checkpoint] = relationship()

    @property
    def audit_name(self) -> str:
        return f"{self.checkpoint.name} {self.day.isoformat()} {self.label}"


class Signup(db.Model):
    """A person on a shift. One row per shift × person (unique): signing up again after a
    withdrawal reuses it, so a double sign-up is impossible by construction."""

    __tablename__ = "duty_signups"
    __table_args__ = (
        UniqueConstraint("shift_id", "user_id", name="uq_duty_signup"),
        Index("ix_duty_signups_user_status", "user_id", "status"),
        # The sign-ups still "signed up" are those of shifts to come and of shifts just ended (the
        # no-shows to confirm): found by status, then joined to their shifts.
        Index("ix_duty_signups_status_shift", "status", "shift_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shift_id: Mapped[int] = mapped_column(ForeignKey("duty_shifts.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(12), default="signed_up")
    signed_up_at = mapped_column(UTCDateTime, nullable=False)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    checked_in_at = mapped_column(UTCDateTime, nullable=True)
    checked_out_at = mapped_column(UTCDateTime, nullable=True)
    ended_at = mapped_column(UTCDateTime, nullable=True)  # withdrawn, removed or marked no-show
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text, default="")
    reminded_at = mapped_column(UTCDateTime, nullable=True)

    shift: Mapped[Shift] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])


class FeedToken(db.Model):
    """The secret of a person's calendar feed URL; regenerating it kills the old URL."""

    __tablename__ = "duty_feed_tokens"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
