"""An import of one spreadsheet: its preview, its confirmation and the report of what it wrote."""
from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gridapp.auth.models import User
from gridapp.extensions import db
from gridapp.timeutil import UTCDateTime, utcnow

# previewed → queued → running → done | failed; previewed → discarded
IMPORT_STATES = ("previewed", "queued", "running", "done", "failed", "discarded")


class ImportRun(db.Model):
    __tablename__ = "import_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    file_name: Mapped[str] = mapped_column(String(200))  # as uploaded, for people to recognise
    stored_name: Mapped[str] = mapped_column(String(80))  # under <instance>/imports/, chosen by the server
    # The importer's reach when it was uploaded: None for the whole town, else one community.
    community_id: Mapped[int | None] = mapped_column(ForeignKey("communities.id"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="previewed", index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    confirmed_at = mapped_column(UTCDateTime, nullable=True)
    started_at = mapped_column(UTCDateTime, nullable=True)
    finished_at = mapped_column(UTCDateTime, nullable=True)
    # The preview: rows read, rows that would be written and the first errors, by line and column.
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    preview: Mapped[dict] = mapped_column(JSON, default=dict)
    # The report: created / updated / unchanged / skipped, the skipped rows' reasons; or why it failed.
    report: Mapped[dict] = mapped_column(JSON, default=dict)
    failure: Mapped[str] = mapped_column(Text, default="")
    # The address the confirming person used (https://grid.example/): invitation links sent by the job point there.
    url_root: Mapped[str] = mapped_column(String(200), default="")

    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    confirmed_by: Mapped[User | None] = relationship(foreign_keys=[confirmed_by_id])
