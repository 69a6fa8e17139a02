"""Tables of errands: the errand itself (with its state), its timeline, the record of who saw
a household's contact details, and the volunteers who want to hear of urgent errands."""
from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gridapp.auth.models import User
from gridapp.extensions import db
from gridapp.grid.models import Compound, Household
from gridapp.timeutil import UTCDateTime, utcnow

CATEGORIES = ("daily", "medicine", "matter", "other")
STATES = ("open", "claimed", "purchased", "delivered", "confirmed", "cancelled")
# A volunteer's claim counts against their limit while the errand is in these states.
ACTIVE_CLAIM_STATES = ("claimed", "purchased")
# Not yet in the resident's hands: the errand can still be late.
PENDING_STATES = ("open", "claimed", "purchased")


class Errand(db.Model):
    """代办代买: an errand filed for a household and run by one volunteer at a time.

    community_id, grid_id and compound_id copy the household's place when it is filed, so the
    board and the staff lists filter on one table. The times the sweeps compare
    (claim_expires_at, opened_at) are set by the transitions, so the sweeps are plain
    comparisons; the *_at markers say a sweep has already acted (and which one won)."""

    __tablename__ = "errands"
    __table_args__ = (
        Index("ix_errands_board", "community_id", "status", "urgent", "needed_by_at"),
        Index("ix_errands_claimant_status", "claimant_id", "status"),
        # The today board's counts: errands under way (a few hundred of a town's thousands), and
        # those filed and delivered since midnight, each read off its index.
        Index("ix_errands_status_urgent", "status", "urgent"),
        Index("ix_errands_filed_at", "filed_at"),
        Index("ix_errands_delivered_at", "delivered_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # None once the retention purge erased the errand's personal details (see erased_at).
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"), index=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id"), index=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id"), index=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"))
    category: Mapped[str] = mapped_column(String(16))
    items: Mapped[str] = mapped_column(Text)  # one item per line, "牛奶 2盒"
    estimated_cost_cents: Mapped[int | None] = mapped_column(Integer)
    needed_by_at = mapped_column(UTCDateTime, nullable=False)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str] = mapped_column(Text, default="")
    pay_on_delivery: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(12), default="open")

    filed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    filed_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    opened_at = mapped_column(UTCDateTime, nullable=False)  # when it last became open
    claimant_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    last_claimant_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    claimed_at = mapped_column(UTCDateTime, nullable=True)
    first_claimed_at = mapped_column(UTCDateTime, nullable=True)
    claim_expires_at = mapped_column(UTCDateTime, nullable=True)
    purchased_at = mapped_column(UTCDateTime, nullable=True)
    actual_cost_cents: Mapped[int | None] = mapped_column(Integer)
    receipt_photo: Mapped[str | None] = mapped_column(String(80))
    delivered_at = mapped_column(UTCDateTime, nullable=True)
    delivery_note: Mapped[str] = mapped_column(Text, default="")
    delivery_photo: Mapped[str | None] = mapped_column(String(80))
    confirmed_at = mapped_column(UTCDateTime, nullable=True)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    money_settled: Mapped[bool] = mapped_column(Boolean, default=False)
    cancelled_at = mapped_column(UTCDateTime, nullable=True)
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cancel_reason: Mapped[str] = mapped_column(Text, default="")
    # Sweep markers (see the class docstring).
    urgent_alerted_at = mapped_column(UTCDateTime, nullable=True)
    overdue_notified_at = mapped_column(UTCDateTime, nullable=True)
    unconfirmed_reminded_at = mapped_column(UTCDateTime, nullable=True)
    # When the retention purge erased the household link, items, notes, photos and reasons
    # (gridapp/privacy/retention.py); the place, category, costs and times stay for the statistics.
    erased_at = mapped_column(UTCDateTime, nullable=True)

    household: Mapped[Household | None] = relationship()
    compound: Mapped[Compound] = relationship()
    filed_by: Mapped[User] = relationship(foreign_keys=[filed_by_id])
    claimant: Mapped[User | None] = relationship(foreign_keys=[claimant_id])
    confirmed_by: Mapped[User | None] = relationship(foreign_keys=[confirmed_by_id])
    cancelled_by: Mapped[User | None] = relationship(foreign_keys=[cancelled_by_id])

    @property
    def audit_name(self) -> str:
        return f"#{self.id}"

    @property
    def item_lines(self) -> list[str]:
        return [line.strip() for line in (self.items or "").splitlines() if line.strip()]

    @property
    def summary(self) -> str:
        lines = self.item_lines
        text = "、".join(lines[:3])
        return text + ("…" if len(lines) > 3 else "")


class ErrandEvent(db.Model):
    """One step of an errand's timeline: who did what, when (the jobs' expiries too)."""

    __tablename__ = "errand_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    errand_id: Mapped[int] = mapped_column(ForeignKey("errands.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    actor: Mapped[User | None] = relationship()


class ContactView(db.Model):
    """A non-staff person was shown a household's address and phone: who, whose, when."""

    __tablename__ = "errand_contact_views"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    errand_id: Mapped[int] = mapped_column(ForeignKey("errands.id", ondelete="CASCADE"), index=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    viewed_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    ip: Mapped[str] = mapped_column(String(64), default="")

    user: Mapped[User] = relationship()


class UrgentOptIn(db.Model):
    """A volunteer who wants to hear of every new urgent errand in their community."""

    __tablename__ = "errand_urgent_optins"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
