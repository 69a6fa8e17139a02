"""The today board's panels: each feature declares one in its own today.py (PANEL) and create_app
registers it here; the board draws, in order, those its viewer may see for the place chosen.

A panel's `load` reads the feature's tables for one place at one instant in a fixed number of SQL
statements, whatever the size of the town (no statement per row: tests/today count them at two
scales), and returns what its template shows; every number on it links to the list behind it."""
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import false, true

from gridapp.grid.models import Grid
from gridapp.today.policy import Place


@dataclass(frozen=True)
class BoardContext:
    """What a panel is drawn for: who looks, at which place, at which instant."""

    user: object
    place: Place
    now: datetime
    today: date

    @property
    def community_id(self) -> int | None:
        """The community to filter a feature's list by (a community, or a grid's), else None."""
        return self.place.community_id if self.place.kind in ("community", "grid") else None


@dataclass(frozen=True)
class Panel:
    name: str  # "duty": the section's id is "panel-duty"
    title: object  # a lazy string
    template: str  # rendered with `data` (what load returned) and `ctx` (the BoardContext)
    order: int
    shown: Callable[[BoardContext], bool]  # whether this viewer sees it for this place (no SQL)
    load: Callable[[BoardContext], dict]


_PANELS: dict[str, Panel] = {}


def register_panel(panel: Panel) -> None:
    """Add a panel (again: the same name replaces it, so creating the app twice changes nothing)."""
    _PANELS[panel.name] = panel


def registered() -> list[Panel]:
    return sorted(_PANELS.values(), key=lambda p: (p.order, p.name))


def age(delta: timedelta) -> str:
    """How long something has waited, in the words of the board: "25 min", "3 h 5 min", "2 d 4 h"."""
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes < 60:
        return _("%(m)d min", m=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return _("%(h)d h %(m)d min", h=hours, m=minutes)
    days, hours = divmod(hours, 24)
    return _("%(d)d d %(h)d h", d=days, h=hours)


def in_grid_place(place: Place):
    """The place as a condition on Grid (joined to a panel's rows through their compound): the
    town, a community or a grid; any other kind of place has none of them."""
    if place.kind == "town":
        return true()
    if place.kind == "community":
        return Grid.community_id == place.id
    if place.kind == "grid":
        return Grid.id == place.id
    return false()
