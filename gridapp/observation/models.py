"""Tables of home observation: an observation of a person, its daily checks (rows made by a sweep),
and the follow-ups that a fever or a symptom opens."""
from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gridapp.auth.models import User
from gridapp.extensions import db
from gridapp.grid.models import Compound
from gridapp.people.models import Person
from gridapp.timeutil import UTCDateTime, utcnow

STATUSES = ("active", "ended", "ended_early", "lost")
METHODS = ("in_person", "phone", "self")
SYMPTOMS = ("cough", "fever", "fatigue", "other")
OUTCOMES = ("referred", "resolved")  # how a follow-up is closed; "called" is a step before


class Observation(db.Model):
    """A person under home observation from starts_on to ends_on (town days, both included)."""

    __tablename__ = "observations"
    __table_args__ = (Index("ix_observations_status_ends", "status", "ends_on"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("household_members.id", ondelete="CASCADE"), index=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id"), index=True)
    starts_on = mapped_column(Date, nullable=False)
    ends_on = mapped_column(Date, nullable=False)
    status: Mapped[str] = mapped_column(String(12), default="active")
    reason: Mapped[str] = mapped_column(Text, default="")  # why it started; why it ended early or was lost
    building_head_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    grid_member_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    started_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    ended_at = mapped_column(UTCDateTime, nullable=True)
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The personal link's token, as its SHA-256 only; None: no link (never made, or revoked).
    link_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    link_created_at = mapped_column(UTCDateTime, nullable=True)

    person: Mapped[Person] = relationship()
    compound: Mapped[Compound] = relationship()
    building_head: Mapped[User | None] = relationship(foreign_keys=[building_head_id])
    grid_member: Mapped[User | None] = relationship(foreign_keys=[grid_member_id])

    @property
    def path(self):
        return {**self.person.household.path, "person": self.person_id, "observation": self.id}

    @property
    def audit_name(self) -> str:
        return f"{self.person.audit_name} ({self.starts_on.isoformat()})"


class ObservationCheck(db.Model):
    """One required health check: observation × town day × check time. Made pending by the sweep,
    recorded once (the conditional update on its status)."""

    __tablename__ = "observation_checks"
    __table_args__ = (
        UniqueConstraint("observation_id", "day", "slot", name="uq_observation_check"),
        Index("ix_observation_checks_status_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    observation_id: Mapped[int] = mapped_column(ForeignKey("observations.id", ondelete="CASCADE"), index=True)
    day = mapped_column(Date, nullable=False)
    slot: Mapped[str] = mapped_column(String(5))  # "08:00", in the town's time
    due_at = mapped_column(UTCDateTime, nullable=False)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending | done
    done_at = mapped_column(UTCDateTime, nullable=True)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    method: Mapped[str] = mapped_column(String(10), default="")
    temperature = mapped_column(Numeric(3, 1), nullable=True)
    cough: Mapped[bool] = mapped_column(Boolean, default=False)
    fever: Mapped[bool] = mapped_column(Boolean, default=False)
    fatigue: Mapped[bool] = mapped_column(Boolean, default=False)
    other: Mapped[bool] = mapped_column(Boolean, default=False)
    other_text: Mapped[str] = mapped_column(String(200), default="")
    # The missed-check ladder: 0 nobody told, 1 the building head, 2 the grid member, 3 the secretary.
    reminder_level: Mapped[int] = mapped_column(Integer, default=0)

    observation: Mapped[Observation] = relationship()
    done_by: Mapped[User | None] = relationship()

    @property
    def symptomatic(self) -> bool:
        return self.cough or self.fever or self.fatigue or self.other


class FeverFollowUp(db.Model):
    """What a fever or a symptom opened: open until someone closes it (referred to the fever clinic,
    or resolved). On the way, someone marks that they called the person (called_at)."""

    __tablename__ = "observation_followups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    observation_id: Mapped[int] = mapped_column(ForeignKey("observations.id", ondelete="CASCADE"), index=True)
    check_id: Mapped[int] = mapped_column(ForeignKey("observation_checks.id", ondelete="CASCADE"), unique=True)
    opened_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    outcome: Mapped[str] = mapped_column(String(10), default="")  # "" while open
    note: Mapped[str] = mapped_column(Text, default="")
    called_at = mapped_column(UTCDateTime, nullable=True)
    called_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    closed_at = mapped_column(UTCDateTime, nullable=True)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    observation: Mapped[Observation] = relationship()
    check: Mapped[ObservationCheck] = relationship()
    called_by: Mapped[User | None] = relationship(foreign_keys=[called_by_id])

    @property
    def path(self):
        return self.observation.path

    @property
    def audit_name(self) -> str:
        return self.observation.audit_name
