"""A record of one look at residents' personal data: a staff member opened a household, a list that
shows phones or health flags, or exported a file; who, what, which place, when, from where. And the
runs of the purge that erases personal data past its retention (gridapp/privacy/retention.py)."""
from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gridapp.auth.models import User
from gridapp.extensions import db
from gridapp.timeutil import UTCDateTime, utcnow


class AccessRecord(db.Model):
    __tablename__ = "access_records"
    __table_args__ = (
        Index("ix_access_records_user", "user_id", "at"),
        Index("ix_access_records_household", "household_id", "at"),
        Index("ix_access_records_compound", "compound_id", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at = mapped_column(UTCDateTime, default=utcnow, nullable=False, index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # "household" (one household's details), "list" (a list showing phones or health flags),
    # "export" (a file), "request" (a resident's request: everything held about a household).
    kind: Mapped[str] = mapped_column(String(20))
    what: Mapped[str] = mapped_column(String(40))  # which page or file (see services.WHAT_LABELS)
    # The household looked at, or the compound whose households a list showed; plain ids, not
    # foreign keys: the record outlives a deleted household.
    household_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    compound_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    community_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    scope: Mapped[str] = mapped_column(String(200), default="")  # the place's name at that time
    rows: Mapped[int] = mapped_column(Integer, default=0)
    personal: Mapped[bool] = mapped_column(Boolean, default=False)  # a file with personal columns
    reason: Mapped[str] = mapped_column(String(200), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")

    user: Mapped[User] = relationship()


class PurgeRun(db.Model):
    """One purge of personal data: the nightly one of what outlived its retention, or the one asked
    for when the town closed the emergency (by whom, when); what it removed, counted per category."""

    __tablename__ = "purge_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trigger: Mapped[str] = mapped_column(String(12))  # "nightly" | "emergency"
    requested_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    started_at = mapped_column(UTCDateTime, nullable=True)
    finished_at = mapped_column(UTCDateTime, nullable=True)
    counts: Mapped[dict] = mapped_column(JSON, default=dict)  # category key -> rows (or files) removed

    requested_by: Mapped[User | None] = relationship()

    @property
    def audit_name(self) -> str:
        return f"#{self.id}"
