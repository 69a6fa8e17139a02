"""Registering a household's people: checked, audited without values, searched within the places the
user is in charge of (each list one statement, whatever the number of rows)."""
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import contains_eager

from gridapp import policy
from gridapp.audit.services import describe_changes, record, snapshot
from gridapp.core.rules import RuleError
from gridapp.extensions import db
from gridapp.grid.models import Community, Compound, Grid, Household
from gridapp.people.models import RELATIONS, SEXES, TRAVEL_MODES, Person
from gridapp.timeutil import town_today, utcnow

RELATION_LABELS = {
    "head": _l("Head of household"), "spouse": _l("Spouse"), "child": _l("Child"), "parent": _l("Parent"),
    "grandchild": _l("Grandchild"), "relative": _l("Other relative"), "tenant": _l("Tenant"),
    "other": _l("Other"),
}
SEX_LABELS = {"m": _l("Male"), "f": _l("Female")}
TRAVEL_LABELS = {"train": _l("Train"), "plane": _l("Plane"), "coach": _l("Coach"), "car": _l("Car"),
                 "other": _l("Other")}
assert set(RELATION_LABELS) == set(RELATIONS) and set(SEX_LABELS) == set(SEXES)
assert set(TRAVEL_LABELS) == set(TRAVEL_MODES)

PERSON_FIELDS = ("name", "relation", "sex", "birth_year", "phone", "from_outside", "came_from", "arrived_on",
                 "travel_mode", "notes")
EARLIEST_ARRIVAL_YEAR = 2000


def _checked(values: dict, now: datetime | None = None) -> dict:
    v = {f: values.get(f) for f in PERSON_FIELDS}
    for f in ("name", "phone", "came_from", "notes", "sex", "travel_mode"):
        v[f] = (v[f] or "").strip()
    if not v["name"]:
        raise RuleError(_l("Give the person's name."), "name")
    if v["relation"] not in RELATIONS:
        raise RuleError(_l("Choose a relation from the list."), "relation")
    if v["sex"] and v["sex"] not in SEXES:
        raise RuleError(_l("Choose from the list."), "sex")
    if v["travel_mode"] and v["travel_mode"] not in TRAVEL_MODES:
        raise RuleError(_l("Choose from the list."), "travel_mode")
    today = town_today(now or utcnow())
    if v["birth_year"] is not None and not 1900 <= v["birth_year"] <= today.year:
        raise RuleError(_l("Give a year of birth between 1900 and this year."), "birth_year")
    v["from_outside"] = bool(v["from_outside"])
    if v["from_outside"]:
        if not v["came_from"]:
            raise RuleError(_l("Say where they came from."), "came_from")
        if v["arrived_on"] is None:
            raise RuleError(_l("Give the day they arrived."), "arrived_on")
        if v["arrived_on"] > today or v["arrived_on"].year < EARLIEST_ARRIVAL_YEAR:
            raise RuleError(_l("The arrival date cannot be in the future."), "arrived_on")
    else:  # nothing kept about a journey that did not happen
        v.update(came_from="", arrived_on=None, travel_mode="")
    return v


def add_person(household: Household, values: dict, actor, now: datetime | None = None) -> Person:
    v = _checked(values, now)
    person = Person(household_id=household.id, **v)
    person.household = household
    db.session.add(person)
    db.session.flush()
    record("person_added", person, summary=describe_changes({}, v, personal=frozenset(PERSON_FIELDS)), actor=actor)
    return person


def update_person(person: Person, values: dict, actor, now: datetime | None = None) -> Person:
    v = _checked(values, now)
    before = snapshot(person, PERSON_FIELDS)
    for field, value in v.items():
        setattr(person, field, value)
    db.session.flush()
    summary = describe_changes(before, snapshot(person, PERSON_FIELDS), personal=frozenset(PERSON_FIELDS))
    if summary:
        record("person_updated", person, summary=summary, actor=actor)
    return person


def remove_person(person: Person, actor) -> None:
    record("person_removed", person, actor=actor)
    db.session.delete(person)


def household_people(household: Household) -> list[Person]:
    return list(db.session.scalars(select(Person).where(Person.household_id == household.id)
                                   .order_by(Person.relation != "head", Person.id)))


def search_people(user, q: str = "", returnees: bool = False) -> Select:
    """The people of the households the user may see, by name, phone or where they came from; with
    `returnees`, only those who came or returned from outside, latest arrivals first."""
    stmt = (select(Person).join(Household, Household.id == Person.household_id)
            .join(Compound, Compound.id == Household.compound_id).join(Grid, Grid.id == Compound.grid_id)
            .join(Community, Community.id == Grid.community_id)
            .where(policy.household_clause(user))
            .options(contains_eager(Person.household).contains_eager(Household.compound)
                     .contains_eager(Compound.grid).contains_eager(Grid.community)))
    q = (q or "").strip()
    if q:
        like = f"%{q.replace('%', '').replace('_', '')}%"
        stmt = stmt.where(or_(Person.name.like(like), Person.phone.like(like), Person.came_from.like(like)))
    if returnees:
        stmt = stmt.where(Person.from_outside.is_(True)).order_by(Person.arrived_on.desc(), Person.id)
    else:
        stmt = stmt.order_by(Compound.name, Household.building, Household.unit, Household.room, Person.id)
    return stmt
