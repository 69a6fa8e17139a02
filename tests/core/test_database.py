"""SQLite runs in WAL mode and serialises writers with BEGIN IMMEDIATE: no "database is locked"."""
import threading

import pytest
from sqlalchemy import select, text

from gridapp.extensions import db
from gridapp.grid.models import Town
from tests.conftest import TEST_DATABASE_URL

sqlite_only = pytest.mark.skipif(bool(TEST_DATABASE_URL), reason="SQLite settings")


@sqlite_only
def test_sqlite_pragmas(app):
    assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    assert db.session.execute(text("PRAGMA busy_timeout")).scalar() == 30000
    assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1


@sqlite_only
def test_concurrent_read_then_write_transactions_neither_fail_nor_lose_updates(app):
    db.session.add(Town(name="0"))
    db.session.commit()
    threads, errors = 8, []
    per_thread = 15

    def bump():
        try:
            with app.app_context():
                for _ in range(per_thread):
                    town = db.session.scalars(select(Town)).one()  # read …
                    town.name = str(int(town.name) + 1)  # … then write, in one transaction
                    db.session.commit()
                db.session.remove()
        except Exception as exc:  # collected and asserted below
            errors.append(repr(exc))

    workers = [threading.Thread(target=bump) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    db.session.expire_all()
    assert db.session.scalars(select(Town)).one().name == str(threads * per_thread)


def _raw(app):
    import sqlite3

    return sqlite3.connect(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"), isolation_level=None,
                           timeout=0.1)


@sqlite_only
def test_a_page_view_reads_while_another_connection_holds_the_write_lock(app):
    """Page views begin DEFERRED: a long write elsewhere does not hold up reading a page (with
    BEGIN IMMEDIATE for every transaction, this GET waited for the writer). A POST still takes
    the write lock at BEGIN: it waits for the writer, then goes through."""
    db.session.add(Town(name="镇"))
    db.session.commit()
    app.config["WTF_CSRF_ENABLED"] = False
    app.add_url_rule("/_t/town", "t_town", lambda: db.session.scalars(select(Town)).one().name)
    app.add_url_rule("/_t/rename", "t_rename", methods=["POST"], view_func=lambda: _rename("镇2"))
    writer = _raw(app)
    try:
        page, held = _while_write_locked(writer, lambda: app.test_client().get("/_t/town"), wait=5)
        assert not held, "the page view waited for the writer"
        assert page.status_code == 200 and page.get_data(as_text=True) == "镇"
        post, waited = _while_write_locked(writer, lambda: app.test_client().post("/_t/rename"), wait=1)
        assert waited, "the POST did not wait for the write lock"
        assert post.status_code == 200
    finally:
        if writer.in_transaction:
            writer.execute("ROLLBACK")
        writer.close()
    db.session.expire_all()
    assert db.session.scalars(select(Town)).one().name == "镇2"


def _while_write_locked(writer, request, wait: float):
    """Send `request` from a thread while `writer` holds SQLite's write lock (with an uncommitted
    change); release the lock after `wait` seconds at most. Returns (the answer, whether the
    request was still waiting when the lock was released)."""
    answers = []
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE towns SET name = 'x'")
    thread = threading.Thread(target=lambda: answers.append(request()))
    thread.start()
    thread.join(timeout=wait)
    waiting = thread.is_alive()
    writer.execute("ROLLBACK")
    thread.join()
    return answers[0], waiting


def _rename(name):
    town = db.session.scalars(select(Town)).one()
    town.name = name
    db.session.commit()
    return "ok"


@sqlite_only
def test_a_page_view_that_writes_after_another_commit_runs_again_with_the_write_lock(app):
    """Read, someone else commits, then write: SQLite refuses the deferred upgrade (BUSY_SNAPSHOT);
    the view runs again from the start with BEGIN IMMEDIATE, and nothing is lost or doubled."""
    db.session.add(Town(name="0"))
    db.session.commit()
    attempts = []

    def view():
        town = db.session.scalars(select(Town)).one()  # the read that fixes the snapshot
        if not attempts:
            other = _raw(app)
            other.execute("UPDATE towns SET name = '10'")  # committed elsewhere meanwhile
            other.close()
        attempts.append(town.name)
        town.name = str(int(town.name) + 1)  # the write after it
        db.session.commit()
        return town.name

    app.add_url_rule("/_t/bump", "t_bump", view)
    resp = app.test_client().get("/_t/bump")
    assert resp.status_code == 200
    assert attempts == ["0", "10"]  # the first attempt saw the old value and was refused
    assert resp.get_data(as_text=True) == "11"
    db.session.expire_all()
    assert db.session.scalars(select(Town)).one().name == "11"
