"""Rules and queries for the grid's places: names, scoped lists, edits with audit."""

from flask_babel import gettext as _
from sqlalchemy import Select, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager, joinedload

from gridapp import policy
from gridapp.audit.services import describe_changes, record, snapshot
from gridapp.core.rules import RuleError
from gridapp.extensions import db
from gridapp.grid.models import COMMUNITY_KINDS, Community, Compound, Grid, Household, PropertyCompany, Town, WorkUnit
from gridapp.timeutil import town_today

SCOPE_MODELS = {
    "town": Town,
    "community": Community,
    "grid": Grid,
    "compound": Compound,
    "property_company": PropertyCompany,
    "work_unit": WorkUnit,
}

# The fields each edit may change, in the order an audit summary lists them.
TOWN_FIELDS = ("name",)
COMMUNITY_FIELDS = ("name", "kind")
GRID_FIELDS = ("name",)
COMPOUND_FIELDS = ("name", "address", "entrance", "property_company_id", "work_unit_id")
# Not observation_until: home observation derives it from the household's people's observations.
HOUSEHOLD_FIELDS = ("building", "unit", "room", "head_name", "phone", "housebound", "living_alone", "notes")
ORG_FIELDS = ("name", "phone")
# Every field of a household is personal (who, where, how to reach them, health flags): its audit
# summaries name the fields that changed, never what they were or became.
HOUSEHOLD_PERSONAL = frozenset(HOUSEHOLD_FIELDS) | {"observation_until"}


def place_names(pairs) -> dict:
    """{(scope_type, id): name} for role scopes, one query per kind of place."""
    wanted: dict[str, set] = {}
    for scope_type, scope_id in pairs:
        if scope_type in SCOPE_MODELS:
            wanted.setdefault(scope_type, set()).add(scope_id)
    names = {}
    for scope_type, ids in wanted.items():
        model = SCOPE_MODELS[scope_type]
        for pid, name in db.session.execute(select(model.id, model.name).where(model.id.in_(ids))):
            names[(scope_type, pid)] = name
    return names


# --- writing: one helper keeps every create and edit audited and duplicate-safe -------------

def _clean(values: dict, fields) -> dict:
    out = {}
    for f in fields:
        v = values.get(f)
        out[f] = v.strip() if isinstance(v, str) else v
    return out


def _save(obj, values: dict, fields, action: str, *, new: bool, duplicate, duplicate_field: str,
          duplicate_message, personal: frozenset = frozenset()):
    """Apply `values` to `obj`, flush it inside a savepoint and audit the change.

    `duplicate` is a select that finds another row with the same unique key: checked first for
    a friendly message; the unique constraint still decides under concurrency (IntegrityError in
    the savepoint is reported the same way, and the caller's transaction stays usable).
    """
    before = {} if new else snapshot(obj, fields)
    if not new:
        duplicate = duplicate.where(type(obj).id != obj.id)
    if db.session.scalar(duplicate.limit(1)) is not None:
        raise RuleError(duplicate_message(), duplicate_field)
    try:
        # Changes are made inside the savepoint: begin_nested() flushes what is pending first.
        with db.session.begin_nested():
            for f in fields:
                setattr(obj, f, values[f])
            if new:
                db.session.add(obj)
            db.session.flush()
    except IntegrityError:
        if not new:
            db.session.expire(obj)  # drop the refused values; the row is as it was
        raise RuleError(duplicate_message(), duplicate_field) from None
    after = snapshot(obj, fields)
    record(action, obj, summary=describe_changes(before, after, personal=personal))
    return obj


def _name_taken():
    return _("This name is already used here.")


def update_town(town: Town, values: dict) -> Town:
    values = _clean(values, TOWN_FIELDS)
    return _save(town, values, TOWN_FIELDS, "town_updated", new=False,
                 duplicate=select(Town.id).where(Town.name == values["name"]),
                 duplicate_field="name", duplicate_message=_name_taken)


def _check_kind(values):
    if values["kind"] not in COMMUNITY_KINDS:
        raise RuleError(_("Choose a kind of community."), "kind")


def create_community(town: Town, values: dict) -> Community:
    values = _clean(values, COMMUNITY_FIELDS)
    _check_kind(values)
    return _save(Community(town_id=town.id), values, COMMUNITY_FIELDS, "community_created", new=True,
                 duplicate=select(Community.id).where(Community.town_id == town.id,
                                                      Community.name == values["name"]),
                 duplicate_field="name", duplicate_message=_name_taken)


def update_community(community: Community, values: dict) -> Community:
    values = _clean(values, COMMUNITY_FIELDS)
    _check_kind(values)
    return _save(community, values, COMMUNITY_FIELDS, "community_updated", new=False,
                 duplicate=select(Community.id).where(Community.town_id == community.town_id,
                                                      Community.name == values["name"]),
                 duplicate_field="name", duplicate_message=_name_taken)


def create_grid(community: Community, values: dict) -> Grid:
    values = _clean(values, GRID_FIELDS)
    return _save(Grid(community_id=community.id), values, GRID_FIELDS, "grid_created", new=True,
                 duplicate=select(Grid.id).where(Grid.community_id == community.id, Grid.name == values["name"]),
                 duplicate_field="name", duplicate_message=_name_taken)


def update_grid(grid: Grid, values: dict) -> Grid:
    values = _clean(values, GRID_FIELDS)
    return _save(grid, values, GRID_FIELDS, "grid_updated", new=False,
                 duplicate=select(Grid.id).where(Grid.community_id == grid.community_id, Grid.name == values["name"]),
                 duplicate_field="name", duplicate_message=_name_taken)


def _check_compound(values):
    """One party answers for a compound: a property company, a work unit, or (neither) the community."""
    if values.get("property_company_id") and values.get("work_unit_id"):
        raise RuleError(_("A compound is looked after by a property company or by a work "
                          "unit, not both."), "work_unit_id")
    for key, model in (("property_company_id", PropertyCompany), ("work_unit_id", WorkUnit)):
        if values.get(key) is not None and db.session.get(model, values[key]) is None:
            raise RuleError(_("Not a valid choice."), key)


def create_compound(grid: Grid, values: dict) -> Compound:
    values = _clean(values, COMPOUND_FIELDS)
    _check_compound(values)
    return _save(Compound(grid_id=grid.id), values, COMPOUND_FIELDS, "compound_created", new=True,
                 duplicate=select(Compound.id).where(Compound.grid_id == grid.id, Compound.name == values["name"]),
                 duplicate_field="name", duplicate_message=_name_taken)


def update_compound(compound: Compound, values: dict) -> Compound:
    values = _clean(values, COMPOUND_FIELDS)
    _check_compound(values)
    return _save(compound, values, COMPOUND_FIELDS, "compound_updated", new=False,
                 duplicate=select(Compound.id).where(Compound.grid_id == compound.grid_id,
                                                     Compound.name == values["name"]),
                 duplicate_field="name", duplicate_message=_name_taken)


def _household_values(values: dict) -> dict:
    values = _clean(values, HOUSEHOLD_FIELDS)
    for f in ("building", "unit", "phone", "notes"):
        values[f] = values[f] or ""
    for f in ("housebound", "living_alone"):
        values[f] = bool(values[f])
    return values


def _same_room(compound_id: int, values: dict):
    return select(Household.id).where(Household.compound_id == compound_id, Household.building == values["building"],
                                      Household.unit == values["unit"], Household.room == values["room"])


def _room_taken():
    return _("This compound already has a household in this building, unit and room.")


def create_household(compound: Compound, values: dict) -> Household:
    values = _household_values(values)
    return _save(Household(compound_id=compound.id), values, HOUSEHOLD_FIELDS, "household_created", new=True,
                 duplicate=_same_room(compound.id, values), duplicate_field="room",
                 duplicate_message=_room_taken, personal=HOUSEHOLD_PERSONAL)


def update_household(household: Household, values: dict) -> Household:
    values = _household_values(values)
    return _save(household, values, HOUSEHOLD_FIELDS, "household_updated", new=False,
                 duplicate=_same_room(household.compound_id, values), duplicate_field="room",
                 duplicate_message=_room_taken, personal=HOUSEHOLD_PERSONAL)


def create_org(model, values: dict):
    """A property company or a work unit."""
    values = _clean(values, ORG_FIELDS)
    values["phone"] = values["phone"] or None
    return _save(model(), values, ORG_FIELDS, f"{_org_kind(model)}_created", new=True,
                 duplicate=select(model.id).where(model.name == values["name"]),
                 duplicate_field="name", duplicate_message=_name_taken)


def update_org(org, values: dict):
    values = _clean(values, ORG_FIELDS)
    values["phone"] = values["phone"] or None
    model = type(org)
    return _save(org, values, ORG_FIELDS, f"{_org_kind(model)}_updated", new=False,
                 duplicate=select(model.id).where(model.name == values["name"]),
                 duplicate_field="name", duplicate_message=_name_taken)


def _org_kind(model) -> str:
    return "property_company" if model is PropertyCompany else "work_unit"


# --- reading: scoped lists, each one query whatever the number of rows -----------------------

def the_town() -> Town | None:
    """The town this installation serves (the first one, if a test or a seed made several)."""
    return db.session.scalars(select(Town).order_by(Town.id).limit(1)).first()


def _grid_count(community_col):
    return (select(func.count(Grid.id)).where(Grid.community_id == community_col)
            .correlate_except(Grid).scalar_subquery())


def _compound_count_in_community(community_col):
    return (select(func.count(Compound.id)).join(Grid, Grid.id == Compound.grid_id)
            .where(Grid.community_id == community_col).correlate_except(Grid, Compound).scalar_subquery())


def _household_count_in_community(community_col):
    return (select(func.count(Household.id)).join(Compound, Compound.id == Household.compound_id)
            .join(Grid, Grid.id == Compound.grid_id).where(Grid.community_id == community_col)
            .correlate_except(Grid, Compound, Household).scalar_subquery())


def communities_with_counts(user) -> list:
    """(community, grids, compounds, households) for each community the user may see.

    The numbers describe the place as a whole (they carry nothing personal), in one query.
    """
    stmt = (
        select(Community,
               _grid_count(Community.id).label("grids"),
               _compound_count_in_community(Community.id).label("compounds"),
               _household_count_in_community(Community.id).label("households"))
        .where(policy.community_clause(user))
        .order_by(Community.id)
    )
    return db.session.execute(stmt).all()


def grids_with_counts(user, community: Community) -> list:
    """(grid, compounds, households) for the grids of a community the user may see."""
    compounds_n = (select(func.count(Compound.id)).where(Compound.grid_id == Grid.id)
                   .correlate_except(Compound).scalar_subquery())
    households_n = (select(func.count(Household.id)).join(Compound, Compound.id == Household.compound_id)
                    .where(Compound.grid_id == Grid.id).correlate_except(Compound, Household).scalar_subquery())
    stmt = (
        select(Grid, compounds_n.label("compounds"), households_n.label("households"))
        .where(Grid.community_id == community.id, policy.grid_clause(user))
        .order_by(Grid.id)
    )
    return db.session.execute(stmt).all()


def compounds_with_counts(user, grid: Grid) -> list:
    """(compound, households) for the compounds of a grid the user may see."""
    households_n = (select(func.count(Household.id)).where(Household.compound_id == Compound.id)
                    .correlate_except(Household).scalar_subquery())
    stmt = (
        select(Compound, households_n.label("households"))
        .join(Grid, Grid.id == Compound.grid_id)
        .where(Compound.grid_id == grid.id, policy.compound_clause(user))
        .options(joinedload(Compound.property_company), joinedload(Compound.work_unit))
        .order_by(Compound.id)
    )
    return db.session.execute(stmt).all()


def own_compounds(user) -> list:
    """The compounds the user answers for in person, with their grid and community."""
    stmt = (
        select(Compound)
        .join(Grid, Grid.id == Compound.grid_id)
        .join(Community, Community.id == Grid.community_id)
        .where(policy.own_compound_clause(user))
        .options(contains_eager(Compound.grid).contains_eager(Grid.community))
        .order_by(Community.id, Grid.id, Compound.id)
    )
    return list(db.session.scalars(stmt))


def property_companies() -> list:
    return list(db.session.scalars(select(PropertyCompany).order_by(PropertyCompany.name)))


def work_units() -> list:
    return list(db.session.scalars(select(WorkUnit).order_by(WorkUnit.name)))


def _like(q: str) -> str:
    escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _household_text_match(q: str, *extra):
    pattern = _like(q)
    cols = (Household.head_name, Household.room, Household.phone, *extra)
    return or_(*(c.ilike(pattern, escape="\\") for c in cols))


HOUSEHOLD_ORDER = (Household.building, Household.unit, Household.room, Household.id)


def compound_households(compound: Compound, q: str = "") -> Select:
    """The households of one compound, searched by head name, room or phone (a select for db.paginate)."""
    stmt = select(Household).where(Household.compound_id == compound.id)
    q = (q or "").strip()
    if q:
        stmt = stmt.where(_household_text_match(q))
    return stmt.order_by(*HOUSEHOLD_ORDER)


def search_households(user, q: str = "", filters: dict | None = None) -> Select:
    """Every household the user may see, searched and filtered (a select for db.paginate).

    filters: housebound, living_alone, observed (home observation not yet over), as booleans.
    """
    filters = filters or {}
    stmt = (
        select(Household)
        .join(Compound, Compound.id == Household.compound_id)
        .join(Grid, Grid.id == Compound.grid_id)
        .join(Community, Community.id == Grid.community_id)
        .where(policy.household_clause(user))
        .options(contains_eager(Household.compound).contains_eager(Compound.grid).contains_eager(Grid.community))
    )
    q = (q or "").strip()
    if q:
        stmt = stmt.where(_household_text_match(q, Compound.name))
    if filters.get("housebound"):
        stmt = stmt.where(Household.housebound.is_(True))
    if filters.get("living_alone"):
        stmt = stmt.where(Household.living_alone.is_(True))
    if filters.get("observed"):
        stmt = stmt.where(Household.observation_until.is_not(None), Household.observation_until >= town_today())
    return stmt.order_by(Community.id, Grid.id, Compound.name, *HOUSEHOLD_ORDER)
