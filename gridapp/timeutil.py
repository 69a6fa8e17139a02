"""Time helpers: store UTC, show and schedule in the town's zone; the one clock the code reads."""
import os
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context
from sqlalchemy.types import DateTime, TypeDecorator

# GRIDAPP_CLOCK_OFFSET (seconds, may be negative) shifts the clock of this process and of every
# process started with the same environment (web, workers, scheduler): the test suite sets it to
# run as if it were any instant it likes. Refused in production (see config.load_config).
_offset = timedelta(seconds=float(os.environ.get("GRIDAPP_CLOCK_OFFSET") or 0))
_pinned: datetime | None = None


def utcnow() -> datetime:
    """Now, in UTC: the only place the code reads the clock (tests pin it with pin_clock)."""
    if _pinned is not None:
        return _pinned
    return datetime.now(UTC) + _offset


def pin_clock(instant: datetime | None) -> None:
    """Stop the clock at `instant` (aware), or let it run again with None. For tests."""
    global _pinned
    if instant is not None and instant.tzinfo is None:
        raise ValueError("pin_clock needs an aware datetime")
    _pinned = instant.astimezone(UTC) if instant is not None else None


def set_clock_offset(seconds: float) -> None:
    """Run the clock `seconds` ahead of (or behind) the real one, in this process."""
    global _offset
    _offset = timedelta(seconds=seconds)


def town_today(now: datetime | None = None) -> date:
    """The town's calendar date at `now` (default: the clock)."""
    return (now or utcnow()).astimezone(town_zone()).date()


def town_midnight(day: date) -> datetime:
    """The midnight that starts this day in the town, as UTC."""
    return datetime.combine(day, time(0), tzinfo=town_zone()).astimezone(UTC)


def town_days(first: date, last: date) -> tuple[datetime, datetime]:
    """[first 00:00, last + 1 day 00:00) in the town, as UTC: the days from first to last, both included."""
    return town_midnight(first), town_midnight(last + timedelta(days=1))


def town_day_and_week_start(now: datetime) -> tuple[datetime, datetime]:
    """The start of today and of this week (Monday) in the town at `now`, as UTC."""
    today = town_today(now)
    return town_midnight(today), town_midnight(today - timedelta(days=today.weekday()))


def town_zone() -> ZoneInfo:
    name = current_app.config["TIMEZONE"] if has_app_context() else "Asia/Shanghai"
    return ZoneInfo(name)


def as_utc(local: datetime | None) -> datetime | None:
    """A datetime-local value, read in the town's zone, as UTC."""
    if local is None:
        return None
    return local.replace(tzinfo=town_zone()).astimezone(UTC)


def to_local(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(town_zone())


class UTCDateTime(TypeDecorator):
    """A timestamp stored as naive UTC and read back as an aware UTC datetime,
    identically on SQLite and PostgreSQL."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


class TimeRangeError(ValueError):
    """A daily time range list could not be read: `kind` is "format" or "empty"."""

    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


def _parse_clock(text: str):
    """HH:MM; "24:00" is the midnight at the end of the day (None)."""
    hh, _sep, mm = text.strip().partition(":")
    if not (hh.isdigit() and mm.isdigit() and len(mm) == 2):
        raise ValueError(text)
    h, m = int(hh), int(mm)
    if (h, m) == (24, 0):
        return None
    return time(h, m)


def parse_daily_ranges(text: str) -> list:
    """'08:00-16:00, 22:00-02:00' → [(label, start, end)] in the order given, for duty shift
    patterns and disinfection windows alike. An end at or before its start crosses midnight and
    belongs to the day it starts; '24:00' (end None) is the next midnight. Full-width commas and
    en dashes, as Chinese keyboards type them, are accepted."""
    out = []
    for part in (text or "").replace("，", ",").replace("–", "-").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            a, b = part.split("-")
            start, end = _parse_clock(a), _parse_clock(b)
            if start is None:
                raise ValueError(part)
        except ValueError:
            raise TimeRangeError("format") from None
        if end == start:
            raise TimeRangeError("empty")
        out.append((f"{start:%H:%M}-{'24:00' if end is None else f'{end:%H:%M}'}", start, end))
    return out
