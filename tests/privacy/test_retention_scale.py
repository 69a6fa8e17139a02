"""The purge at a town's scale: thousands of expired errands and notices go in batches of BATCH ids, in
a number of statements that grows with the batches, not the rows. Prints the time and the statements
(pytest -s) for the README."""
import time

from sqlalchemy import func, select

from gridapp.errands.models import Errand
from gridapp.extensions import db
from gridapp.notifications.models import Notification
from gridapp.privacy import retention
from tests.privacy.retention_factories import D, T, bulk_closed_errands, notifications

ERRANDS, NOTICES = 3000, 10000


def test_thousands_of_expired_rows_in_few_statements(app, world, clock, count_queries):
    bulk_closed_errands(world, ERRANDS, T - 40 * D)
    bulk_closed_errands(world, 200, T - 10 * D)  # not yet expired
    for start in range(0, NOTICES, 2000):
        notifications(world, T - 100 * D, n=2000, start=start)
    clock.set(T)
    began = time.perf_counter()
    with count_queries() as q:
        run = retention.nightly(T)
    seconds = time.perf_counter() - began
    assert run.counts["errands"] == ERRANDS and run.counts["notifications"] == NOTICES
    assert db.session.scalar(select(func.count()).select_from(Errand).where(Errand.erased_at.is_(None))) == 200
    assert db.session.scalar(select(func.count(Notification.id))) == 0
    batches = -(-ERRANDS // retention.BATCH) + -(-NOTICES // retention.BATCH)
    # At most 4 statements a batch (BEGIN on SQLite, select, update or delete, the timeline's notes),
    # and a few for each other category and for recording the run.
    assert q["n"] <= 4 * batches + 2 * len(retention.CATEGORIES) + 10, q["n"]
    print(f"\npurge of {ERRANDS} errands and {NOTICES} notices on {db.engine.dialect.name}: "
          f"{seconds:.2f} s, {q['n']} statements ({batches} batches of {retention.BATCH})")
