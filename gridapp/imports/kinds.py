"""What each spreadsheet holds: its columns (Chinese headers first), how a cell is read, the row's
natural key, and how a batch of checked rows is written.

A kind checks a row in two steps: `Field.parse` reads each cell (a bad phone, a missing room), then
`Kind.check` places the row in the town (an unknown community, a compound outside the importer's
community) and returns its natural key. Both the preview and the import job run the same checks, so
what the preview promised is what the job does, and the job still refuses a row whose place has
gone since. `Kind.write` takes a batch of checked rows and says, per row, whether it was created,
updated or already as the file says.
"""
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, insert, select, tuple_, update

from gridapp.audit.services import record
from gridapp.auth import invitations
from gridapp.auth import services as auth
from gridapp.auth.models import RoleAssignment, User
from gridapp.auth.policy import held_within
from gridapp.core.rules import RuleError
from gridapp.disinfection import services as disinfection
from gridapp.disinfection.models import DisinfectionPoint
from gridapp.duty import services as duty
from gridapp.duty.models import DEFAULT_PATTERN, Checkpoint
from gridapp.extensions import db
from gridapp.grid.models import COMMUNITY_KINDS, Community, Compound, Grid, Household, PropertyCompany, WorkUnit
from gridapp.imports.reading import normal_header

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"
EXAMPLE_MARK = "示例"  # a row whose first cell starts with this is the template's example: never imported


class RowError(ValueError):
    """A row that cannot be imported: which column (key) and why."""

    def __init__(self, key: str | None, message: str):
        super().__init__(message)
        self.key = key


# --- reading one cell ---------------------------------------------------------------------------

def text(max_len: int) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if len(value) > max_len:
            raise ValueError(_("At most %(n)d characters.", n=max_len))
        if re.search(r"[\x00-\x08\x0b-\x1f\x7f]", value):
            raise ValueError(_("Contains control characters."))
        return value
    return parse


_YES = {"是", "y", "yes", "true", "1", "√", "✓", "有", "x"}
_NO = {"否", "n", "no", "false", "0", "×", "无", ""}


def yes_no(value: str) -> bool:
    v = value.strip().lower()
    if v in _YES:
        return True
    if v in _NO:
        return False
    raise ValueError(_("Write 是 or 否."))


def phone(value: str) -> str:
    digits = re.sub(r"[\s\-().\u3000]", "", value.replace("＋", "+"))
    digits = digits.translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    if not digits:
        return ""
    if not re.fullmatch(r"\+?[0-9]{7,20}", digits):
        raise ValueError(_("Not a phone number: 7 to 20 digits, optionally starting with +."))
    return digits


def community_kind(value: str) -> str:
    labels = {"社区": "community", "村": "village", "城中村": "urban_village"}
    v = value.strip()
    if not v:
        return ""
    if v in labels:
        return labels[v]
    if v.lower() in COMMUNITY_KINDS:
        return v.lower()
    raise ValueError(_("Write 社区, 村 or 城中村."))


def choice(labels: dict[str, str], message) -> Callable[[str], str]:
    """A cell holding one of a few words (Chinese, or the code itself); empty reads as ''."""
    def parse(value: str) -> str:
        v = value.strip()
        if not v:
            return ""
        if v in labels:
            return labels[v]
        if v.lower() in labels.values():
            return v.lower()
        raise ValueError(str(message))
    return parse


def whole_number(value: str) -> int | None:
    v = value.strip()
    if not v:
        return None
    if not v.isdigit() or not 0 < int(v) <= 99:
        raise ValueError(_("A whole number from 1 to 99."))
    return int(v)


def _rule(key: str, check, value):
    """A feature's own rule (a shift pattern, disinfection windows) read into the row's error."""
    try:
        return check(value)
    except RuleError as exc:
        raise RowError(key, str(exc)) from None


@dataclass(frozen=True)
class Field:
    """One column: its key, its Chinese header (the template's), other names it may go by, and how a
    cell is read. An empty optional cell reads as the parser's empty value."""

    key: str
    header: str
    required: bool = False
    parse: Callable[[str], object] = text(100)
    aliases: tuple[str, ...] = ()
    example: str = ""
    width: int = 14
    personal: bool = False  # a resident's or a person's name, phone, health flag: gated in exports


# --- where a row sits in the town -----------------------------------------------------------------

class Places:
    """The town's communities, grids and compounds by name, loaded once per import (a few thousand
    rows at most, whatever the number of households), and the importer's reach."""

    def __init__(self, town, communities: set[int] | None, actor=None, *, url_root: str = "",
                 dry_run: bool = False):
        self.town = town
        self.reach = communities  # None: the whole town
        self.actor = actor  # who confirmed the import: the features' own audit events name them
        self.url_root = url_root  # the address staff used: invitation links sent by the job point there
        self.dry_run = dry_run  # the preview: nothing leaves gridapp (no invitation is sent)
        self.communities = {c.name: c for c in db.session.scalars(
            select(Community).where(Community.town_id == town.id))}
        self.grids = {(g.community_id, g.name): g for g in db.session.scalars(
            select(Grid).join(Community).where(Community.town_id == town.id))}
        self._compounds = None
        self._orgs: dict = {}

    def compounds(self) -> dict:
        if self._compounds is None:
            self._compounds = {}
            rows = db.session.execute(select(Compound.id, Compound.name, Compound.grid_id, Grid.community_id)
                                      .join(Grid, Grid.id == Compound.grid_id)
                                      .join(Community, Community.id == Grid.community_id)
                                      .where(Community.town_id == self.town.id))
            for cid, name, grid_id, community_id in rows:
                self._compounds.setdefault((community_id, name), []).append((grid_id, cid))
        return self._compounds

    def work_unit(self, name: str) -> int:
        return self.org(WorkUnit, name, "work_unit")

    def org(self, model, name: str, key: str) -> int:
        """A property company's or work unit's id by its name; it must be known already."""
        known = self._orgs.get(model)
        if known is None:
            known = self._orgs[model] = dict(db.session.execute(select(model.name, model.id)).all())
        found = known.get(name)
        if found is None:
            if model is WorkUnit:
                raise RowError(key, _("No work unit named %(name)s: add it first (as a compound's work unit, "
                                      "or by the administrator).", name=name))
            raise RowError(key, _("No property company named %(name)s: add it first (with the compounds it "
                                  "looks after).", name=name))
        return found

    def community(self, name: str, *, key: str = "community") -> Community:
        found = self.communities.get(name)
        if found is None:
            raise RowError(key, _("No community named %(name)s in the town.", name=name))
        self.within(found.id, key)
        return found

    def within(self, community_id: int, key: str = "community") -> None:
        if self.reach is not None and community_id not in self.reach:
            raise RowError(key, _("Outside your community: you import for your own community only."))

    def grid(self, community: Community, name: str) -> Grid:
        found = self.grids.get((community.id, name))
        if found is None:
            raise RowError("grid", _("No grid named %(name)s in %(community)s.", name=name, community=community.name))
        return found

    def compound(self, community: Community, grid_name: str, name: str) -> int:
        """The compound's id; the grid may be left out where the name is unique in the community."""
        candidates = self.compounds().get((community.id, name), [])
        if grid_name:
            grid = self.grid(community, grid_name)
            candidates = [c for c in candidates if c[0] == grid.id]
        if not candidates:
            raise RowError("compound", _("No compound named %(name)s in %(community)s.",
                                         name=name, community=community.name))
        if len(candidates) > 1:
            raise RowError("grid", _("Several compounds are named %(name)s in %(community)s: name the grid.",
                                     name=name, community=community.name))
        return candidates[0][1]


# --- the kinds ----------------------------------------------------------------------------------

@dataclass
class Kind:
    name: str
    label: object
    fields: tuple[Field, ...]
    natural_key: object  # the words a person reads: what makes a row the same row again
    town_only: bool = False  # only a town-wide importer (the administrator) may use it
    notes: object = ""
    by_key: dict = field(init=False)

    def __post_init__(self):
        self.by_key = {f.key: f for f in self.fields}

    def aliases(self) -> dict[str, str]:
        out = {}
        for f in self.fields:
            for name in (f.header, f.key, *f.aliases):
                out[normal_header(name)] = f.key
        return out

    def required(self) -> set[str]:
        return {f.key for f in self.fields if f.required}

    @property
    def personal_headers(self) -> list[str]:
        """The headers of the columns an export leaves out unless asked for with a reason."""
        return [f.header for f in self.fields if f.personal]

    def header(self, key: str) -> str:
        return self.by_key[key].header if key in self.by_key else ""

    def check(self, places: Places, v: dict):
        raise NotImplementedError

    @staticmethod
    def given(v: dict, values: dict, sources: dict | None = None) -> dict:
        """The values whose column is in the file: a column left out keeps what the town has; an empty
        cell in a column that is there clears it. `sources` maps a value to the column it comes from."""
        sources = sources or {}
        return {k: val for k, val in values.items() if sources.get(k, k) in v["_given"]}

    def write(self, places: Places, rows: list) -> list[str]:
        raise NotImplementedError

    def export_rows(self, places: Places):
        raise NotImplementedError


class PlacesKind(Kind):
    """Communities and their grids: one row per grid (or a community alone)."""

    def check(self, places, v):
        community = places.communities.get(v["community"])
        if community is None:
            if places.reach is not None:
                raise RowError("community", _("Outside your community: you import for your own community only."))
        else:
            places.within(community.id)
        return (v["community"], v["grid"])

    def write(self, places, rows):
        out = []
        for _line, v, _key in rows:
            outcome = UNCHANGED
            community = places.communities.get(v["community"])
            if community is None:
                community = Community(town_id=places.town.id, name=v["community"], kind=v["kind"] or "community")
                db.session.add(community)
                db.session.flush()
                places.communities[community.name] = community
                outcome = CREATED
            elif v["kind"] and community.kind != v["kind"]:
                community.kind = v["kind"]
                outcome = UPDATED
            if v["grid"] and (community.id, v["grid"]) not in places.grids:
                grid = Grid(community_id=community.id, name=v["grid"])
                db.session.add(grid)
                db.session.flush()
                places.grids[(community.id, grid.name)] = grid
                outcome = CREATED
            out.append(outcome)
        return out

    def export_rows(self, places):
        by_community = {}
        for (community_id, _name), grid in sorted(places.grids.items(), key=lambda kv: kv[1].id):
            by_community.setdefault(community_id, []).append(grid)
        for community in sorted(places.communities.values(), key=lambda c: c.id):
            if places.reach is not None and community.id not in places.reach:
                continue
            kind = {"community": "社区", "village": "村", "urban_village": "城中村"}[community.kind]
            grids = by_community.get(community.id) or [None]
            for grid in grids:
                yield [community.name, kind, grid.name if grid else ""]


class CompoundsKind(Kind):
    """Compounds of a grid, with the property company or work unit that looks after them."""

    def check(self, places, v):
        community = places.community(v["community"])
        grid = places.grid(community, v["grid"])
        if v["property_company"] and v["work_unit"]:
            raise RowError("work_unit", _("A compound is looked after by a property company or by a work "
                                          "unit, not both."))
        return (grid.id, v["name"])

    def _orgs(self, model):
        return {o.name: o for o in db.session.scalars(select(model))}

    def write(self, places, rows):
        companies, units = self._orgs(PropertyCompany), self._orgs(WorkUnit)
        existing = {(c.grid_id, c.name): c for c in db.session.scalars(
            select(Compound).where(tuple_(Compound.grid_id, Compound.name).in_([key for _l, _v, key in rows])))}
        out = []
        for _line, v, key in rows:
            values = {"address": v["address"], "entrance": v["entrance"],
                      "property_company_id": self._org(companies, PropertyCompany, v["property_company"]),
                      "work_unit_id": self._org(units, WorkUnit, v["work_unit"])}
            compound = existing.get(key)
            if compound is not None:
                values = self.given(v, values, {"property_company_id": "property_company",
                                                "work_unit_id": "work_unit"})
            if compound is None:
                compound = Compound(grid_id=key[0], name=key[1], **values)
                db.session.add(compound)
                existing[key] = compound
                out.append(CREATED)
            elif any(getattr(compound, k) != val for k, val in values.items()):
                for k, val in values.items():
                    setattr(compound, k, val)
                out.append(UPDATED)
            else:
                out.append(UNCHANGED)
        db.session.flush()
        places._compounds = None
        return out

    @staticmethod
    def _org(known: dict, model, name: str):
        if not name:
            return None
        org = known.get(name)
        if org is None:
            org = model(name=name)
            db.session.add(org)
            db.session.flush()
            known[name] = org
        return org.id

    def export_rows(self, places):
        stmt = (select(Community.name, Grid.name, Compound.name, Compound.address, Compound.entrance,
                       PropertyCompany.name, WorkUnit.name)
                .join(Grid, Grid.id == Compound.grid_id).join(Community, Community.id == Grid.community_id)
                .outerjoin(PropertyCompany, PropertyCompany.id == Compound.property_company_id)
                .outerjoin(WorkUnit, WorkUnit.id == Compound.work_unit_id)
                .where(Community.town_id == places.town.id).order_by(Community.id, Grid.id, Compound.id))
        if places.reach is not None:
            stmt = stmt.where(Community.id.in_(places.reach))
        for row in db.session.execute(stmt).yield_per(1000):
            yield [c or "" for c in row]


HOUSEHOLD_VALUES = ("head_name", "phone", "housebound", "living_alone")


class HouseholdsKind(Kind):
    """Households of a compound, one per building-unit-room."""

    def check(self, places, v):
        community = places.community(v["community"])
        compound_id = places.compound(community, v["grid"], v["compound"])
        return (compound_id, v["building"], v["unit"], v["room"])

    def write(self, places, rows):
        keys = [key for _line, _v, key in rows]
        cols = (Household.compound_id, Household.building, Household.unit, Household.room)
        existing = {tuple(r[1:5]): r for r in db.session.execute(
            select(Household.id, *cols, *(getattr(Household, f) for f in HOUSEHOLD_VALUES))
            .where(tuple_(*cols).in_(keys)))}
        new, changed, out = [], [], []
        for _line, v, key in rows:
            values = {f: v[f] for f in HOUSEHOLD_VALUES}
            row = existing.get(key)
            if row is None:
                new.append({"compound_id": key[0], "building": key[1], "unit": key[2], "room": key[3], **values})
                out.append(CREATED)
                continue
            now = dict(zip(HOUSEHOLD_VALUES, row[5:], strict=True))
            values = {**now, **self.given(v, values)}
            if values != now:
                changed.append({"hid": row[0], **values})
                out.append(UPDATED)
            else:
                out.append(UNCHANGED)
        if new:
            db.session.execute(insert(Household), new)
        if changed:
            table = Household.__table__
            db.session.execute(update(table).where(table.c.id == bindparam("hid"))
                               .values({f: bindparam(f) for f in HOUSEHOLD_VALUES}), changed)
        return out

    def export_rows(self, places):
        stmt = (select(Community.name, Grid.name, Compound.name, Household.building, Household.unit, Household.room,
                       Household.head_name, Household.phone, Household.housebound, Household.living_alone)
                .join(Compound, Compound.id == Household.compound_id).join(Grid, Grid.id == Compound.grid_id)
                .join(Community, Community.id == Grid.community_id)
                .where(Community.town_id == places.town.id)
                .order_by(Community.id, Grid.id, Compound.id, Household.building, Household.unit, Household.room))
        if places.reach is not None:
            stmt = stmt.where(Community.id.in_(places.reach))
        for row in db.session.execute(stmt).yield_per(2000):
            yield [*row[:8], "是" if row[8] else "否", "是" if row[9] else "否"]


class CheckpointsKind(Kind):
    """Duty checkpoints of a community, with their shift pattern and how many people a shift needs."""

    FIELDS = ("kind", "location", "pattern", "min_people", "max_people", "compound_id", "work_unit_id")

    def check(self, places, v):
        community = places.community(v["community"])
        v["community_id"] = community.id
        v["compound_id"] = places.compound(community, v["grid"], v["compound"]) if v["compound"] else None
        v["work_unit_id"] = places.work_unit(v["work_unit"]) if v["work_unit"] else None
        v["pattern"] = ",".join(label for label, *_r in _rule("pattern", duty.parse_pattern,
                                                                 v["pattern"] or DEFAULT_PATTERN))
        lo, hi = v["min_people"] or 1, v["max_people"] or max(2, v["min_people"] or 1)
        if hi < lo:
            raise RowError("max_people", _("The maximum must be at least the minimum, and the minimum at least 1."))
        v["min_people"], v["max_people"], v["kind"] = lo, hi, v["kind"] or "gate"
        return (community.id, v["name"])

    def write(self, places, rows):
        existing = {(c.community_id, c.name): c for c in db.session.scalars(
            select(Checkpoint).where(tuple_(Checkpoint.community_id, Checkpoint.name).in_([k for _l, _v, k in rows])))}
        out = []
        for _line, v, key in rows:
            values = {f: v[f] for f in self.FIELDS}
            cp = existing.get(key)
            if cp is not None:
                values = {**{f: getattr(cp, f) for f in self.FIELDS},
                          **self.given(v, values, {"compound_id": "compound", "work_unit_id": "work_unit"})}
                if values["max_people"] < values["min_people"]:
                    out.append(RowError("max_people", _("The maximum must be at least the minimum, and the "
                                                        "minimum at least 1.")))
                    continue
            if cp is None:
                compound = db.session.get(Compound, v["compound_id"]) if v["compound_id"] else None
                community = db.session.get(Community, key[0])
                existing[key] = duty.create_checkpoint(places.actor, community=community, compound=compound,
                                                       values={"name": key[1], **values})
                out.append(CREATED)
            elif any(getattr(cp, f) != values[f] for f in self.FIELDS):
                cp.compound_id = values.pop("compound_id")
                duty.update_checkpoint(places.actor, cp, {**values, "active": cp.active})
                out.append(UPDATED)
            else:
                out.append(UNCHANGED)
        return out

    def export_rows(self, places):
        kinds = {v: k for k, v in CHECKPOINT_WORDS.items() if k in ("门岗", "先锋岗", "其他")}
        stmt = (select(Checkpoint, Community.name).join(Community, Community.id == Checkpoint.community_id)
                .where(Community.town_id == places.town.id).order_by(Community.id, Checkpoint.id))
        if places.reach is not None:
            stmt = stmt.where(Community.id.in_(places.reach))
        grids, compounds = _grid_and_compound_names()
        units = dict(db.session.execute(select(WorkUnit.id, WorkUnit.name)).all())
        for cp, community in db.session.execute(stmt):
            grid, compound = compounds.get(cp.compound_id, ("", ""))
            yield [community, cp.name, kinds.get(cp.kind, cp.kind), grid, compound, cp.location,
                   units.get(cp.work_unit_id, ""), cp.pattern, cp.min_people, cp.max_people]


class PointsKind(Kind):
    """Disinfection points: in a compound, or at a public place of a community."""

    def check(self, places, v):
        community = places.community(v["community"])
        if bool(v["compound"]) == bool(v["place_name"]):
            raise RowError("compound", _("Name the compound or the public place: one of the two."))
        compound_id = places.compound(community, v["grid"], v["compound"]) if v["compound"] else None
        if not v["kind"]:
            raise RowError("kind", _("Required."))
        v["task"] = v["task"] or "disinfection"
        if v["windows"]:
            v["windows"] = ",".join(label for label, *_r in _rule("windows", disinfection.parse_windows, v["windows"]))
        v["community_id"], v["compound_id"] = community.id, compound_id
        return (community.id, compound_id, v["place_name"], v["name"])

    def write(self, places, rows):
        community_ids = {k[0] for _l, _v, k in rows}
        existing = {(p.community_id, p.compound_id, p.place_name, p.name): p for p in db.session.scalars(
            select(DisinfectionPoint).where(DisinfectionPoint.community_id.in_(community_ids)))}
        out = []
        for _line, v, key in rows:
            point = existing.get(key)
            if point is None:
                compound = db.session.get(Compound, key[1]) if key[1] else None
                community = None if compound else db.session.get(Community, key[0])
                made = disinfection.create_points(places.actor, compound=compound, community=community, values={
                    "kind": v["kind"], "task": v["task"], "windows": v["windows"], "name": v["name"],
                    "place_name": v["place_name"], "count": 1})
                existing[key] = made[0]
                out.append(CREATED)
                continue
            now = {"kind": point.kind, "task": point.task, "windows": point.windows}
            values = {**now, **self.given(v, {"kind": v["kind"], "task": v["task"], "windows": v["windows"]})}
            if values != now:
                point.kind, point.task = values["kind"], values["task"]
                disinfection.update_point(places.actor, point, {"name": point.name, "windows": values["windows"],
                                                                "active": point.active})
                out.append(UPDATED)
            else:
                out.append(UNCHANGED)
        return out

    def export_rows(self, places):
        kinds = {v: k for k, v in POINT_WORDS.items() if k in _POINT_EXPORT}
        tasks = {"disinfection": "消毒", "garbage": "垃圾清运"}
        stmt = (select(DisinfectionPoint, Community.name)
                .join(Community, Community.id == DisinfectionPoint.community_id)
                .where(Community.town_id == places.town.id).order_by(Community.id, DisinfectionPoint.id))
        if places.reach is not None:
            stmt = stmt.where(Community.id.in_(places.reach))
        _grids, compounds = _grid_and_compound_names()
        for p, community in db.session.execute(stmt):
            grid, compound = compounds.get(p.compound_id, ("", ""))
            yield [community, grid, compound, p.place_name, p.name, kinds.get(p.kind, p.kind),
                   tasks.get(p.task, p.task), p.windows]


ROLE_WORDS = {"志愿者": "volunteer", "党员志愿者": "volunteer", "网格员": "grid_member", "楼院长": "building_head",
              "楼栋长": "building_head", "书记": "secretary", "社区书记": "secretary", "村书记": "secretary",
              "支部书记": "secretary", "物业负责人": "property_manager", "物业": "property_manager",
              "单位联络人": "unit_contact", "联络人": "unit_contact"}
_ROLE_EXPORT = {"volunteer": "志愿者", "grid_member": "网格员", "building_head": "楼院长", "secretary": "书记",
                "property_manager": "物业负责人", "unit_contact": "单位联络人"}


def roles(value: str) -> tuple[str, ...]:
    words = [w for w in re.split(r"[,，、;；/\s]+", value.strip()) if w]
    out = []
    for w in words:
        role = ROLE_WORDS.get(w) or (w.lower() if w.lower() in _ROLE_EXPORT else None)
        if role is None:
            raise ValueError(_("Unknown role %(role)s: write 志愿者, 网格员, 楼院长, 书记, 物业负责人 or 单位联络人.",
                               role=w))
        if role not in out:
            out.append(role)
    return tuple(out)


def email(value: str) -> str:
    v = value.strip()
    if v and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", v):
        raise ValueError(_("Not an e-mail address."))
    return v


class AccountsKind(Kind):
    """People: volunteers, grid members, building heads … by their mobile number, each with the roles
    the row names on its places. A new account has no password: it gets an invitation."""

    def check(self, places, v):
        community = places.community(v["community"])
        if not v["phone"]:
            raise RowError("phone", _("Required."))
        grants = []
        for role in v["roles"]:
            if role in ("volunteer", "secretary"):
                grants.append((role, community.id))
            elif role == "grid_member":
                if not v["grid"]:
                    raise RowError("grid", _("A grid member needs the grid."))
                grants.append((role, places.grid(community, v["grid"]).id))
            elif role == "building_head":
                if not v["compound"]:
                    raise RowError("compound", _("A building head needs the compound."))
                grants.append((role, places.compound(community, v["grid"], v["compound"])))
            elif role == "property_manager":
                if not v["property_company"]:
                    raise RowError("property_company", _("A property manager needs the property company."))
                grants.append((role, places.org(PropertyCompany, v["property_company"], "property_company")))
            elif role == "unit_contact":
                if not v["work_unit"]:
                    raise RowError("work_unit", _("A work-unit contact needs the work unit."))
                grants.append((role, places.work_unit(v["work_unit"])))
        if not grants:
            raise RowError("roles", _("Required."))
        v["grants"] = grants
        v["username"] = v["username"] or v["phone"]
        return v["phone"]

    def write(self, places, rows):
        phones = [k for _l, _v, k in rows]
        by_phone = {u.phone: u for u in db.session.scalars(select(User).where(User.phone.in_(phones)))}
        taken = set(db.session.scalars(select(func.lower(User.username)).where(
            func.lower(User.username).in_([v["username"].lower() for _l, v, _k in rows]))))
        out = []
        for _line, v, key in rows:
            user = by_phone.get(key)
            held = {(ra.role, ra.scope_id) for ra in user.roles} if user is not None else set()
            if places.reach is not None and any(g[0] == "secretary" and g not in held for g in v["grants"]):
                out.append(RowError("roles", _("Only the administrator gives the secretary's role.")))
                continue
            if user is None:
                if v["username"].lower() in taken:  # usernames are unique whatever their case
                    out.append(RowError("username", _("This username is already taken.")))
                    continue
                user = auth.create_user(places.actor, username=v["username"], display_name=v["name"], phone=key,
                                        email=v["email"] or None, is_party_member=v["party_member"])
                for role, scope_id in v["grants"]:
                    auth.assign_role(places.actor, user, role, scope_id)
                db.session.flush()
                if places.dry_run:
                    invitations.invite(places.actor, user, deliver=False)
                else:  # the link in the message points where the confirming staff member works
                    with current_app.test_request_context(base_url=places.url_root or None):
                        invitations.invite(places.actor, user)
                taken.add(user.username.lower())
                out.append(CREATED)
                continue
            if places.reach is not None and not held_within(user, places.reach):  # as for inviting them
                out.append(RowError("phone", _("This phone belongs to an account outside your community: ask the "
                                               "administrator.")))
                continue
            values = self.given(v, {"display_name": v["name"], "is_party_member": v["party_member"],
                                    "email": v["email"] or None},
                               {"display_name": "name", "is_party_member": "party_member"})
            missing = [g for g in v["grants"] if g not in held]
            changed = {k: val for k, val in values.items() if getattr(user, k) != val}
            for k, val in changed.items():
                setattr(user, k, val)
            for role, scope_id in missing:
                auth.assign_role(places.actor, user, role, scope_id)
            if changed:
                record("user_updated", user, actor=places.actor,
                       summary="import: " + ", ".join(sorted(changed)))
            out.append(UPDATED if changed or missing else UNCHANGED)
        db.session.flush()
        return out

    def export_rows(self, places):
        """One row per account holding a role on a place of the importer's reach: its community, its
        first grid and compound, all its roles (an account with two grids shows the first: importing
        never takes a role away)."""
        communities = {c.id: c for c in places.communities.values()
                       if places.reach is None or c.id in places.reach}
        grids = {g.id: g for g in places.grids.values() if g.community_id in communities}
        compounds = {cid: (gid, name) for cid, gid, name in db.session.execute(
            select(Compound.id, Compound.grid_id, Compound.name).where(Compound.grid_id.in_(grids)))}
        orgs = {("property_company", i): n for i, n in db.session.execute(select(PropertyCompany.id,
                                                                                 PropertyCompany.name))}
        orgs |= {("work_unit", i): n for i, n in db.session.execute(select(WorkUnit.id, WorkUnit.name))}
        users = db.session.scalars(select(User).join(RoleAssignment).where(
            RoleAssignment.role.in_(list(_ROLE_EXPORT))).distinct().order_by(User.id))
        for user in users:
            row = {"community": None, "grid": "", "compound": "", "property_company": "", "work_unit": ""}
            names = []
            for ra in user.roles:
                if ra.role not in _ROLE_EXPORT:
                    continue
                community_id = {"community": ra.scope_id, "grid": getattr(grids.get(ra.scope_id), "community_id",
                                                                            None)}.get(ra.scope_type)
                if ra.scope_type == "compound" and ra.scope_id in compounds:
                    gid, cname = compounds[ra.scope_id]
                    community_id = grids[gid].community_id
                    row["compound"] = row["compound"] or cname
                    row["grid"] = row["grid"] or grids[gid].name
                if ra.scope_type == "grid" and ra.scope_id in grids:
                    row["grid"] = row["grid"] or grids[ra.scope_id].name
                if ra.scope_type in ("property_company", "work_unit"):
                    row[ra.scope_type] = row[ra.scope_type] or orgs.get((ra.scope_type, ra.scope_id), "")
                if community_id in communities and row["community"] is None:
                    row["community"] = communities[community_id].name
                names.append(_ROLE_EXPORT[ra.role])
            if row["community"] is None:
                continue  # no role in the importer's communities (or only on an organisation)
            yield [user.display_name, user.phone or "", row["community"], row["grid"], row["compound"],
                   row["property_company"], row["work_unit"], "、".join(dict.fromkeys(names)),
                   "是" if user.is_party_member else "否", user.username, user.email or ""]


def _grid_and_compound_names():
    grids = dict(db.session.execute(select(Grid.id, Grid.name)).all())
    compounds = {cid: (grids.get(gid, ""), name) for cid, gid, name in
                 db.session.execute(select(Compound.id, Compound.grid_id, Compound.name))}
    return grids, compounds


CHECKPOINT_WORDS = {"门岗": "gate", "门岗检查点": "gate", "检查点": "gate", "卡口": "gate",
                    "先锋岗": "vanguard", "党员先锋岗": "vanguard", "其他": "other"}
POINT_WORDS = {"电梯": "elevator", "公共厕所": "public_toilet", "公厕": "public_toilet", "楼道": "stairwell",
               "楼梯间": "stairwell", "垃圾点": "garbage_point", "垃圾收集点": "garbage_point",
               "活动场所": "activity_area", "活动区": "activity_area", "商铺": "shop", "门店": "shop", "其他": "other"}
_POINT_EXPORT = ("电梯", "公共厕所", "楼道", "垃圾点", "活动场所", "商铺", "其他")
TASK_WORDS = {"消毒": "disinfection", "垃圾清运": "garbage", "清运": "garbage"}


_COMMUNITY = Field("community", "社区", required=True, aliases=("社区/村", "村（社区）", "村", "Community"),
                   example="城关社区")
_GRID = Field("grid", "网格", aliases=("网格名称", "Grid"), example="第一网格")

KINDS = {
    "places": PlacesKind(
        "places", _l("Communities and grids"),
        (_COMMUNITY,
         Field("kind", "类型", parse=community_kind, aliases=("Kind",), example="社区", width=8),
         _GRID),
        natural_key=_l("the community's name; the grid's name within its community"),
        notes=_l("One row per grid; a community without grids may have an empty grid cell. "
                 "Type is 社区, 村 or 城中村.")),
    "compounds": CompoundsKind(
        "compounds", _l("Compounds"),
        (_COMMUNITY, Field("grid", "网格", required=True, aliases=("Grid",), example="第一网格"),
         Field("name", "小区名称", required=True, aliases=("小区", "楼院", "Compound", "Name"), example="幸福小区"),
         Field("address", "地址", parse=text(200), aliases=("Address",), example="人民路12号", width=20),
         Field("entrance", "开放出入口", parse=text(200), aliases=("出入口", "Entrance"), example="南门", width=16),
         Field("property_company", "物业公司", aliases=("物业", "Property company"), example="红嘴鸥物业", width=16),
         Field("work_unit", "单位", aliases=("负责单位", "Work unit"), example="", width=16)),
        natural_key=_l("the compound's name within its grid"),
        notes=_l("A property company or work unit not yet known is created by its name.")),
    "households": HouseholdsKind(
        "households", _l("Households"),
        (_COMMUNITY, _GRID,
         Field("compound", "小区", required=True, aliases=("小区名称", "楼院", "Compound"), example="幸福小区"),
         Field("building", "楼栋", parse=text(20), aliases=("楼号", "栋", "Building"), example="1", width=8),
         Field("unit", "单元", parse=text(20), aliases=("Unit",), example="2", width=8),
         Field("room", "房号", required=True, parse=text(20), aliases=("门牌号", "室", "Room"), example="301", width=8),
         Field("head_name", "户主姓名", required=True, aliases=("户主", "Head of household"), example="张秀英",
               personal=True),
         Field("phone", "联系电话", parse=phone, aliases=("电话", "手机", "手机号", "Phone"), example="13800001234",
               personal=True),
         Field("housebound", "居家不便", parse=yes_no, aliases=("行动不便", "Housebound"), example="否", width=10,
               personal=True),
         Field("living_alone", "独居", parse=yes_no, aliases=("独居老人", "Living alone"), example="是", width=8,
               personal=True)),
        natural_key=_l("building, unit and room within the compound"),
        notes=_l("The grid may be left empty where the compound's name is unique in its community.")),
    "checkpoints": CheckpointsKind(
        "checkpoints", _l("Duty checkpoints"),
        (_COMMUNITY,
         Field("name", "检查点名称", required=True, aliases=("名称", "岗位名称", "Checkpoint", "Name"),
               example="幸福小区南门"),
         Field("kind", "类型", parse=choice(CHECKPOINT_WORDS, _l("Write 门岗, 先锋岗 or 其他.")), aliases=("Kind",),
               example="门岗", width=8),
         _GRID,
         Field("compound", "小区", aliases=("Compound",), example="幸福小区"),
         Field("location", "位置", parse=text(200), aliases=("Location",), example="南门岗亭", width=16),
         Field("work_unit", "负责单位", aliases=("单位", "Work unit"), example="", width=16),
         Field("pattern", "班次", parse=text(200), aliases=("班次安排", "Shifts", "Pattern"),
               example=DEFAULT_PATTERN, width=34),
         Field("min_people", "每班最少人数", parse=whole_number, aliases=("最少人数", "Minimum"), example="1",
               width=8),
         Field("max_people", "每班最多人数", parse=whole_number, aliases=("最多人数", "Maximum"), example="2",
               width=8)),
        natural_key=_l("the checkpoint's name within its community"),
        notes=_l("Shifts are written as 08:00-16:00, separated by commas; empty means three shifts round the clock. "
                 "A compound and a work unit are optional; a work unit must be known already.")),
    "points": PointsKind(
        "points", _l("Disinfection points"),
        (_COMMUNITY, _GRID,
         Field("compound", "小区", aliases=("Compound",), example="幸福小区"),
         Field("place_name", "公共场所", aliases=("场所", "Public place"), example=""),
         Field("name", "点位名称", required=True, aliases=("点位", "名称", "Point", "Name"), example="1号楼电梯"),
         Field("kind", "点位类型", required=True, parse=choice(POINT_WORDS, _l(
             "Write 电梯, 公共厕所, 楼道, 垃圾点, 活动场所, 商铺 or 其他.")), aliases=("类型", "Kind"), example="电梯",
             width=10),
         Field("task", "任务", parse=choice(TASK_WORDS, _l("Write 消毒 or 垃圾清运.")), aliases=("Task",),
               example="消毒", width=10),
         Field("windows", "时段", parse=text(200), aliases=("消毒时段", "Windows"), example="06:00-10:00,14:00-18:00",
               width=28)),
        natural_key=_l("the point's name within its compound or public place"),
        notes=_l("Give a compound or a public place, not both. Windows are written as 06:00-10:00, separated by "
                 "commas; empty means the task's defaults.")),
    "accounts": AccountsKind(
        "accounts", _l("People (accounts)"),
        (Field("name", "姓名", required=True, aliases=("名字", "Name"), example="李梅", personal=True),
         Field("phone", "手机号", required=True, parse=phone, aliases=("手机", "联系电话", "电话", "Phone"),
               example="13800005678", personal=True),
         _COMMUNITY, _GRID,
         Field("compound", "小区", aliases=("楼院", "Compound"), example=""),
         Field("property_company", "物业公司", aliases=("物业", "Property company"), example=""),
         Field("work_unit", "单位", aliases=("负责单位", "Work unit"), example=""),
         Field("roles", "角色", required=True, parse=roles, aliases=("身份", "Roles"), example="志愿者", width=16),
         Field("party_member", "党员", parse=yes_no, aliases=("是否党员", "Party member"), example="是", width=8,
               personal=True),
         Field("username", "用户名", parse=text(64), aliases=("登录名", "Username"), example="", personal=True),
         Field("email", "邮箱", parse=email, aliases=("电子邮箱", "E-mail"), example="", width=20, personal=True)),
        natural_key=_l("the mobile number"),
        notes=_l("Roles: 志愿者, 网格员 (with the grid), 楼院长 (with the compound), 书记 (administrator only), "
                 "物业负责人 (with the property company), 单位联络人 (with the work unit); several separated by 、. "
                 "A new account has no password: it is sent an invitation by SMS or e-mail where those are set up, "
                 "and the printable sheet of invitations serves the others. The username defaults to the mobile "
                 "number. Importing adds roles, never takes one away.")),
}


def kind_or_none(name: str) -> Kind | None:
    return KINDS.get(name)
