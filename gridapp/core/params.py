"""Reading what a request sends (page numbers, row ids, dates, text, a `next` address): one home,
with bounds, so that no value a person can type reaches the database or the date arithmetic
out of range. Forms use the same rules through gridapp.core.forms."""
import re
import unicodedata
from datetime import date, datetime
from urllib.parse import unquote, urlsplit

from flask import request

MAX_ID = 2**31 - 1  # every primary key is a 32-bit INTEGER
MAX_PAGE = 100_000
# The window of dates anyone has a reason to enter; far-off years overflow when turned into
# UTC bounds or shifted by a week, and nobody plans a shift in the year 9999.
MIN_YEAR, MAX_YEAR = 2000, 2100
MIN_DATE, MAX_DATE = date(MIN_YEAR, 1, 1), date(MAX_YEAR, 12, 31)
MAX_NEXT = 2000  # characters of a `next` address

_INT = re.compile(r"[+-]?[0-9]{1,19}")
# C0 controls, DEL and C1 controls. Newline, carriage return and tab are allowed in multi-line text.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Lone surrogates cannot be stored or encoded; U+FFFD is what a request's undecodable bytes became.
_MALFORMED = re.compile("[\ud800-\udfff\ufffd]")


def parse_int(value, lo: int, hi: int) -> int | None:
    """The integer written in value (ASCII digits, an optional sign) if it lies in lo…hi; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if lo <= value <= hi else None
    if not isinstance(value, str) or not _INT.fullmatch(value.strip()):
        return None
    number = int(value.strip())
    return number if lo <= number <= hi else None


def parse_id(value) -> int | None:
    """A row id (1…2**31-1) from a string or int; None for anything else."""
    return parse_int(value, 1, MAX_ID)


def id_arg(name: str, source=None) -> int | None:
    """?name= as a row id, None when absent or not one (a huge number names no row)."""
    return parse_id((request.args if source is None else source).get(name))


def page_arg(pages: int = MAX_PAGE) -> int:
    """?page=, clamped to 1…pages (anything but a number is page 1)."""
    raw = (request.args.get("page") or "").strip()
    if raw.isascii() and raw.isdigit():
        page = int(raw) if len(raw) <= 6 else MAX_PAGE
    else:
        page = 1
    return min(max(page, 1), max(1, min(pages, MAX_PAGE)))


def in_window(value) -> bool:
    """Whether a date or datetime lies within the years MIN_YEAR…MAX_YEAR."""
    return isinstance(value, (date, datetime)) and MIN_YEAR <= value.year <= MAX_YEAR


def parse_date(value) -> date | None:
    """An ISO date (YYYY-MM-DD) within the window; None for anything else."""
    if not isinstance(value, str) or len(value) > 10:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return None
    return day if in_window(day) else None


def parse_datetime(value) -> datetime | None:
    """An ISO datetime with its UTC offset ("2026-05-01T08:00:00+00:00") within the window; None for
    anything else, a time without an offset included (it could not be compared with stored ones)."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None and in_window(moment) else None


def date_arg(name: str, source=None) -> date | None:
    """?name= as a date within the window, None when absent or not one."""
    return parse_date((request.args if source is None else source).get(name))


def text_problem(value: str, multiline: bool = False) -> str | None:
    """"control" or "malformed" when text holds characters no field accepts; None when it is clean."""
    if not isinstance(value, str):
        return None
    if (_CONTROL_MULTILINE if multiline else _CONTROL).search(value):
        return "control"
    if _MALFORMED.search(value):
        return "malformed"
    return None


def text_arg(name: str, max_length: int = 100, source=None) -> str:
    """?name= as plain single-line text (trimmed, at most max_length characters); "" when it holds
    control or malformed characters (a search for them finds nothing anyway)."""
    value = (request.args if source is None else source).get(name) or ""
    value = value.strip()[:max_length]
    return "" if text_problem(value) else value


def _leaves_site(target: str) -> bool:
    if not target.startswith("/") or target.startswith(("//", "/\\")):
        return True
    if _CONTROL.search(target) or _MALFORMED.search(target):
        return True
    parts = urlsplit(target)
    return bool(parts.scheme or parts.netloc)


def safe_next(target) -> str | None:
    """target if it is a same-site relative path ("/duty/?day=…"); None otherwise.

    Browsers drop tabs and newlines inside an address and read a backslash as a slash, so
    "/\\t/evil.example" or "/\\\\evil.example" would leave the site: an address holding a control
    character, whitespace, a backslash, a scheme or a host is refused, and so is one that
    leaves the site once percent-decoded."""
    if not isinstance(target, str) or not target or len(target) > MAX_NEXT:
        return None
    if "\\" in target or any(ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp")
                             for ch in target):
        return None
    try:
        decoded = unquote(target, errors="strict")
    except UnicodeDecodeError:
        return None
    if _leaves_site(target) or _leaves_site(decoded):
        return None
    return target
