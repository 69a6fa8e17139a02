"""Daily reports: one snapshot per (scope, day) and version; the town's editable wording."""
from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gridapp.auth.models import User
from gridapp.extensions import db
from gridapp.grid.models import Community
from gridapp.timeutil import UTCDateTime, utcnow


class DailyReport(db.Model):
    """The figures of one day for the town (scope_key "town") or a community ("community:<id>"),
    as they stood at `cutoff_at`, and the text they were written up in. Never recomputed in place:
    a regeneration is a new version (with who and why); the earlier ones stay."""

    __tablename__ = "daily_reports"
    __table_args__ = (UniqueConstraint("scope_key", "day", "version", name="uq_daily_report_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope_key: Mapped[str] = mapped_column(String(30))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"), index=True)
    day = mapped_column(Date, nullable=False, index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    cutoff_at = mapped_column(UTCDateTime, nullable=False)
    figures: Mapped[str] = mapped_column(Text)  # JSON
    text: Mapped[str] = mapped_column(Text)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the evening job
    reason: Mapped[str] = mapped_column(Text, default="")

    community: Mapped[Community | None] = relationship()
    created_by: Mapped[User | None] = relationship()

    @property
    def audit_name(self) -> str:
        return f"{self.scope_key} {self.day.isoformat()} v{self.version}"


class ReportTemplate(db.Model):
    """The town's own wording of its reports, one per kind of report ("town", "community")."""

    __tablename__ = "report_templates"

    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    body: Mapped[str] = mapped_column(Text)
    updated_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
