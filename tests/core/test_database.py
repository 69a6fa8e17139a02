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
