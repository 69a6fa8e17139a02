"""Every spreadsheet the app hands out: named columns, text written as text, a title row.

Each export builds a `Book` with a heading (what, whose scope, which period, who exported it and
when), adds one `Sheet` per table with its `Column`s — each a header and how to read its cell from
a row, on one line — and hands it the rows (or appends lists of plain Python values).
Every string becomes a text cell — never a formula, whatever it starts with — with the
characters a workbook cannot hold replaced, so text already stored can never break a file.
Numbers stay numbers, and dates and times (UTC ones shown in the town's zone) stay dates.
"""
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from io import BytesIO

from flask import make_response
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from gridapp.extensions import db
from gridapp.grid.models import Town
from gridapp.grid.services import place_names
from gridapp.timeutil import to_local, utcnow

MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# What XML 1.0 (so a workbook) cannot hold: C0 controls but tab and line feed, lone
# surrogates, U+FFFE and U+FFFF. Carriage returns are line breaks, made line feeds first.
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_LINE_BREAK = re.compile("\r\n?")
REPLACEMENT = "\ufffd"
# Excel keeps at most this many characters in a cell.
MAX_CELL_CHARS = 32767
# A text starting with one of these is taken for a formula by a spreadsheet when typed in;
# such cells are also marked "quote prefix", so editing one in Excel keeps it text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")

DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
DATE_FORMAT = "yyyy-mm-dd"


def clean_text(value: str) -> str:
    """The text as a cell can hold it: line breaks as line feeds, illegal characters as U+FFFD."""
    text = _ILLEGAL.sub(REPLACEMENT, _LINE_BREAK.sub("\n", value))
    return text if len(text) <= MAX_CELL_CHARS else text[:MAX_CELL_CHARS - 1] + "…"


@dataclass(frozen=True)
class Column:
    """A named column, its width in characters and its cell's value read from a row (for `Sheet.extend`).
    A `personal` column (a resident's or a volunteer's name, phone, address, health detail, free text
    about them) is in the file only when its book was asked for personal columns, with a reason."""

    title: str
    width: int = 12
    value: Callable | None = None
    personal: bool = False


class Sheet:
    """One write-only worksheet: the book's heading in row 1, the column names in row 2
    (both stay in view when scrolling), then the appended rows."""

    def __init__(self, book: "Book", name: str, columns: list[Column]):
        self._ws = book._wb.create_sheet(clean_text(name)[:31])
        # The columns kept: all of them with personal columns asked for, else the others.
        self._keep = [i for i, col in enumerate(columns) if book.personal or not col.personal]
        self.rows = 0
        columns = [columns[i] for i in self._keep]
        self._columns = columns
        for i, col in enumerate(columns, start=1):
            self._ws.column_dimensions[get_column_letter(i)].width = col.width
        self._ws.freeze_panes = "A3"
        bold = Font(bold=True)
        self._ws.append([self._cell(book.heading, font=bold)])
        self._ws.append([self._cell(col.title, font=bold) for col in columns])

    def append(self, values) -> None:
        """One line: a value for each column given to the sheet (those of personal columns left out
        unless asked for)."""
        values = list(values)
        self.rows += 1
        self._ws.append([self._cell(values[i]) if i < len(values) else self._cell(None) for i in self._keep])

    def extend(self, rows: Iterable) -> None:
        """One line per row, each cell its column's `value` of the row."""
        for row in rows:
            self.rows += 1
            self._ws.append([self._cell(col.value(row)) for col in self._columns])

    def _cell(self, value, font=None):
        cell = WriteOnlyCell(self._ws)
        if value is None:
            return cell
        if isinstance(value, datetime):
            if value.tzinfo is not None:
                value = to_local(value).replace(tzinfo=None)
            cell.value, cell.number_format = value, DATETIME_FORMAT
        elif isinstance(value, date):
            cell.value, cell.number_format = value, DATE_FORMAT
        elif isinstance(value, (int, float, Decimal)):  # bool included: the app's own yes/no
            cell.value = value
        else:
            text = clean_text(str(value))
            cell.value = text
            cell.data_type = "s"  # set after the value: openpyxl makes "=…" a formula, "#N/A" an error
            if text.startswith(_FORMULA_START):
                cell.quotePrefix = True
        if font is not None:
            cell.font = font
        return cell


class Book:
    """A workbook whose sheets all start with `heading` (see `heading()`). With a `personal_reason`
    its sheets keep their personal columns, and the heading says so and why."""

    def __init__(self, heading: str, personal_reason: str = ""):
        self.personal = bool(personal_reason)
        if self.personal:
            heading = _("%(heading)s · with personal columns, reason: %(reason)s",
                        heading=heading, reason=personal_reason)
        self.heading = heading
        self._wb = Workbook(write_only=True)
        self.sheets: list[Sheet] = []

    def sheet(self, name: str, columns: list[Column]) -> Sheet:
        sheet = Sheet(self, name, columns)
        self.sheets.append(sheet)
        return sheet

    @property
    def rows(self) -> int:
        return sum(s.rows for s in self.sheets)

    def to_bytes(self) -> bytes:
        out = BytesIO()
        self._wb.save(out)
        return out.getvalue()


def response(data: bytes, filename: str):
    """The workbook as a download named `filename` (ASCII)."""
    resp = make_response(data)
    resp.headers["Content-Type"] = MIMETYPE
    resp.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return resp


def period_label(first: date | None, last: date | None) -> str:
    if first and last:
        return _("%(first)s to %(last)s", first=first.isoformat(), last=last.isoformat())
    if first:
        return _("from %(first)s", first=first.isoformat())
    if last:
        return _("until %(day)s", day=last.isoformat())
    return _("all dates")


def scope_label(user, community=None) -> str:
    """The places an export covers: the community chosen, else those of the user's roles
    ("城关镇 · 城关社区"); a town-wide role or the administrator: the town."""
    from sqlalchemy import select

    if community is not None:
        return f"{community.town.name} · {community.name}"
    roles = [ra for ra in user.roles if ra.role != "volunteer"] or list(user.roles)
    towns = "、".join(db.session.scalars(select(Town.name).order_by(Town.id)))
    if any(ra.scope_type == "system" for ra in roles):
        return towns
    names = place_names((ra.scope_type, ra.scope_id) for ra in roles)
    town_wide = [names[k] for k in dict.fromkeys((ra.scope_type, ra.scope_id) for ra in roles
                                                 if ra.scope_type == "town") if k in names]
    if town_wide:
        return "、".join(town_wide)
    places = [names[k] for k in dict.fromkeys((ra.scope_type, ra.scope_id) for ra in roles) if k in names]
    return " · ".join(p for p in (towns, "、".join(places)) if p)


def heading(what: str, user, first: date | None = None, last: date | None = None, community=None,
            now: datetime | None = None) -> str:
    """The title row: what, whose places, which period, who exported it and when (town time)."""
    at = to_local(now or utcnow()).strftime("%Y-%m-%d %H:%M")
    return _("%(what)s · %(scope)s · %(period)s · exported by %(user)s · exported at %(at)s",
             what=what, scope=scope_label(user, community), period=period_label(first, last),
             user=user.display_name, at=at)
