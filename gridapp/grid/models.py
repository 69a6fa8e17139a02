"""The four-level grid: town, communities, grids, compounds, households; and the
organisations (property companies, work units) responsible for compounds."""
from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gridapp.extensions import db
from gridapp.timeutil import UTCDateTime, utcnow

COMMUNITY_KINDS = ("community", "village", "urban_village")


class TimestampMixin:
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False)


class Town(TimestampMixin, db.Model):
    __tablename__ = "towns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)

    communities: Mapped[list["Community"]] = relationship(back_populates="town", order_by="Community.id")

    @property
    def path(self):
        return {"town": self.id}


class Community(TimestampMixin, db.Model):
    __tablename__ = "communities"
    __table_args__ = (UniqueConstraint("town_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    town_id: Mapped[int] = mapped_column(ForeignKey("towns.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20), default="community")

    town: Mapped[Town] = relationship(back_populates="communities")
    grids: Mapped[list["Grid"]] = relationship(back_populates="community", order_by="Grid.id")

    @property
    def path(self):
        return {"town": self.town_id, "community": self.id}


class Grid(TimestampMixin, db.Model):
    __tablename__ = "grids"
    __table_args__ = (UniqueConstraint("community_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))

    community: Mapped[Community] = relationship(back_populates="grids")
    compounds: Mapped[list["Compound"]] = relationship(back_populates="grid", order_by="Compound.id")

    @property
    def path(self):
        return {**self.community.path, "grid": self.id}


class PropertyCompany(TimestampMixin, db.Model):
    __tablename__ = "property_companies"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    phone: Mapped[str | None] = mapped_column(String(32))


class WorkUnit(TimestampMixin, db.Model):
    __tablename__ = "work_units"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    phone: Mapped[str | None] = mapped_column(String(32))


class Compound(TimestampMixin, db.Model):
    """A residential compound (小区 / 楼院 / 家属楼) with its one open entrance."""

    __tablename__ = "compounds"
    __table_args__ = (UniqueConstraint("grid_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(200), default="")
    entrance: Mapped[str] = mapped_column(String(200), default="")
    property_company_id: Mapped[int | None] = mapped_column(ForeignKey("property_companies.id"), index=True)
    work_unit_id: Mapped[int | None] = mapped_column(ForeignKey("work_units.id"), index=True)

    grid: Mapped[Grid] = relationship(back_populates="compounds")
    property_company: Mapped[PropertyCompany | None] = relationship()
    work_unit: Mapped[WorkUnit | None] = relationship()

    @property
    def path(self):
        return {**self.grid.path, "compound": self.id}


class Household(TimestampMixin, db.Model):
    __tablename__ = "households"
    __table_args__ = (UniqueConstraint("compound_id", "building", "unit", "room"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    compound_id: Mapped[int] = mapped_column(ForeignKey("compounds.id"), index=True)
    building: Mapped[str] = mapped_column(String(20), default="")
    unit: Mapped[str] = mapped_column(String(20), default="")
    room: Mapped[str] = mapped_column(String(20))
    head_name: Mapped[str] = mapped_column(String(100))
    phone: Mapped[str] = mapped_column(String(32), default="")
    housebound: Mapped[bool] = mapped_column(Boolean, default=False)
    living_alone: Mapped[bool] = mapped_column(Boolean, default=False)
    observation_until = mapped_column(Date, nullable=True)
    notes: Mapped[str] = mapped_column(Text, default="")

    compound: Mapped[Compound] = relationship()

    @property
    def path(self):
        return {**self.compound.path, "household": self.id}

    @property
    def label(self) -> str:
        return household_label(self.building, self.unit, self.room)


def household_label(building, unit, room) -> str:
    """A household's label, "3-2-201", from its building, unit and room (those it has)."""
    return "-".join(p for p in (building, unit, room) if p)
