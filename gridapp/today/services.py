"""The today board: the places a viewer may choose, the place chosen, and each panel's figures. No
request, no HTML; a fixed number of statements whatever the size of the town."""
from dataclasses import dataclass
from datetime import datetime

from gridapp.extensions import db
from gridapp.timeutil import town_today, utcnow
from gridapp.today import panels, policy
from gridapp.today.policy import KINDS, MODELS, Place


class OutOfScope(Exception):
    """A place that exists but is not the viewer's to choose (`obj`, for the audit trail)."""

    def __init__(self, obj):
        super().__init__(f"{type(obj).__name__} {obj.id}")
        self.obj = obj


class NoSuchPlace(LookupError):
    """A scope that names no place."""


@dataclass
class Board:
    place: Place
    choices: list[Place]
    panels: list  # [(Panel, data)]
    context: panels.BoardContext

    @property
    def now(self) -> datetime:
        return self.context.now


def choices(user) -> list[Place]:
    """The places this user may draw the board for, broadest first (one statement)."""
    stmt = policy.place_choices(user)
    if stmt is None:
        return []
    rows = db.session.execute(stmt).all()
    places = [Place(r.kind, r.id, r.name, r.community_id, r.community_name or "") for r in rows]
    return sorted(places, key=lambda p: (KINDS.index(p.kind), p.community_id or 0, p.name, p.id))


def choose(places: list[Place], key: str | None) -> Place:
    """The place named by `key` ("grid-4") among `places`; the broadest one without a key. Raises
    NoSuchPlace for a key that names no place, OutOfScope for one that is not the viewer's."""
    if not places:
        raise NoSuchPlace(key)
    if key is None or key == "":
        return places[0]
    parsed = policy.parse_key(key)
    if parsed is None:
        raise NoSuchPlace(key)
    for place in places:
        if (place.kind, place.id) == parsed:
            return place
    kind, row_id = parsed
    obj = db.session.get(MODELS[kind], row_id)
    if obj is None:
        raise NoSuchPlace(key)
    raise OutOfScope(obj)


def board(user, key: str | None = None, now: datetime | None = None) -> Board:
    """The board of the place `key` names (the viewer's broadest without one): each panel the viewer
    sees there, with its figures at `now`."""
    now = now or utcnow()
    places = choices(user)
    place = choose(places, key)
    ctx = panels.BoardContext(user=user, place=place, now=now, today=town_today(now))
    shown = [(panel, panel.load(ctx)) for panel in panels.registered() if panel.shown(ctx)]
    return Board(place=place, choices=places, panels=shown, context=ctx)
