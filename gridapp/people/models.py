"""One person of a household: name, relation to the head, sex, year of birth, phone (no identity card
number), and whether and how they came or returned from outside."""
from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gridapp.extensions import db
from gridapp.grid.models import Household, TimestampMixin

RELATIONS = ("head", "spouse", "child", "parent", "grandchild", "relative", "tenant", "other")
SEXES = ("m", "f")
TRAVEL_MODES = ("train", "plane", "coach", "car", "other")


class Person(TimestampMixin, db.Model):
    __tablename__ = "household_members"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    relation: Mapped[str] = mapped_column(String(16), default="other")
    sex: Mapped[str] = mapped_column(String(1), default="")
    birth_year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    phone: Mapped[str] = mapped_column(String(32), default="")
    # Came or returned from outside the town (外地来（返）人员): from where, arrival day, how.
    from_outside: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    came_from: Mapped[str] = mapped_column(String(100), default="")
    arrived_on = mapped_column(Date, nullable=True)
    travel_mode: Mapped[str] = mapped_column(String(16), default="")
    notes: Mapped[str] = mapped_column(Text, default="")

    household: Mapped[Household] = relationship()

    @property
    def path(self):
        return {**self.household.path, "person": self.id}

    @property
    def audit_name(self) -> str:
        # Never the person's name: the household's room and the person's number.
        return f"{self.household.label} #{self.id}"
