"""Who opens the today board, and on which places (registered with gridapp.policy so can() answers it).

The board shows one place at a time. A viewer may pick the places of their own work: the town and
every community and grid for the admin, the town leader and supervisors; a secretary's communities
and their grids; a grid member's grids; a property manager's companies; a work-unit contact's units.
Volunteers and building heads have no board (their pages are the errand board and their errands).
"""
import re
from dataclasses import dataclass

from sqlalchemy import Integer, String, cast, literal, null, or_, select, union_all

from gridapp.core.params import parse_id
from gridapp.grid.models import Community, Grid, PropertyCompany, Town, WorkUnit
from gridapp.policy import scope_of

BOARD_ROLES = {"admin", "town_leader", "supervisor", "secretary", "grid_member", "property_manager",
               "unit_contact"}

# Actions not tied to one object, and the roles that may take them.
ACTIONS = {"view_today": BOARD_ROLES}

# The kinds of place a board is drawn for, broadest first (the order of the scope picker).
KINDS = ("town", "community", "grid", "company", "unit")
MODELS = {"town": Town, "community": Community, "grid": Grid, "company": PropertyCompany, "unit": WorkUnit}
_KEY = re.compile(r"(town|community|grid|company|unit)-([0-9]{1,10})")


@dataclass(frozen=True)
class Place:
    """The place a board is drawn for. `community_id`: a community's own id, a grid's community."""

    kind: str
    id: int
    name: str
    community_id: int | None = None
    community_name: str = ""

    @property
    def key(self) -> str:
        """What the scope picker sends: "community-3"."""
        return f"{self.kind}-{self.id}"

    @property
    def label(self) -> str:
        return f"{self.community_name} · {self.name}" if self.kind == "grid" else self.name


def parse_key(text) -> tuple[str, int] | None:
    """("community", 3) from "community-3"; None for anything else (a huge id names no row)."""
    if not isinstance(text, str):
        return None
    m = _KEY.fullmatch(text.strip())
    if m is None:
        return None
    row_id = parse_id(m.group(2))
    return (m.group(1), row_id) if row_id is not None else None


def _row(kind: str, model, name, community_id=None, community_name=None):
    return select(literal(kind, String).label("kind"), model.id.label("id"), name.label("name"),
                  (community_id if community_id is not None else cast(null(), Integer)).label("community_id"),
                  (community_name if community_name is not None else cast(null(), String)).label("community_name"))


def place_choices(user):
    """The places this user may draw the board for, as one statement (None: no place at all); rows of
    (kind, id, name, community_id, community_name)."""
    s = scope_of(user)
    parts = []
    grids = _row("grid", Grid, Grid.name, Grid.community_id, Community.name).join(
        Community, Community.id == Grid.community_id)
    if s.admin or s.town_wide:
        parts += [_row("town", Town, Town.name), _row("community", Community, Community.name, Community.id,
                                                      Community.name), grids]
    else:
        if s.communities:
            parts.append(_row("community", Community, Community.name, Community.id, Community.name)
                         .where(Community.id.in_(s.communities)))
        if s.communities or s.grids:
            held = []
            if s.communities:
                held.append(Grid.community_id.in_(s.communities))
            if s.grids:
                held.append(Grid.id.in_(s.grids))
            parts.append(grids.where(or_(*held)))
    if s.property_companies:
        parts.append(_row("company", PropertyCompany, PropertyCompany.name)
                     .where(PropertyCompany.id.in_(s.property_companies)))
    if s.work_units:
        parts.append(_row("unit", WorkUnit, WorkUnit.name).where(WorkUnit.id.in_(s.work_units)))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else union_all(*parts)
