"""Texts for group robots (WeCom / DingTalk chats), composed from whitelisted fields only.

A group chat is read by everyone in it, so a resident's name, phone, address, goods bought or
health detail must never reach one. Rather than filter text for what looks personal (a filter
misses 138.0939.0001 or 一三八零九三九零零零一, and masks 08:00-16:00), a GroupText is built
from parts whose *type* says they are public:

- its lines are messages of the code (lazy_gettext templates), never text a person typed;
- its fields are places and organisations (their names), labels of the code (a category, a kind,
  also lazy_gettext), numbers (counts, a record number), Percent, moments, days, times and
  Window (a daily time window), or None (a missing figure, shown as —);
- its link is a path of this site (/reports/12), written out with PUBLIC_URL when that is set.

Any other value — a str above all, whatever it holds — is refused with a TypeError. The one way
to put typed text in is Published: text its author wrote *to be published in the group chats*
and was told so where they wrote it (an announcement's title, nothing else).
"""
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from functools import cache

from flask import current_app
from flask_babel import LazyString

from gridapp.duty.models import Checkpoint
from gridapp.grid.models import Community, Compound, Grid, PropertyCompany, Town, WorkUnit
from gridapp.timeutil import town_zone

_PATH = re.compile(r"/[A-Za-z0-9_\-/]*")
_FIELD = re.compile(r"%\((\w+)\)")
SUBJECT_MAX = 200  # the outbox's subject column


@dataclass(frozen=True)
class Window:
    """A daily time window, as the roster writes it: 08:00-16:00; one ending at midnight ends at 24:00."""

    start: time
    end: time | None  # None: the next midnight

    @classmethod
    def between(cls, starts_at: datetime, ends_at: datetime) -> "Window":
        """The window of two instants, read in the town's time."""
        start, end = starts_at.astimezone(town_zone()), ends_at.astimezone(town_zone())
        ends_at_midnight = end.time() == time(0) and end.date() > start.date()
        return cls(start.time(), None if ends_at_midnight else end.time())

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{'24:00' if self.end is None else f'{self.end:%H:%M}'}"


@dataclass(frozen=True)
class Percent:
    """A rate in whole per cent (83%), or — when there was nothing to count."""

    value: int | float | None

    def __str__(self) -> str:
        return "—" if self.value is None else f"{self.value:g}%"


@dataclass(frozen=True)
class Published:
    """Text its author wrote to be published in the group chats, and was told so on the form where
    they wrote it. Only an announcement's title is (tests/notifications/test_group_text.py keeps
    it so); never wrap anything else in it."""

    text: str


@cache
def _place_types() -> tuple[type, ...]:
    return (Town, Community, Grid, Compound, Checkpoint, PropertyCompany, WorkUnit)


def _bound(lazy: LazyString) -> bool:
    """A lazy message with values bound in (lazy_gettext("%(x)s", x=…)) could carry any text."""
    return bool(getattr(lazy, "_kwargs", None))


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _field(name: str, value):
    """The value as it goes into the template: numbers stay numbers (for %d), the rest is text."""
    if isinstance(value, bool):
        raise TypeError(f"group text field {name!r}: a yes/no is not a figure; choose the template instead")
    if value is None:
        return "—"
    if isinstance(value, int | float | Decimal):
        return value
    if isinstance(value, LazyString) and not _bound(value):
        return _one_line(value)
    if isinstance(value, _place_types()):
        return _one_line(value.name)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise TypeError(f"group text field {name!r}: a datetime without its zone")
        return f"{value.astimezone(town_zone()):%Y-%m-%d %H:%M}"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return f"{value:%H:%M}"
    if isinstance(value, Window | Percent):
        return str(value)
    if isinstance(value, Published):
        return _one_line(value.text)[:SUBJECT_MAX]
    raise TypeError(f"group text field {name!r}: {type(value).__name__} is not on the whitelist of "
                    "gridapp.notifications.group (places, labels, numbers, times, Window, Percent)")


def site_url(path: str) -> str:
    """The link of a group text: a path of this site, after PUBLIC_URL when that is set."""
    if not isinstance(path, str) or not _PATH.fullmatch(path):
        raise ValueError("a group text links to a path of this site such as /reports/12 (no address, no query)")
    return (current_app.config.get("PUBLIC_URL") or "").rstrip("/") + path


class GroupText:
    """What one notice says to group robots: lines of the code, filled with whitelisted fields,
    and a link. Rendered when it is built (in the locale at hand, like the notice itself).

        GroupText(_l("Urgent errand #%(id)d (%(category)s, %(place)s) still needs a volunteer."),
                  id=errand.id, category=CATEGORY_LABELS[errand.category], place=errand.compound)
    """

    __slots__ = ("lines", "link")

    def __init__(self, *templates: LazyString, link: str = "", **fields):
        if not templates:
            raise ValueError("a group text needs at least one line")
        for template in templates:
            if not isinstance(template, LazyString) or _bound(template):
                # The refused value is not repeated: it may be the very text that must not travel.
                what = "message with values bound in" if isinstance(template, LazyString) else type(template).__name__
                raise TypeError(f"a group text's line is a message of the code (lazy_gettext, its fields given "
                                f"here), not a {what}")
        wanted = {name for t in templates for name in _FIELD.findall(str(t))}
        unused = set(fields) - wanted
        if unused:
            raise ValueError(f"group text fields not in its lines: {sorted(unused)}")
        values = {name: _field(name, value) for name, value in fields.items()}
        try:
            lines = tuple(_one_line(str(t) % values) for t in templates)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"group text {templates[0]!r} cannot be filled with {sorted(fields)}: {exc}") from None
        if link:
            site_url(link)
        object.__setattr__(self, "lines", lines)
        object.__setattr__(self, "link", link)

    def __setattr__(self, name, value):
        raise AttributeError("a GroupText is not changed once built")

    def __repr__(self) -> str:
        return f"GroupText({self.lines!r}, link={self.link!r})"

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def subject(self) -> str:
        """The outbox row's subject: the first line."""
        return self.lines[0][:SUBJECT_MAX]

    @property
    def body(self) -> str:
        """The outbox row's body: the other lines, then the link."""
        return "\n".join([*self.lines[1:], *([site_url(self.link)] if self.link else [])])
