"""Time helpers: store UTC, show and schedule in the town's zone."""
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context
from sqlalchemy.types import DateTime, TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


def town_zone() -> ZoneInfo:
    name = current_app.config["TIMEZONE"] if has_app_context() else "Asia/Shanghai"
    return ZoneInfo(name)


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
    from datetime import time

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
