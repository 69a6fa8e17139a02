"""Backups of the town: one archive holds the database and the uploaded photos; restore puts both back.

    made = create_backup("/srv/backups", keep=7)       # -> Backup(path, manifest, pruned)
    done = restore_backup(path, replace=False)          # -> Restored(manifest, differences, notes)

An archive, `gridapp-backup-YYYYMMDD-HHMMSS.tar.gz` (the town's time), holds:

    database.sqlite3 | database.pgdump   the database, consistent at one instant while the app writes
    uploads/<name>                       every file under <instance>/uploads/
    manifest.json                        what the archive should restore to (see _manifest)

SQLite is copied with its online backup API in one step, so the copy is one snapshot even while
others write (WAL lets them go on); the rows are counted in that copy. PostgreSQL is dumped by
`pg_dump --format=custom` inside a snapshot that this module exports and counts the rows in, so
the manifest's counts are those of the dump. The database is taken before the photos: a photo is
written before the row that names it commits, so every photo the database names is in the archive.

An archive is written under a temporary name in the target folder and renamed when complete: a
folder never holds half an archive under a backup's name. Restoring refuses a database that holds
rows (unless told to replace them), an archive that is not a gridapp backup, and a backup of the
other kind of database; afterwards it counts the rows and hashes the photos against the manifest.
"""
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import func, inspect, select, table, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from gridapp.config import PROJECT_ROOT
from gridapp.extensions import db
from gridapp.timeutil import to_local, utcnow
from gridapp.uploads import upload_dir

FORMAT = "gridapp-backup"
FORMAT_VERSION = 1
PREFIX = "gridapp-backup-"
ARCHIVE_NAME = re.compile(r"^gridapp-backup-(\d{8}-\d{6})(?:-(\d+))?\.tar\.gz$")
MANIFEST = "manifest.json"
PHOTOS = "uploads"
DATABASE_FILES = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
MIGRATIONS = PROJECT_ROOT / "migrations"
_CHUNK = 1024 * 1024
# Alembic's own bookkeeping: a database that holds only its revision is still empty of the town.
_NOT_TOWN_DATA = {"alembic_version"}
# What reading a damaged or foreign file as a .tar.gz can raise.
_ARCHIVE_ERRORS = (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile, UnicodeDecodeError)


class BackupError(RuntimeError):
    """A backup or restore that cannot be done; str(exc) says why, for the operator."""


@dataclass
class Backup:
    path: Path
    manifest: dict
    pruned: list[Path] = field(default_factory=list)


@dataclass
class Restored:
    manifest: dict
    differences: list[str]
    notes: list[str] = field(default_factory=list)


# --- backing up ---------------------------------------------------------------------------------

def create_backup(folder, keep: int | None = None, now=None) -> Backup:
    """Write one archive of the database and the photos into `folder`; then keep the `keep` newest
    archives there (None or 0: keep all). `now` (aware) names it; default: the clock."""
    now = now or utcnow()
    folder = Path(folder)
    kind = _kind()
    if folder.resolve().is_relative_to(upload_dir().resolve()):
        raise BackupError(f"{folder} is inside the photo folder {upload_dir()}: choose a folder outside it")
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        # The work happens inside the target folder, so the finished archive is renamed, not copied.
        with tempfile.TemporaryDirectory(prefix=f".{PREFIX}", dir=folder) as work:
            dump = Path(work) / DATABASE_FILES[kind]
            database = _dump_sqlite(dump) if kind == "sqlite" else _dump_postgresql(dump)
            partial = Path(work) / "archive.tar.gz"
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # it holds personal data
            with os.fdopen(fd, "wb") as raw:
                with tarfile.open(fileobj=raw, mode="w:gz") as tar:
                    database["file"] = _add_file(tar, dump, DATABASE_FILES[kind])
                    photos = _add_photos(tar, upload_dir())
                    manifest = _manifest(now, kind, database, photos)
                    _add_bytes(tar, MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2).encode())
                raw.flush()
                os.fsync(raw.fileno())
            path = _publish(partial, folder, now)
    except OSError as exc:
        raise BackupError(f"cannot write the backup into {folder}: {exc}") from exc
    except DBAPIError as exc:
        raise BackupError(f"the database did not answer: {exc.orig}") from exc
    return Backup(path, manifest, prune(folder, keep) if keep else [])


def archives(folder) -> list[Path]:
    """The gridapp backups in `folder`, oldest first (by the time in their names)."""
    found = []
    for path in Path(folder).iterdir():
        m = ARCHIVE_NAME.match(path.name)
        if m and path.is_file():
            found.append(((m.group(1), int(m.group(2) or 1)), path))
    return [path for _key, path in sorted(found)]


def prune(folder, keep: int) -> list[Path]:
    """Delete all but the `keep` newest gridapp backups in `folder` (nothing else); the deleted."""
    if keep < 1:
        return []
    old = archives(folder)[:-keep]
    for path in old:
        path.unlink(missing_ok=True)  # another run may have pruned it already
    return old


def _kind() -> str:
    kind = db.engine.dialect.name
    if kind not in DATABASE_FILES:
        raise BackupError(f"backing up a {kind} database is not supported (SQLite and PostgreSQL are)")
    return kind


def _publish(partial: Path, folder: Path, now) -> Path:
    """Give the finished archive its name: the town's time, and -2, -3 … for a second one that second."""
    stamp = to_local(now).strftime("%Y%m%d-%H%M%S")
    n = 1
    while True:
        path = folder / f"{PREFIX}{stamp}{'' if n == 1 else f'-{n}'}.tar.gz"
        if not path.exists():
            break
        n += 1
    os.replace(partial, path)
    _fsync_dir(folder)
    return path


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _manifest(now, kind: str, database: dict, photos: list[dict]) -> dict:
    counts = database.pop("row_counts")
    revision = database.pop("revision")
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created_at": now.isoformat(),
        "created_at_town": to_local(now).isoformat(),
        # The revision the database says it is at (None when it was made without migrations), and
        # the newest this code knows.
        "schema": {"database_revision": revision, "code_head": _scripts().get_current_head()},
        "database": {"kind": kind, **database},
        "row_counts": counts,
        "photos": photos,
    }


def _scripts() -> ScriptDirectory:
    return ScriptDirectory(str(MIGRATIONS))


def _dump_sqlite(target: Path) -> dict:
    source = db.engine.url.database
    if not source or source == ":memory:" or source.startswith("file:"):
        raise BackupError("only a SQLite database in a file can be backed up")
    if not Path(source).is_file():
        raise BackupError(f"the database file {source} does not exist")
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(target)
    try:
        # pages=-1 copies every page in one step, under one read transaction: a single snapshot,
        # while writers go on in the WAL (a step-wise copy would restart whenever they commit).
        src.backup(dst, pages=-1)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        counts = _sqlite_counts(dst)
        revision = _sqlite_revision(dst)
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite could not copy the database: {exc}") from exc
    finally:
        dst.close()
        src.close()
    return {"row_counts": counts, "revision": revision, "engine": f"SQLite {sqlite3.sqlite_version}"}


def _sqlite_counts(conn: sqlite3.Connection) -> dict[str, int]:
    names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                        "AND name NOT LIKE 'sqlite~_%' ESCAPE '~' ORDER BY name")]
    return {name: conn.execute(f'SELECT count(*) FROM "{name.replace(chr(34), chr(34) * 2)}"').fetchone()[0]
            for name in names}


def _sqlite_revision(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:
        return None
    return row[0] if row else None


def _dump_postgresql(target: Path) -> dict:
    uri, env = _libpq(db.engine.url)
    with db.engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
        server = conn.execute(text("SHOW server_version")).scalar_one()
        server_major = int(conn.execute(text("SHOW server_version_num")).scalar_one()) // 10000
        pg_dump, version = _pg_tool("pg_dump", server_major)
        if version[0] < server_major:
            raise BackupError(f"{pg_dump} is version {version[0]} and cannot dump a PostgreSQL {server_major} "
                              f"server: install the client tools of version {server_major} "
                              f"(Debian/Ubuntu: postgresql-client-{server_major})")
        # pg_dump reads the snapshot this transaction exports, so the rows counted here are the
        # rows it dumps, whatever commits meanwhile.
        snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
        counts = _counts(conn)
        revision = _pg_revision(conn)
        _run([pg_dump, "--format=custom", f"--snapshot={snapshot}", "--no-password",
              f"--file={target}", f"--dbname={uri}"], env, "pg_dump")
    return {"row_counts": counts, "revision": revision, "engine": f"PostgreSQL {server}",
            "tool": f"pg_dump {'.'.join(map(str, version))}", "tool_major": version[0]}


def _pg_revision(conn) -> str | None:
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _pg_tool(name: str, server_major: int) -> tuple[str, tuple[int, ...]]:
    """The path and version of a PostgreSQL client program, or a BackupError saying what to install."""
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed (or not on PATH): install the PostgreSQL client tools of "
                          f"the server's version {server_major} (Debian/Ubuntu: apt-get install "
                          f"postgresql-client-{server_major})")
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=60, check=False).stdout
    except OSError as exc:
        raise BackupError(f"{path} does not run: {exc}") from exc
    m = re.search(r"\)\s*(\d+)(?:\.(\d+))?", out) or re.search(r"(\d+)(?:\.(\d+))?", out)
    if not m:
        raise BackupError(f"{path} --version said {out.strip()!r}: not a PostgreSQL client program")
    return path, tuple(int(g) for g in m.groups() if g is not None)


def _libpq(url) -> tuple[str, dict]:
    """The URL as libpq reads it, without the password, which travels in PGPASSWORD instead (the
    command line is visible to every user of the machine)."""
    url = make_url(url)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False), env


def _run(args: list[str], env: dict, name: str) -> None:
    try:
        done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise BackupError(f"{name} does not run: {exc}") from exc
    if done.returncode != 0:
        raise BackupError(f"{name} failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")


def _counts(conn) -> dict[str, int]:
    """Rows per table of every schema the application can see (`schema.table` outside the default)."""
    insp = inspect(conn)
    default = insp.default_schema_name
    if conn.dialect.name == "postgresql":
        schemas = [s for s in insp.get_schema_names() if s != "information_schema" and not s.startswith("pg_")]
    else:
        schemas = [default]
    counts = {}
    for schema in schemas:
        for name in insp.get_table_names(schema=schema):
            key = name if schema == default else f"{schema}.{name}"
            sql = select(func.count()).select_from(table(name, schema=None if schema == default else schema))
            counts[key] = conn.execute(sql).scalar_one()
    return dict(sorted(counts.items()))


def _add_file(tar: tarfile.TarFile, path: Path, arcname: str) -> dict:
    info = tar.gettarinfo(str(path), arcname)
    info.mode = 0o600
    _anonymous(info)
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        tar.addfile(info, _Hashing(fh, digest))
    return {"path": arcname, "size": info.size, "sha256": digest.hexdigest()}


def _add_photos(tar: tarfile.TarFile, folder: Path) -> list[dict]:
    """Every regular file under the photo folder, read once: what is hashed is what is archived."""
    photos = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
        rel = path.relative_to(folder).as_posix()
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            continue  # replaced and deleted since the listing
        _add_bytes(tar, f"{PHOTOS}/{rel}", data)
        photos.append({"path": rel, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()})
    return photos


def _add_bytes(tar: tarfile.TarFile, arcname: str, data: bytes) -> None:
    info = tarfile.TarInfo(arcname)
    info.size = len(data)
    info.mode = 0o600
    info.mtime = int(utcnow().timestamp())
    _anonymous(info)
    tar.addfile(info, io.BytesIO(data))


def _anonymous(info: tarfile.TarInfo) -> None:
    info.uid = info.gid = 0
    info.uname = info.gname = ""


class _Hashing:
    """A file read through, hashing what tarfile reads."""

    def __init__(self, fh, digest):
        self._fh, self._digest = fh, digest

    def read(self, size=-1):
        data = self._fh.read(size)
        self._digest.update(data)
        return data


# --- restoring ----------------------------------------------------------------------------------

def read_manifest(archive) -> dict:
    """The manifest of a backup archive, checked; BackupError for anything that is not one."""
    with _open(archive) as tar:
        return _read_manifest(tar, Path(archive))


def restore_backup(archive, replace: bool = False) -> Restored:
    """Put the archive's database into the configured one and its photos into <instance>/uploads/,
    then check both against the manifest. Refuses a database that holds rows unless `replace`."""
    try:
        return _restore(Path(archive), replace)
    except DBAPIError as exc:
        raise BackupError(f"the database did not answer: {exc.orig}") from exc
    except OSError as exc:
        raise BackupError(f"restoring {archive} failed: {exc}") from exc


def _restore(archive: Path, replace: bool) -> Restored:
    kind = _kind()
    with _open(archive) as tar:
        manifest = _read_manifest(tar, archive)
        notes = _check_fits(manifest, kind)
        present = {t: n for t, n in _live_counts().items() if n and t not in _NOT_TOWN_DATA}
        if present and not replace:
            raise BackupError(f"the database is not empty ({sum(present.values())} rows in {len(present)} tables): "
                              f"stop the web and the workers, then restore with --yes to replace it")
        db.session.remove()
        db.engine.dispose()  # no connection of ours holds a table pg_restore drops
        try:
            # In the instance folder, not /tmp (often a small RAM disk): a town's dump can be large.
            with tempfile.TemporaryDirectory(prefix=f".{PREFIX}restore-", dir=upload_dir().parent) as work:
                entry = manifest["database"]["file"]
                dump = _extract(tar, entry["path"], Path(work) / "database", entry["sha256"])
                if kind == "sqlite":
                    _restore_sqlite(dump)
                else:
                    _restore_postgresql(dump, manifest)
            folder = upload_dir()
            differences = _restore_photos(tar, manifest["photos"], folder)
        except _ARCHIVE_ERRORS as exc:
            raise BackupError(f"{archive} is damaged: {exc}") from exc
    db.engine.dispose()
    differences += verify(manifest)
    extra = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    extra -= {p["path"] for p in manifest["photos"]}
    if extra:
        notes.append(f"{len(extra)} files in {folder} are not in the backup; they were left in place")
    return Restored(manifest, differences, notes)


def verify(manifest: dict) -> list[str]:
    """What the configured database and photo folder hold that differs from the manifest."""
    differences = []
    live = _live_counts()
    for name, expected in manifest["row_counts"].items():
        found = live.get(name)
        if found is None:
            differences.append(f"table {name}: missing (the backup has {expected} rows)")
        elif found != expected:
            differences.append(f"table {name}: {found} rows, the backup has {expected}")
    for name in sorted(set(live) - set(manifest["row_counts"])):
        if live[name]:
            differences.append(f"table {name}: {live[name]} rows, not in the backup")
    folder = upload_dir()
    for photo in manifest["photos"]:
        path = folder / photo["path"]
        if not path.is_file():
            differences.append(f"photo {photo['path']}: missing")
        elif _sha256(path) != photo["sha256"]:
            differences.append(f"photo {photo['path']}: its content differs from the backup's")
    return differences


def _open(archive) -> tarfile.TarFile:
    archive = Path(archive)
    if not archive.is_file():
        raise BackupError(f"{archive} does not exist or is not a file")
    try:
        return tarfile.open(archive, mode="r:gz")
    except _ARCHIVE_ERRORS as exc:
        raise BackupError(f"{archive} is not a gridapp backup (not a .tar.gz archive: {exc})") from exc


def _read_manifest(tar: tarfile.TarFile, archive: Path) -> dict:
    try:
        member = tar.getmember(MANIFEST)
        data = tar.extractfile(member).read() if member.isfile() else None
    except KeyError:
        raise BackupError(f"{archive} is not a gridapp backup: it has no {MANIFEST}") from None
    except _ARCHIVE_ERRORS as exc:
        raise BackupError(f"{archive} is damaged: {exc}") from exc
    try:
        manifest = json.loads(data) if data is not None else None
    except ValueError:
        manifest = None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{archive} is not a gridapp backup: its {MANIFEST} is not a gridapp manifest")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise BackupError(f"{archive} was written in backup format {version!r}, which this gridapp does not "
                          f"read (it reads up to {FORMAT_VERSION}): restore it with a newer gridapp")
    if not _well_formed(manifest):
        raise BackupError(f"{archive} has a damaged {MANIFEST}")
    return manifest


def _well_formed(m: dict) -> bool:
    database, counts, photos = m.get("database"), m.get("row_counts"), m.get("photos")
    return (isinstance(database, dict) and database.get("kind") in DATABASE_FILES
            and isinstance(database.get("file"), dict)
            and database["file"].get("path") == DATABASE_FILES[database["kind"]]
            and isinstance(database["file"].get("sha256"), str)
            and isinstance(m.get("schema"), dict)
            and isinstance(counts, dict) and all(isinstance(n, int) for n in counts.values())
            and isinstance(photos, list)
            and all(isinstance(p, dict) and _safe_path(p.get("path")) and isinstance(p.get("sha256"), str)
                    for p in photos))


def _safe_path(value) -> bool:
    """A relative path that stays inside the photo folder."""
    if not isinstance(value, str) or not value or "\\" in value or "\0" in value:
        return False
    path = PurePosixPath(value)
    return not path.is_absolute() and all(part not in ("", ".", "..") for part in path.parts)


def _check_fits(manifest: dict, kind: str) -> list[str]:
    """Refuse a backup this installation cannot take; notes on what to do after restoring it."""
    made = manifest["database"]["kind"]
    if made != kind:
        raise BackupError(f"this backup holds a {made} database and gridapp is configured for {kind}: restore "
                          f"it into a {made} database (DATABASE_URL); moving between SQLite and PostgreSQL "
                          f"is not supported")
    revision = manifest["schema"].get("database_revision")
    if not revision:
        return []
    scripts = _scripts()
    try:
        scripts.get_revision(revision)
    except CommandError:
        raise BackupError(f"this backup was made by a newer gridapp (schema revision {revision}, unknown to this "
                          f"one): restore it with that version or a later one") from None
    head = scripts.get_current_head()
    if revision != head:
        return [f"the backup's schema is at revision {revision}; run `flask --app wsgi db upgrade` to bring it "
                f"to {head}"]
    return []


def _live_counts() -> dict[str, int]:
    with db.engine.connect() as conn:
        return _counts(conn)


def _extract(tar: tarfile.TarFile, name: str, target: Path, sha256: str) -> Path:
    try:
        member = tar.getmember(name)
    except KeyError:
        raise BackupError(f"the archive has no {name}, though its manifest names it") from None
    if not member.isfile():
        raise BackupError(f"{name} in the archive is not a file")
    digest = hashlib.sha256()
    with tar.extractfile(member) as src, open(target, "wb") as dst:
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
            dst.write(chunk)
    if digest.hexdigest() != sha256:
        raise BackupError(f"{name} in the archive is damaged (its checksum differs from the manifest's)")
    return target


def _restore_sqlite(dump: Path) -> None:
    target = db.engine.url.database
    if not target or target == ":memory:" or target.startswith("file:"):
        raise BackupError("only a SQLite database in a file can be restored into")
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(dump)
    dst = sqlite3.connect(target, timeout=30)
    try:
        # Through SQLite, page by page under its locks: never a file swapped under an open connection.
        src.backup(dst, pages=-1)
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite could not restore the database into {target}: {exc}") from exc
    finally:
        dst.close()
        src.close()


def _restore_postgresql(dump: Path, manifest: dict) -> None:
    with db.engine.connect() as conn:
        server_major = int(conn.execute(text("SHOW server_version_num")).scalar_one()) // 10000
    pg_restore, version = _pg_tool("pg_restore", server_major)
    made_by = manifest["database"].get("tool_major") or 0
    if version[0] < made_by:
        raise BackupError(f"{pg_restore} is version {version[0]} and cannot read a dump of pg_dump {made_by}: "
                          f"install the client tools of version {made_by} or later")
    uri, env = _libpq(db.engine.url)
    # One transaction: a restore that fails half-way leaves the database as it was.
    _run([pg_restore, "--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
          "--exit-on-error", "--no-password", f"--dbname={uri}", str(dump)], env, "pg_restore")


def _restore_photos(tar: tarfile.TarFile, photos: list[dict], folder: Path) -> list[str]:
    problems = []
    for photo in photos:
        name = f"{PHOTOS}/{photo['path']}"
        try:
            member = tar.getmember(name)
        except KeyError:
            problems.append(f"photo {photo['path']}: not in the archive, though its manifest names it")
            continue
        if not member.isfile():
            problems.append(f"photo {photo['path']}: not a file in the archive")
            continue
        target = folder / photo["path"]
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.restoring")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as dst, tar.extractfile(member) as src:
            shutil.copyfileobj(src, dst, _CHUNK)
        os.replace(partial, target)
    return problems


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
