"""bench.render's share of SQL: the statements a request sent, recorded with their parameters and
replayed with the sqlite3 module, every row fetched and any write rolled back."""
import os
import sqlite3

from sqlalchemy import create_engine, text

from bench.render import recording, sql_cost


def test_recorded_statements_replay_and_leave_the_database_as_it_was(tmp_path):
    path = tmp_path / "replay.db"
    url = f"sqlite:///{path}"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER)")
    con.executemany("INSERT INTO t (n) VALUES (?)", [(i,) for i in range(1000)])
    con.commit()
    engine = create_engine(url)
    with recording(engine) as sent, engine.begin() as conn:
        assert conn.execute(text("SELECT sum(n) FROM t WHERE n >= :lo"), {"lo": 10}).scalar() == sum(range(10, 1000))
        conn.execute(text("INSERT INTO t (n) VALUES (:n)"), [{"n": 1}, {"n": 2}])  # executemany
    engine.dispose()
    statements = [s for s in sent if not s[0].startswith("BEGIN")]  # gridapp's BEGIN IMMEDIATE is not replayed
    assert [s[0].split()[0] for s in statements] == ["SELECT", "INSERT"]
    assert statements[0][1] == (10,) and statements[1][2] is True

    ms = sql_cost(url, sent, runs=5)
    assert ms > 0
    # The replays' inserts were rolled back: only the two the request made are there.
    assert con.execute("SELECT count(*) FROM t").fetchone() == (1002,)
    con.close()


def test_a_run_happens_at_the_town_time_it_is_told(monkeypatch):
    """`--at 10:30`: this process and those it starts (the environment) read the town's 10:30 today
    off the clock, whatever the hour of the run; `--at now` leaves the clock alone."""
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from bench.render import at_town_time
    from gridapp import timeutil

    monkeypatch.delenv("GRIDAPP_CLOCK_OFFSET", raising=False)
    monkeypatch.delenv("TIMEZONE", raising=False)
    monkeypatch.setattr(timeutil, "_offset", timedelta(0))
    at_town_time("now")
    assert "GRIDAPP_CLOCK_OFFSET" not in os.environ
    at_town_time("10:30")
    local = timeutil.utcnow().astimezone(ZoneInfo("Asia/Shanghai"))
    assert (local.hour, local.minute) == (10, 30)
    assert abs(float(os.environ["GRIDAPP_CLOCK_OFFSET"]) - timeutil._offset.total_seconds()) < 1e-6
