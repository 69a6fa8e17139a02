"""Tables of screening: a campaign, the places it covers, one visit row per household, and the
reminders the sweep has sent (one row per level and place: the ladder's memory)."""
from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gridapp.auth.models import User
from gridapp.extensions import db
from gridapp.grid.models import Community, Grid, Household
from gridapp.timeutil import UTCDateTime, utcnow

CAMPAIGN_STATES = ("open", "closed")
# A visit's state: not visited yet, or the result of the last visit.
RESULTS = ("seen", "returnees", "nobody_home", "refused")
VISIT_STATES = ("pending", *RESULTS)
# Still to do: never visited, or nobody was home (until someone is). Refused is a result: done.
TO_DO = ("pending", "nobody_home")
DONE = ("seen", "returnees", "refused")
# The 五个一 handed to each household, in the field report's order.
ITEMS = ("thermometer", "disinfectant", "leaflet", "mask", "form")
# The reminder ladder: 1 the building head (per compound), 2 the grid member (per grid),
# 3 the community secretary (per community).
LEVELS = (1, 2, 3)


class ScreeningCampaign(db.Model):
    __tablename__ = "screening_campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    starts_on = mapped_column(Date, nullable=False)
    ends_on = mapped_column(Date, nullable=False)
    # The whole town, or the communities and grids in `places`.
    town_wide: Mapped[bool] = mapped_column(Boolean, default=False)
    # The community whose secretary runs it (all its places in that community); None: the town's.
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"), index=True)
    record_items: Mapped[bool] = mapped_column(Boolean, default=True)  # the 五个一, each ticked
    record_present: Mapped[bool] = mapped_column(Boolean, default=True)  # how many people were at home
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    closed_at = mapped_column(UTCDateTime, nullable=True)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    close_reason: Mapped[str] = mapped_column(String(200), default="")

    community: Mapped[Community | None] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])
    places: Mapped[list["CampaignPlace"]] = relationship(back_populates="campaign", order_by="CampaignPlace.id",
                                                         cascade="all, delete-orphan")

    def covers(self, community_id: int | None, grid_id: int | None = None) -> bool:
        """Whether a grid (of that community), or the whole of a community, is in the campaign."""
        if self.town_wide:
            return True
        return any(p.community_id == community_id or (grid_id is not None and p.grid_id == grid_id)
                   for p in self.places)

    def touches(self, community_id: int) -> bool:
        """Whether any of the campaign's places lies in this community."""
        if self.town_wide:
            return True
        return any(p.community_id == community_id or (p.grid is not None and p.grid.community_id == community_id)
                   for p in self.places)


class CampaignPlace(db.Model):
    """A community (all of it) or one grid that a campaign covers."""

    __tablename__ = "screening_campaign_places"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("screening_campaigns.id", ondelete="CASCADE"), index=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"))
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id"))

    campaign: Mapped[ScreeningCampaign] = relationship(back_populates="places")
    community: Mapped[Community | None] = relationship()
    grid: Mapped[Grid | None] = relationship()


class ScreeningVisit(db.Model):
    """One household in one campaign: not visited yet (pending), or what the last visit found."""

    __tablename__ = "screening_visits"
    __table_args__ = (UniqueConstraint("campaign_id", "household_id", name="uq_screening_visit"),
                      Index("ix_screening_visits_campaign_status", "campaign_id", "status"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("screening_campaigns.id", ondelete="CASCADE"))
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    # How many visits were recorded: the version a form was drawn from (two people at once: one wins).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    visited_at = mapped_column(UTCDateTime, nullable=True)  # when the last visit took place
    first_attempt_at = mapped_column(UTCDateTime, nullable=True)  # the first visit (nobody home, maybe)
    recorded_at = mapped_column(UTCDateTime, nullable=True)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revisit_on = mapped_column(Date, nullable=True)  # nobody home: when to come back
    present: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)  # people at home
    returnees: Mapped[int] = mapped_column(SmallInteger, default=0)  # 外地来（返）人员 found
    item_thermometer: Mapped[bool] = mapped_column(Boolean, default=False)
    item_disinfectant: Mapped[bool] = mapped_column(Boolean, default=False)
    item_leaflet: Mapped[bool] = mapped_column(Boolean, default=False)
    item_mask: Mapped[bool] = mapped_column(Boolean, default=False)
    item_form: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    campaign: Mapped[ScreeningCampaign] = relationship()
    household: Mapped[Household] = relationship()
    recorded_by: Mapped[User | None] = relationship()

    @property
    def items_handed(self) -> list[str]:
        return [item for item in ITEMS if getattr(self, f"item_{item}")]

    @property
    def audit_name(self) -> str:
        # Never the household head's name: the compound, the room and the campaign.
        return f"{self.household.compound.name} {self.household.label} · {self.campaign.name}"[:200]


class ScreeningReminder(db.Model):
    """A rung of the ladder reached: level 1 for a compound, 2 for a grid, 3 for a community, once per
    campaign (the unique key decides between two sweeps); with the households left to do then."""

    __tablename__ = "screening_reminders"
    __table_args__ = (UniqueConstraint("campaign_id", "level", "place_id", name="uq_screening_reminder"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("screening_campaigns.id", ondelete="CASCADE"))
    level: Mapped[int] = mapped_column(SmallInteger)
    place_id: Mapped[int] = mapped_column(Integer)  # a compound, a grid or a community, by level
    households: Mapped[int] = mapped_column(Integer, default=0)  # still to do (never visited or nobody home)
    to_revisit: Mapped[int] = mapped_column(Integer, default=0)  # of which nobody was home
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)


class ScreeningTally(db.Model):
    """A campaign's visits counted per compound, kept by every write that changes them (in the same
    transaction, as increments, so two writers at once both count): what the coverage, the campaign
    list and the today board read instead of every visit of the campaign. `visited` is seen or
    returnees found; `returnees` the people found."""

    __tablename__ = "screening_tallies"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("screening_campaigns.id", ondelete="CASCADE"),
                                             primary_key=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id", ondelete="CASCADE"), primary_key=True,
                                             index=True)
    total: Mapped[int] = mapped_column(Integer, default=0)
    visited: Mapped[int] = mapped_column(Integer, default=0)
    pending: Mapped[int] = mapped_column(Integer, default=0)
    revisit: Mapped[int] = mapped_column(Integer, default=0)
    refused: Mapped[int] = mapped_column(Integer, default=0)
    returnees: Mapped[int] = mapped_column(Integer, default=0)
