"""The builder every phase of a benchmark dataset writes through: ids allocated here, rows buffered
and written in bulk (COPY on PostgreSQL), the clock and the random source of one run, and the town
as the earlier phases built it."""
from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Date, func, insert, select, text

from gridapp.extensions import db
from gridapp.timeutil import UTCDateTime, town_zone

if TYPE_CHECKING:
    from bench.seed import Level

CHUNK = 5000
TOWN_COMMUNITIES = 4  # the demo town's; a county has ten times as many


class Builder:
    """The plumbing of one run; the phases (bench/seed/grid.py …) are its subclasses."""

    def __init__(self, spec: Level, now: datetime, progress):
        self.spec, self.now, self.progress = spec, now, progress
        self.rng = random.Random(2020)
        self.zone = town_zone()
        self.today = now.astimezone(self.zone).date()
        self.days_back = spec.history_days
        self.first_day = self.today - timedelta(days=self.days_back)
        self.history_start = self._local(self.first_day, time(0)) - timedelta(days=1)
        self.dialect = db.session.get_bind().dialect.name
        self.conn = db.session.connection()
        self.next_id: dict[str, int] = {}
        self.buffers: dict = defaultdict(list)
        self.written = Counter()
        self._defaults: dict = {}
        # The town as the phases build it, for the phases after them.
        # grid: communities (id, name), units, grids (id, community_id), compounds, compound_by_id, compound_sizes
        # accounts: holders {(role, scope_id): [user ids]}, phones, display, supervisors, leaders,
        #           grid_member {grid: user}, secretary {community: user}, grids_of {community: [grids]}
        # duty: checkpoints

    # -- plumbing ------------------------------------------------------------------------------------

    def _local(self, day: date, clock: time) -> datetime:
        return datetime.combine(day, clock, tzinfo=self.zone).astimezone(UTC)

    def ids(self, model, n: int = 1) -> int:
        """The first of n fresh ids of this table (allocated here, not by the database)."""
        name = model.__tablename__
        if name not in self.next_id:
            self.next_id[name] = (db.session.scalar(select(func.max(model.id))) or 0) + 1
        first = self.next_id[name]
        self.next_id[name] += n
        return first

    def add(self, model_or_table, row: dict) -> None:
        table = getattr(model_or_table, "__table__", model_or_table)
        buf = self.buffers[table]
        buf.append(row)
        if len(buf) >= CHUNK:
            self.flush(table)

    def flush(self, table=None) -> None:
        """Write the buffered rows (of one table, its parents first; or of all, in FK order)."""
        if table is None:
            for t in db.metadata.sorted_tables:
                if self.buffers.get(t):
                    self.flush(t)
            return
        for fk in table.foreign_keys:
            parent = fk.column.table
            if parent is not table and self.buffers.get(parent):
                self.flush(parent)
        rows = self.buffers.get(table)
        if not rows:
            return
        self.buffers[table] = []
        defaults = self._column_defaults(table)
        rows = [{**defaults, **r} for r in rows] if defaults else rows
        if self.dialect == "postgresql":
            self._copy(table, rows)
        elif self.dialect == "sqlite":
            self._executemany(table, rows)
        else:
            self.conn.execute(insert(table), rows)
        self.written[table.name] += len(rows)

    def _column_defaults(self, table) -> dict:
        """Python-side scalar and callable defaults (COPY does not apply them)."""
        if table.name not in self._defaults:
            out = {}
            for col in table.columns:
                d = col.default
                if d is None or getattr(d, "is_sequence", False):
                    continue
                if d.is_scalar:
                    out[col.name] = d.arg
                elif d.is_callable:
                    try:
                        out[col.name] = d.arg(None)
                    except AttributeError:  # a default that reads the row being inserted: the builder gives it
                        continue
            self._defaults[table.name] = out
        return self._defaults[table.name]

    def _copy(self, table, rows) -> None:
        cols = list(rows[0])
        stamps = [i for i, c in enumerate(cols) if isinstance(table.c[c].type, UTCDateTime)]
        raw = self.conn.connection.dbapi_connection
        names = ", ".join(f'"{c}"' for c in cols)
        with raw.cursor() as cur, cur.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
            for r in rows:
                values = [r[c] for c in cols]
                for i in stamps:
                    v = values[i]
                    if v is not None:
                        values[i] = v.astimezone(UTC).replace(tzinfo=None)
                copy.write_row(values)

    def _executemany(self, table, rows) -> None:
        """The DB-API's executemany with values stored as SQLAlchemy stores them on SQLite (timestamps
        as naive UTC '2026-03-01 08:00:00.000000', dates ISO): the per-value type processing of a Core
        executemany costs more than SQLite's own work."""
        cols = list(rows[0])
        stamps = [i for i, c in enumerate(cols) if isinstance(table.c[c].type, UTCDateTime)]
        days = [i for i, c in enumerate(cols) if isinstance(table.c[c].type, Date)]
        names = ", ".join(f'"{c}"' for c in cols)
        sql = f'INSERT INTO "{table.name}" ({names}) VALUES ({", ".join("?" * len(cols))})'

        def values(r):
            out = [r[c] for c in cols]
            for i in stamps:
                v = out[i]
                if v is not None:
                    out[i] = v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
            for i in days:
                if out[i] is not None:
                    out[i] = out[i].isoformat()
            return out

        self.conn.connection.dbapi_connection.cursor().executemany(sql, map(values, rows))

    def fix_sequences(self) -> None:
        if self.dialect != "postgresql":
            return
        for name in self.next_id:
            db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                    f"(SELECT coalesce(max(id), 1) FROM \"{name}\"))"))

    def between(self, a: datetime, b: datetime) -> datetime:
        if b <= a:
            return a
        return a + timedelta(seconds=self.rng.uniform(0, (b - a).total_seconds()))

    def manager_of(self, company_id):
        ids = self.holders.get(("property_manager", company_id))
        return ids[0] if ids else None
