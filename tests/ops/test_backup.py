"""Backups: a seeded town backed up while it runs, restored into an empty database, compared table by
table and photo by photo; pruning; what restore refuses; `flask backup|restore`; the nightly job
(its function, which a worker and `flask jobs run backup` call).
On SQLite by default, on PostgreSQL with TEST_DATABASE_URL (pg_dump and pg_restore on PATH)."""
import hashlib
import io
import json
import tarfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import create_engine, func, inspect, select, table, text
from sqlalchemy.engine import make_url
from werkzeug.datastructures import FileStorage

from gridapp import create_app
from gridapp.audit.models import AuditEvent
from gridapp.auth.models import LoginSession
from gridapp.config import ConfigError, backup_cron, normalise_database_url
from gridapp.demo import seed
from gridapp.extensions import db
from gridapp.ops.backup import BackupError, archives, create_backup, read_manifest, restore_backup
from gridapp.timeutil import utcnow
from gridapp.uploads import save_image, upload_dir
from jobs.cli import register_jobs_cli
from jobs.maintenance import back_up
from jobs.periodic import by_name
from tests.conftest import TEST_DATABASE_URL, test_config

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def empty_target(app, tmp_path):
    """A second app on a brand-new database of the suite's kind (PostgreSQL: gp_…_restore, dropped
    afterwards), with its own instance folder, so its own photo folder."""
    admin = None
    if TEST_DATABASE_URL:
        url = make_url(normalise_database_url(TEST_DATABASE_URL))
        name = f"{url.database}_restore"
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        uri = url.set(database=name).render_as_string(hide_password=False)
    else:
        uri = f"sqlite:///{tmp_path / 'restored.db'}"
    target = create_app(test_config(SQLALCHEMY_DATABASE_URI=uri, INSTANCE_PATH=str(tmp_path / "restored"),
                                    REDIS_URL=app.config["REDIS_URL"]))
    yield target
    with target.app_context():
        db.session.remove()
        db.engine.dispose()
    if admin is not None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def counts() -> dict[str, int]:
    """Rows in every table of the current app's database (the test's own count, not the module's)."""
    db.session.commit()
    with db.engine.connect() as conn:
        return {t: conn.execute(select(func.count()).select_from(table(t))).scalar_one()
                for t in inspect(conn).get_table_names()}


def contents() -> dict[str, list[tuple]]:
    """Every row of every table of the app, in primary-key order."""
    out = {}
    with db.engine.connect() as conn:
        for t in db.metadata.sorted_tables:
            out[t.name] = [tuple(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns))]
    return out


def photo_hashes() -> dict[str, str]:
    folder = upload_dir()
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in folder.rglob("*") if p.is_file()}


def upload_photos(n: int) -> list[str]:
    """Photos stored the way a form's upload is (gridapp.uploads)."""
    names = []
    for i in range(n):
        out = io.BytesIO()
        Image.new("RGB", (40 + i, 30), (40 * i, 120, 200)).save(out, "PNG" if i % 2 else "JPEG")
        names.append(save_image(FileStorage(stream=io.BytesIO(out.getvalue()), filename=f"p{i}.jpg")))
    return names


def repack(archive: Path, target: Path, manifest=None, members=None) -> Path:
    """A copy of a backup archive with its manifest edited (manifest(dict)) or members' bytes replaced."""
    with tarfile.open(archive, "r:gz") as src, tarfile.open(target, "w:gz") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()
            if member.name == "manifest.json" and manifest:
                data = json.dumps(manifest(json.loads(data))).encode()
            if members and member.name in members:
                data = members[member.name]
            member.size = len(data)
            dst.addfile(member, io.BytesIO(data))
    return target


def test_a_seeded_town_backs_up_and_restores_into_an_empty_database(app, clock, tmp_path, empty_target):
    clock.town("2026-11-30 02:30:00")
    seed()
    db.session.commit()
    uploaded = upload_photos(3)
    before, rows, photos = counts(), contents(), photo_hashes()
    assert sum(1 for n in before.values() if n) >= 25, "the demo town fills most tables"
    assert set(uploaded) <= set(photos)

    made = create_backup(tmp_path / "backups")

    assert made.path.name == "gridapp-backup-20261130-023000.tar.gz"  # the town's time
    assert [p.name for p in (tmp_path / "backups").iterdir()] == [made.path.name]  # nothing half-written left
    assert made.path.stat().st_mode & 0o077 == 0  # personal data: the owner's only
    manifest = read_manifest(made.path)
    assert manifest["row_counts"] == before
    assert manifest["database"]["kind"] == db.engine.dialect.name
    assert {p["path"]: p["sha256"] for p in manifest["photos"]} == photos
    with empty_target.app_context():
        assert sum(counts().values()) == 0 and photo_hashes() == {}
        done = restore_backup(made.path)
        assert done.differences == []
        assert counts() == before
        assert contents() == rows
        assert photo_hashes() == photos


def test_a_backup_taken_while_rows_are_written_holds_one_instant(app, world, tmp_path, empty_target):
    """A writer commits an audit event and a login session together, again and again, during the
    backup: the archive holds both rows of every transaction or neither, and restores as counted."""
    user_id = world.vol1.id
    base = counts()  # also ends the test's transaction: SQLite's writer lock is free for the thread
    written, failures, stop = [0], [], threading.Event()

    def writer():
        with app.app_context():
            try:
                while not stop.is_set():
                    n = written[0]
                    db.session.add(AuditEvent(action="backup-test", summary=str(n)))
                    db.session.add(LoginSession(id=f"writer-{n}", user_id=user_id, last_seen_at=utcnow()))
                    db.session.commit()
                    written[0] = n + 1
            except Exception as exc:  # reported by the test below
                failures.append(exc)
            finally:
                db.session.remove()

    def wait_for(n):
        deadline = time.monotonic() + 30
        while written[0] < n and not failures and time.monotonic() < deadline:
            time.sleep(0.005)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        wait_for(20)
        made = create_backup(tmp_path)
        wait_for(written[0] + 20)
    finally:
        stop.set()
        thread.join()
    assert failures == []
    saved = made.manifest["row_counts"]
    added = saved["audit_events"] - base["audit_events"]
    assert saved["login_sessions"] - base["login_sessions"] == added
    assert 20 <= added <= written[0] - 20, "the backup was taken while the writer ran"
    with empty_target.app_context():
        assert restore_backup(made.path).differences == []
        assert counts() == saved


def test_keep_n_deletes_the_oldest_backups_and_nothing_else(app, world, clock, tmp_path):
    folder = tmp_path / "backups"
    folder.mkdir()
    for other in ("notes.txt", "gridapp-backup-manual.tar.gz", "gridapp-backup-20200101-000000.zip"):
        (folder / other).write_text("not ours to delete")
    clock.town("2026-11-27 02:30:00")
    made = []
    for _day in range(4):
        made.append(create_backup(folder, keep=2))
        clock.advance(timedelta(days=1))
    assert [m.path.name for m in made] == [f"gridapp-backup-202611{d}-023000.tar.gz" for d in (27, 28, 29, 30)]
    assert [p.name for p in made[2].pruned] == ["gridapp-backup-20261127-023000.tar.gz"]
    assert [p.name for p in made[3].pruned] == ["gridapp-backup-20261128-023000.tar.gz"]

    clock.advance(timedelta(days=-1))  # a second backup within the same second is the newer one
    again = create_backup(folder, keep=2)
    assert again.path.name == "gridapp-backup-20261130-023000-2.tar.gz"
    assert [p.name for p in again.pruned] == ["gridapp-backup-20261129-023000.tar.gz"]
    assert sorted(p.name for p in folder.iterdir()) == [
        "gridapp-backup-20200101-000000.zip", "gridapp-backup-20261130-023000-2.tar.gz",
        "gridapp-backup-20261130-023000.tar.gz", "gridapp-backup-manual.tar.gz", "notes.txt"]
    assert [p.name for p in archives(folder)][-1] == again.path.name
    assert create_backup(folder, keep=0).pruned == [] and len(archives(folder)) == 3


def test_restore_refuses_what_is_not_a_backup_it_can_take(app, world, tmp_path):
    made = create_backup(tmp_path / "backups")
    kind = db.engine.dialect.name
    other = "postgresql" if kind == "sqlite" else "sqlite"
    database_file = read_manifest(made.path)["database"]["file"]["path"]

    def bad(name, data):
        path = tmp_path / name
        path.write_bytes(data)
        return path

    def tar_of(name, files):
        path = tmp_path / name
        with tarfile.open(path, "w:gz") as tar:
            for member, data in files.items():
                info = tarfile.TarInfo(member)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        return path

    def other_kind(m):
        m["database"].update(kind=other, file={**m["database"]["file"],
                                                "path": "database.pgdump" if other == "postgresql" else
                                                "database.sqlite3"})
        return m

    cases = [
        (bad("photo.jpg", b"\xff\xd8 not an archive"), "not a gridapp backup"),
        (bad("empty.tar.gz", b""), "not a gridapp backup"),
        (tar_of("no-manifest.tar.gz", {"database.sqlite3": b"x"}), "has no manifest.json"),
        (tar_of("broken-manifest.tar.gz", {"manifest.json": b"{not json"}), "not a gridapp manifest"),
        (tar_of("foreign.tar.gz", {"manifest.json": b'{"format": "something-else"}'}), "not a gridapp manifest"),
        (bad("truncated.tar.gz", made.path.read_bytes()[: made.path.stat().st_size // 2]), "damaged"),
        (repack(made.path, tmp_path / "newer-format.tar.gz", manifest=lambda m: {**m, "format_version": 2}),
         "does not read"),
        (repack(made.path, tmp_path / "escaping.tar.gz",
                manifest=lambda m: {**m, "photos": [{"path": "../../etc/passwd", "size": 1, "sha256": "0"}]}),
         "damaged manifest"),
        (repack(made.path, tmp_path / "newer-schema.tar.gz",
                manifest=lambda m: {**m, "schema": {"database_revision": "9999_from_the_future"}}),
         "newer gridapp"),
        (repack(made.path, tmp_path / "other-kind.tar.gz", manifest=other_kind),
         f"holds a {other} database .* not supported"),
        (repack(made.path, tmp_path / "bad-database.tar.gz", members={database_file: b"tampered"}),
         "damaged"),
    ]
    before = contents()
    for archive, message in cases:
        with pytest.raises(BackupError, match=message):
            restore_backup(archive, replace=True)
    assert contents() == before  # none of them touched the database


def test_flask_backup_and_restore_commands(app, world, clock, tmp_path):
    clock.town("2026-11-30 02:30:00")
    folder = tmp_path / "backups"
    before = counts()
    runner = app.test_cli_runner()
    app.config.update(BACKUP_DIR=None, BACKUP_KEEP=7)

    result = runner.invoke(args=["backup"])
    assert result.exit_code == 2 and "--to DIR, or set BACKUP_DIR" in result.output
    result = runner.invoke(args=["backup", "--to", str(upload_dir() / "backups")])
    assert result.exit_code == 1 and "inside the photo folder" in result.output
    result = runner.invoke(args=["backup", "--to", str(folder)])
    assert result.exit_code == 0, result.output
    assert f"Backup written: {folder / 'gridapp-backup-20261130-023000.tar.gz'}" in result.output
    clock.advance(timedelta(hours=1))
    app.config.update(BACKUP_DIR=str(folder), BACKUP_KEEP=1)
    result = runner.invoke(args=["backup"])
    assert result.exit_code == 0, result.output
    assert "Deleted the older backup gridapp-backup-20261130-023000.tar.gz" in result.output
    archive = folder / "gridapp-backup-20261130-033000.tar.gz"
    assert archives(folder) == [archive]

    result = runner.invoke(args=["restore", str(tmp_path / "missing.tar.gz")])
    assert result.exit_code == 2 and "does not exist" in result.output
    result = runner.invoke(args=["restore", str(ROOT / "README.md")])
    assert result.exit_code == 1 and "README.md is not a gridapp backup" in result.output
    assert isinstance(result.exception, SystemExit)  # a message, not a traceback

    db.session.add(AuditEvent(action="after-the-backup"))
    db.session.commit()
    result = runner.invoke(args=["restore", str(archive)])
    assert result.exit_code == 1 and "the database is not empty" in result.output and "--yes" in result.output
    assert counts()["audit_events"] == before["audit_events"] + 1  # untouched
    result = runner.invoke(args=["restore", str(archive), "--yes"])
    assert result.exit_code == 0, result.output
    assert "every table's row count and every photo's checksum match" in result.output
    assert counts() == before  # as it was at the backup: the later row is gone


def test_the_nightly_job_backs_up_into_backup_dir_and_keeps_backup_keep(app, world, clock, tmp_path):
    clock.town("2026-12-01 02:30:00")
    folder = tmp_path / "nightly"
    job = by_name("backup")
    assert job.func is back_up and job.cron == "30 2 * * *" and job.interval is None

    app.config.update(BACKUP_DIR=None)
    assert back_up() == "BACKUP_DIR is not set: no backup made"
    assert not folder.exists()

    app.config.update(BACKUP_DIR=str(folder), BACKUP_KEEP=2)
    for day in ("2026-11-28", "2026-11-29", "2026-11-30"):
        assert "written" in back_up(at=f"{day}T02:30:00+08:00")
    assert [p.name for p in archives(folder)] == ["gridapp-backup-20261129-023000.tar.gz",
                                                  "gridapp-backup-20261130-023000.tar.gz"]

    register_jobs_cli(app)  # as wsgi.py does
    result = app.test_cli_runner().invoke(args=["jobs", "run", "backup"])
    assert result.exit_code == 0, result.output
    assert "gridapp-backup-20261201-023000.tar.gz written, 1 older deleted" in result.output
    assert read_manifest(folder / "gridapp-backup-20261201-023000.tar.gz")["row_counts"] == counts()


def test_backup_cron_is_read_and_checked(monkeypatch):
    monkeypatch.setenv("BACKUP_CRON", "15 3 * * 0")
    assert backup_cron() == "15 3 * * 0"
    monkeypatch.setenv("BACKUP_CRON", "every night")
    with pytest.raises(ConfigError, match="BACKUP_CRON"):
        backup_cron()


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="pg_dump backs up PostgreSQL only")
def test_a_missing_or_old_pg_dump_is_explained(app, world, tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["backup", "--to", str(tmp_path / "out")])
    assert result.exit_code == 1 and "pg_dump is not installed" in result.output
    assert "postgresql-client-" in result.output and "Traceback" not in result.output

    old = bin_dir / "pg_dump"
    old.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n")
    old.chmod(0o755)
    result = runner.invoke(args=["backup", "--to", str(tmp_path / "out")])
    assert result.exit_code == 1 and "is version 9 and cannot dump a PostgreSQL" in result.output
    assert archives(tmp_path / "out") == []
