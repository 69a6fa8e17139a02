"""Imports: upload → preview (nothing kept) → confirm → the RQ job writes it all or nothing.

The preview and the job run the same code (`_run`): read the sheet row by row, check each row,
write batches of checked rows. The preview does it inside a transaction it rolls back, so the
counts it shows (to create, to update, already as the file says, to skip and why) are exactly what
the job will do unless the town's data changes in between — and the job checks every row again.
The job writes in one transaction: if anything fails, nothing of the file is kept, the run says
why, and it can be started again.
Idempotent by natural key: importing the same file again creates nothing and changes nothing.
"""
import logging
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from redis.exceptions import RedisError
from sqlalchemy import select, update

from gridapp.audit.services import record
from gridapp.auth.models import User
from gridapp.core.rules import Conflict, Forbidden, RuleError
from gridapp.core.xlsx import Book, Column, heading
from gridapp.extensions import db
from gridapp.grid.models import Community, Town
from gridapp.imports.kinds import CREATED, EXAMPLE_MARK, KINDS, UNCHANGED, UPDATED, Kind, Places, RowError
from gridapp.imports.models import ImportRun
from gridapp.imports.reading import UnreadableFile, open_rows
from gridapp.jobs_runtime import redis_connection
from gridapp.policy import scope_of
from gridapp.timeutil import utcnow

log = logging.getLogger(__name__)

BATCH_ROWS = 500
ERRORS_KEPT = 200  # the first problems, by line; the counts are always complete
ALLOWED_SUFFIXES = (".xlsx", ".csv")
RUN_JOB = "jobs.imports.run_import"


def _progress_key(run_id: int) -> str:
    return f"gridapp:import:{run_id}:rows"


def report_progress(run_id: int, rows: int) -> None:
    """How many rows the job has gone through (kept in Redis: the job's transaction is not yet visible)."""
    try:
        redis_connection().set(_progress_key(run_id), rows, ex=86400)
    except RedisError as exc:  # the page shows less; the import goes on
        log.warning("import %s: progress not recorded (%s)", run_id, exc)


def progress(run: ImportRun) -> int | None:
    """Rows gone through by the running job, if known."""
    if run.status != "running":
        return None
    try:
        value = redis_connection().get(_progress_key(run.id))
    except RedisError:
        return None
    return int(value) if value else 0


def folder() -> Path:
    path = Path(current_app.instance_path) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


# --- who may import where --------------------------------------------------------------------------

def reach(user) -> set[int] | None:
    """The communities this person imports for: None for the whole town (the administrator), the
    communities they are secretary of; Forbidden for anyone else."""
    s = scope_of(user)
    if s.admin:
        return None
    if s.communities:
        return set(s.communities)
    raise Forbidden(_("Only the administrator and community secretaries import spreadsheets."))


def kinds_for(user) -> list[Kind]:
    town_wide = reach(user) is None
    return [k for k in KINDS.values() if town_wide or not k.town_only]


def the_town() -> Town:
    town = db.session.scalars(select(Town).order_by(Town.id).limit(1)).first()
    if town is None:
        raise Conflict(_("There is no town yet: run `flask town init` first."))
    return town


# --- reading and checking ---------------------------------------------------------------------------

@dataclass
class Tally:
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    examples: int = 0
    problems: list = field(default_factory=list)  # [line, column header, message], the first ERRORS_KEPT

    def skip(self, line: int, column: str, message: str) -> None:
        self.skipped += 1
        if len(self.problems) < ERRORS_KEPT:
            self.problems.append([line, column, message])

    def as_dict(self) -> dict:
        return {"total": self.total, "created": self.created, "updated": self.updated,
                "unchanged": self.unchanged, "skipped": self.skipped, "examples": self.examples,
                "problems": self.problems}


def _parse(kind: Kind, index: dict, row: list[str]) -> dict:
    values = {"_given": set(index)}
    for f in kind.fields:
        pos = index.get(f.key)
        raw = row[pos] if pos is not None and pos < len(row) else ""
        if not raw and f.required:
            raise RowError(f.key, _("Required."))
        try:
            values[f.key] = f.parse(raw)
        except ValueError as exc:
            raise RowError(f.key, str(exc)) from None
    return values


def _run(run: ImportRun, path: Path, *, on_progress=None, dry_run: bool = False) -> Tally:
    """Read, check and write every row of the run's file into the current transaction."""
    kind = KINDS[run.kind]
    places = Places(the_town(), None if run.community_id is None else {run.community_id},
                    actor=run.confirmed_by or run.created_by, url_root=run.url_root, dry_run=dry_run)
    tally = Tally()
    index, header_line, rows = open_rows(path, run.file_name, kind.aliases(), kind.required())
    missing = [kind.header(k) for k in sorted(kind.required()) if k not in index]
    if not index or missing:
        names = "、".join(kind.header(k) for k in sorted(kind.required(), key=list(kind.by_key).index))
        raise UnreadableFile(_("The sheet has no header row with the columns %(names)s (missing: %(missing)s).",
                               names=names, missing="、".join(missing) or names))
    seen: dict = {}
    batch: list = []

    def flush():
        for (line, _v, _key), outcome in zip(batch, kind.write(places, batch), strict=True):
            if isinstance(outcome, RowError):  # refused against what the town already holds
                tally.skip(line, kind.header(outcome.key) if outcome.key else "", str(outcome))
            else:
                setattr(tally, outcome, getattr(tally, outcome) + 1)
        batch.clear()
        if on_progress is not None:
            on_progress(tally.total)

    for line, row in rows:
        if not any(row):
            continue
        first = next((c for c in row if c), "")
        if first.startswith(EXAMPLE_MARK):
            tally.examples += 1
            continue
        tally.total += 1
        try:
            values = _parse(kind, index, row)
            key = kind.check(places, values)
        except RowError as exc:
            tally.skip(line, kind.header(exc.key) if exc.key else "", str(exc))
            continue
        if key in seen:
            tally.skip(line, "", _("The same row as line %(line)d (%(what)s).", line=seen[key],
                                   what=kind.natural_key))
            continue
        seen[key] = line
        batch.append((line, values, key))
        if len(batch) >= BATCH_ROWS:
            flush()
    if batch:
        flush()
    elif on_progress is not None:
        on_progress(tally.total)
    return tally


# --- upload and preview ---------------------------------------------------------------------------

def upload(user, kind_name: str, storage) -> ImportRun:
    """Keep the uploaded file and preview it: nothing of it is written to the town. The caller commits."""
    communities = reach(user)
    kind = KINDS.get(kind_name)
    if kind is None or (kind.town_only and communities is not None):
        raise RuleError(_("Choose what the spreadsheet holds."), "kind")
    name = Path((storage.filename or "").replace("\\", "/")).name.strip()
    suffix = Path(name).suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        raise RuleError(_("Choose an .xlsx or .csv file (an old .xls must be saved again as .xlsx)."), "file")
    if communities is not None and len(communities) != 1:
        raise RuleError(_("You are secretary of several communities: ask the administrator to import."), "file")
    stored = f"{secrets.token_hex(16)}{suffix}"
    path = folder() / stored
    storage.save(path)
    if path.stat().st_size == 0:
        path.unlink(missing_ok=True)
        raise RuleError(_("The file is empty."), "file")
    run = ImportRun(kind=kind.name, file_name=name[:200] or "upload" + suffix, stored_name=stored,
                    community_id=next(iter(communities)) if communities else None, created_by_id=user.id)
    try:
        run.preview = _dry_run(run, path)
    except UnreadableFile as exc:
        path.unlink(missing_ok=True)
        raise RuleError(str(exc), "file") from None
    run.rows_total = run.preview["total"]
    db.session.add(run)
    db.session.flush()
    return run


def _dry_run(run: ImportRun, path: Path) -> dict:
    with db.session.begin_nested() as savepoint:
        try:
            tally = _run(run, path, dry_run=True)
        finally:
            savepoint.rollback()
    db.session.expire_all()
    return tally.as_dict()


def discard(user, run: ImportRun) -> None:
    """Drop a previewed import and its file. The caller commits."""
    done = db.session.execute(update(ImportRun).where(ImportRun.id == run.id, ImportRun.status == "previewed")
                              .values(status="discarded").execution_options(synchronize_session=False)).rowcount
    if not done:
        raise Conflict(_("This import has already been confirmed."))
    if run.stored_name:
        (folder() / run.stored_name).unlink(missing_ok=True)
    db.session.execute(update(ImportRun).where(ImportRun.id == run.id).values(stored_name=""))
    db.session.refresh(run)


def confirm(user, run: ImportRun, url_root: str = "") -> bool:
    """previewed (or failed) → queued, once; the caller commits and then enqueues the job.
    `url_root` is the address the confirming person uses: links the job sends point there."""
    if not (run.preview or {}).get("total"):
        raise Conflict(_("The file has no rows to import."))
    done = db.session.execute(
        update(ImportRun).where(ImportRun.id == run.id, ImportRun.status.in_(("previewed", "failed")))
        .values(status="queued", confirmed_by_id=user.id, confirmed_at=utcnow(), failure="", url_root=url_root[:200])
        .execution_options(synchronize_session=False)).rowcount
    if not done:
        raise Conflict(_("This import has already been confirmed."))
    record("import_confirmed", run, actor=user, object_name=run.file_name,
           summary=f"{run.kind}: {_counts_text(run.preview)}")
    db.session.refresh(run)
    return True


def not_enqueued(run_id: int) -> None:
    """The job could not be queued: the run goes back to failed, to be confirmed again. The caller commits."""
    db.session.execute(update(ImportRun).where(ImportRun.id == run_id, ImportRun.status == "queued")
                       .values(status="failed", failure=_("The job queue did not answer; confirm again.")))


def _counts_text(counts: dict) -> str:
    return ", ".join(f"{k} {counts.get(k, 0)}" for k in ("total", CREATED, UPDATED, UNCHANGED, "skipped"))


# --- the job ------------------------------------------------------------------------------------

def execute(run_id: int, on_progress=None) -> dict | None:
    """Write the confirmed import, all or nothing. Returns its report; None when the run is not
    waiting (already done, running elsewhere, discarded): running the job twice writes once."""
    claimed = db.session.execute(
        update(ImportRun).where(ImportRun.id == run_id, ImportRun.status == "queued")
        .values(status="running", started_at=utcnow()).execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    if not claimed:
        return None
    run = db.session.get(ImportRun, run_id)
    path = folder() / run.stored_name if run.stored_name else None
    try:
        if path is None or not path.exists():
            raise UnreadableFile(_("The uploaded file is no longer on the server: upload it again."))
        tally = _run(run, path, on_progress=on_progress)
        report = tally.as_dict()
        run.report, run.status, run.finished_at = report, "done", utcnow()
        record("import_done", run, actor=run.confirmed_by, object_name=run.file_name,
               summary=f"{run.kind}: {_counts_text(report)}")
        db.session.commit()
    except Exception as exc:
        db.session.rollback()
        reason = str(exc) if isinstance(exc, UnreadableFile | RuleError) else _(
            "The import stopped on an unexpected error; nothing of the file was written. (%(error)s)",
            error=type(exc).__name__)
        db.session.execute(update(ImportRun).where(ImportRun.id == run_id)
                           .values(status="failed", failure=reason, finished_at=utcnow()))
        db.session.commit()
        if isinstance(exc, UnreadableFile | RuleError):
            return None
        raise
    path.unlink(missing_ok=True)
    run.stored_name = ""
    db.session.commit()
    return report


def forget_stale_files(now=None) -> int:
    """Uploaded files of imports left waiting: previews nobody confirmed within IMPORT_FILE_DAYS are
    discarded, and a failed import's file is deleted after as long (trying again then asks for the
    file again). Returns how many files were deleted. The caller commits."""
    before = (now or utcnow()) - timedelta(days=current_app.config["IMPORT_FILE_DAYS"])
    stale = db.session.scalars(select(ImportRun).where(ImportRun.status.in_(("previewed", "failed")),
                                                       ImportRun.created_at < before,
                                                       ImportRun.stored_name != "")).all()
    for run in stale:
        (folder() / run.stored_name).unlink(missing_ok=True)
        if run.status == "previewed":
            run.status = "discarded"
        run.stored_name = ""
    return len(stale)


# --- lists ----------------------------------------------------------------------------------------

def recent_runs(user, limit: int = 20) -> list[ImportRun]:
    communities = reach(user)
    stmt = select(ImportRun).order_by(ImportRun.id.desc()).limit(limit)
    if communities is not None:
        stmt = stmt.where(ImportRun.community_id.in_(communities))  # as the policy's rule for one run
    return list(db.session.scalars(stmt))


def community_of(user) -> str:
    """The community a secretary imports for ('' for the administrator)."""
    communities = reach(user)
    if not communities:
        return ""
    return "、".join(db.session.scalars(select(Community.name).where(Community.id.in_(communities))
                                      .order_by(Community.id)))


def community_name(run: ImportRun) -> str:
    if run.community_id is None:
        return ""
    return db.session.scalar(select(Community.name).where(Community.id == run.community_id)) or ""


def confirmed_by_name(run: ImportRun) -> str:
    if run.confirmed_by_id is None:
        return ""
    return db.session.scalar(select(User.display_name).where(User.id == run.confirmed_by_id)) or ""


# --- templates and exports: the same columns both ways ------------------------------------------

def _columns(kind: Kind, gated: bool = True) -> list[Column]:
    """The kind's columns; `gated`: its personal ones marked, so an export leaves them out unless asked."""
    return [Column(f.header + ("*" if f.required else ""), f.width, personal=gated and f.personal)
            for f in kind.fields]


def template_book(kind: Kind) -> bytes:
    """An empty sheet to fill in: the instructions, the headers (* required), one example row."""
    book = Book(_("%(what)s — import template. Columns marked * are required; the row starting with "
                  "%(mark)s is an example and is never imported. %(notes)s",
                  what=kind.label, mark=EXAMPLE_MARK, notes=kind.notes))
    sheet = book.sheet(str(kind.label), _columns(kind, gated=False))
    example = [f.example for f in kind.fields]
    example[0] = f"{EXAMPLE_MARK}：{example[0]}"
    sheet.append(example)
    return book.to_bytes()


def export_book(user, kind: Kind, personal_reason: str = "") -> Book:
    """What the town holds, in the template's columns: a file that imports back unchanged. Without a
    reason for personal columns, those are left out (importing such a file keeps what the town has)."""
    communities = reach(user)
    if kind.town_only and communities is not None:
        raise Forbidden(_("Only the administrator exports this."))
    book = Book(heading(str(kind.label), user), personal_reason=personal_reason)
    sheet = book.sheet(str(kind.label), _columns(kind))
    for row in kind.export_rows(Places(the_town(), communities)):
        sheet.append(row)
    return book
