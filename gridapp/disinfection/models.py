"""Tables of the disinfection rounds: points, per-compound risk tiers, slots, rounds, flags."""
from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gridapp.auth.models import User
from gridapp.extensions import db
from gridapp.grid.models import Community, Compound
from gridapp.timeutil import UTCDateTime, utcnow

POINT_KINDS = ("elevator", "public_toilet", "stairwell", "garbage_point", "activity_area", "shop", "other")
TASKS = ("disinfection", "garbage")
RISK_TIERS = ("low", "normal", "high")
SLOT_STATUSES = ("pending", "done", "missed")
ROUND_KINDS = ("on_time", "late", "extra")


class DisinfectionPoint(db.Model):
    """A place that must be disinfected or cleared N times a day: in a compound, or a public
    place (supermarket, pharmacy, market …) of a community."""

    __tablename__ = "disinfection_points"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Always set (for a compound's point, the compound's community): public places have
    # no compound, and the community answers for points without a property company.
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    compound_id: Mapped[int | None] = mapped_column(ForeignKey("compounds.id"), index=True)
    place_name: Mapped[str] = mapped_column(String(100), default="")  # a public place's name
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    task: Mapped[str] = mapped_column(String(20), default="disinfection")
    # "06:00-10:00,11:00-15:00"; empty means the defaults of the task and the risk tier.
    windows: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_disinfectant: Mapped[str] = mapped_column(String(100), default="")
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    community: Mapped[Community] = relationship()
    compound: Mapped[Compound | None] = relationship()

    @property
    def path(self):
        if self.compound is not None:
            return {**self.compound.path, "point": self.id}
        return {**self.community.path, "point": self.id}

    @property
    def group_key(self) -> tuple[str, int]:
        """The group of the "today" page this point is counted in: its compound, or its
        community's public places."""
        return ("compound", self.compound_id) if self.compound_id is not None else ("places", self.community_id)

    @property
    def where(self) -> str:
        return self.compound.name if self.compound is not None else self.place_name

    @property
    def audit_name(self) -> str:
        return f"{self.where} {self.name}".strip()


class CompoundRisk(db.Model):
    """A compound's risk tier; it sets the number of rounds of all its points at once."""

    __tablename__ = "disinfection_compound_risks"

    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id"), primary_key=True)
    tier: Mapped[str] = mapped_column(String(10), default="normal")
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)


class DisinfectionSlot(db.Model):
    """One required round: point × day (in the town's zone, the day the window starts) × window."""

    __tablename__ = "disinfection_slots"
    __table_args__ = (
        UniqueConstraint("point_id", "day", "window", name="uq_disinfection_slot"),
        Index("ix_disinfection_slots_status_ends", "status", "ends_at"),
        Index("ix_disinfection_slots_day_point", "day", "point_id"),
        # The points missed again (the today board): the few missed or pending slots of three days.
        Index("ix_disinfection_slots_status_day_point", "status", "day", "point_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    point_id: Mapped[int] = mapped_column(ForeignKey("disinfection_points.id", ondelete="CASCADE"))
    day = mapped_column(Date, nullable=False)
    window: Mapped[str] = mapped_column(String(11))  # "06:00-10:00"
    starts_at = mapped_column(UTCDateTime, nullable=False)
    ends_at = mapped_column(UTCDateTime, nullable=False)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    done_at = mapped_column(UTCDateTime, nullable=True)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    missed_at = mapped_column(UTCDateTime, nullable=True)

    point: Mapped[DisinfectionPoint] = relationship()
    done_by: Mapped[User | None] = relationship()


class DisinfectionRound(db.Model):
    """A round as it was done: a tick in a slot (on time or late), or an extra round outside
    any window. The unique slot_id and tick_token make double taps record one round."""

    __tablename__ = "disinfection_rounds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    point_id: Mapped[int] = mapped_column(ForeignKey("disinfection_points.id", ondelete="CASCADE"), index=True)
    slot_id: Mapped[int | None] = mapped_column(ForeignKey("disinfection_slots.id", ondelete="SET NULL"),
                                                unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    ticked_at = mapped_column(UTCDateTime, nullable=False, index=True)
    ticked_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    disinfectant: Mapped[str] = mapped_column(String(100), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    photo: Mapped[str] = mapped_column(String(200), default="")
    tick_token: Mapped[str | None] = mapped_column(String(64), unique=True)

    point: Mapped[DisinfectionPoint] = relationship()
    ticked_by: Mapped[User] = relationship()


class DisinfectionFlag(db.Model):
    """A point missed on three consecutive days, flagged for the community secretary."""

    __tablename__ = "disinfection_flags"
    __table_args__ = (UniqueConstraint("point_id", "last_day", name="uq_disinfection_flag"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    point_id: Mapped[int] = mapped_column(ForeignKey("disinfection_points.id", ondelete="CASCADE"), index=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    last_day = mapped_column(Date, nullable=False)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    resolved_at = mapped_column(UTCDateTime, nullable=True)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    point: Mapped[DisinfectionPoint] = relationship()


class DisinfectionDayTally(db.Model):
    """A closed day's slots summed per compound (or per community for its public places): what
    the 7- and 30-day compliance chart reads instead of every slot of the month. Written by the
    sweep once a day has no pending slot left; a day's slots never change after that."""

    __tablename__ = "disinfection_day_tallies"
    # A secretary's chart reads her communities' days: by community first, then day.
    __table_args__ = (Index("ix_disinfection_day_tallies_community_day", "community_id", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day = mapped_column(Date, nullable=False, index=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    compound_id: Mapped[int | None] = mapped_column(ForeignKey("compounds.id"))
    slots: Mapped[int] = mapped_column(Integer)
    done: Mapped[int] = mapped_column(Integer)


class DisinfectionTalliedDay(db.Model):
    """A day whose tallies are written (its primary key makes two sweeps at once write it once)."""

    __tablename__ = "disinfection_tallied_days"

    day = mapped_column(Date, primary_key=True)
    tallied_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
