"""The grid's rules and queries, without HTTP: audited writes, duplicates, scoped lists."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from gridapp.audit.models import AuditEvent
from gridapp.core.rules import RuleError
from gridapp.extensions import db
from gridapp.grid import services
from gridapp.grid.models import Household

H1_VALUES = {"building": "1", "unit": "1", "room": "101", "head_name": "张三", "phone": "13900000101",
             "housebound": True, "living_alone": False, "observation_until": None, "notes": ""}


def events(action):
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


def test_update_household_audits_in_the_same_transaction(world):
    services.update_household(world.h1, {**H1_VALUES, "head_name": " 张三丰 ", "living_alone": True})
    (event,) = events("household_updated")
    assert event.summary == "head_name: changed; living_alone: changed"
    db.session.rollback()  # the change and its audit event go together
    assert events("household_updated") == []
    assert db.session.get(Household, world.h1.id).head_name == "张三"


def test_create_household_audit_hides_personal_values(world):
    h = services.create_household(world.k1, {**H1_VALUES, "room": "301", "notes": "独居老人"})
    db.session.commit()
    (event,) = events("household_created")
    assert event.object_id == h.id and event.object_name == "1-1-301"
    assert "head_name: changed" in event.summary and "room: changed" in event.summary
    assert "301" not in event.summary and "True" not in event.summary
    assert "张三" not in event.summary and "13900000101" not in event.summary and "独居" not in event.summary


def test_duplicate_room_is_refused_before_writing(world):
    with pytest.raises(RuleError) as exc:
        services.update_household(world.h2, H1_VALUES)
    assert exc.value.field == "room"
    assert events("household_updated") == []


def test_unique_constraint_decides_a_race(world, monkeypatch):
    """If another request takes the room between the check and the write, the constraint's
    IntegrityError becomes the same form error, and the transaction stays usable."""
    monkeypatch.setattr(services, "_same_room", lambda compound_id, values: select(Household.id).where(False))
    with pytest.raises(RuleError) as exc:
        services.update_household(world.h2, H1_VALUES)
    assert exc.value.field == "room"
    with pytest.raises(RuleError):
        services.create_household(world.k1, H1_VALUES)
    services.update_grid(world.g1, {"name": "第一网格(东)"})
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Household, world.h2.id).room == "102"
    assert world.g1.name == "第一网格(东)"
    assert [e.action for e in db.session.scalars(select(AuditEvent))] == ["grid_updated"]


def test_compound_has_one_responsible_party(world):
    values = {"name": "新小区", "address": "", "entrance": "", "property_company_id": world.hzo.id,
              "work_unit_id": world.unit.id}
    with pytest.raises(RuleError) as exc:
        services.create_compound(world.g1, values)
    assert exc.value.field == "work_unit_id"
    with pytest.raises(RuleError):
        services.create_compound(world.g1, {**values, "work_unit_id": None, "property_company_id": 99999})
    k = services.create_compound(world.g1, {**values, "work_unit_id": None, "property_company_id": None})
    db.session.commit()
    assert k.property_company_id is None and k.work_unit_id is None


def test_names_are_unique_within_their_parent(world):
    with pytest.raises(RuleError):
        services.create_grid(world.c1, {"name": "第二网格"})
    services.create_grid(world.c2, {"name": "第二网格"})  # another community may use it
    with pytest.raises(RuleError):
        services.update_community(world.c2, {"name": "城关社区", "kind": "community"})
    with pytest.raises(RuleError) as exc:
        services.update_community(world.c2, {"name": "东城社区", "kind": "suburb"})
    assert exc.value.field == "kind"
    services.update_community(world.c2, {"name": "东城社区", "kind": "village"})  # its own name is fine
    with pytest.raises(RuleError):
        services.create_org(type(world.hzo), {"name": "远景物业", "phone": ""})
    db.session.commit()


def test_counts_in_one_query(world, count_queries):
    assert world.admin.roles  # loaded before counting
    with count_queries() as box:
        rows = services.communities_with_counts(world.admin)
    assert box["n"] == 1
    assert [(c.name, g, k, h) for c, g, k, h in rows] == [("城关社区", 2, 2, 3), ("东城社区", 1, 1, 1)]
    assert [(g.name, k, h) for g, k, h in services.grids_with_counts(world.admin, world.c1)] == [
        ("第一网格", 1, 2), ("第二网格", 1, 1)]
    assert [(k.name, h) for k, h in services.compounds_with_counts(world.admin, world.g1)] == [("阳光小区", 2)]


def test_lists_follow_the_policy(world):
    assert [c.name for c, *_ in services.communities_with_counts(world.sec2)] == ["东城社区"]
    assert [c.name for c, *_ in services.communities_with_counts(world.pm1)] == ["城关社区"]
    assert services.communities_with_counts(world.vol1) == []  # volunteers have no grid pages
    assert [g.name for g, *_ in services.grids_with_counts(world.head1, world.c1)] == ["第一网格"]
    assert [k.name for k, _ in services.compounds_with_counts(world.gm3, world.g1)] == []


@pytest.mark.parametrize("username, expected", [
    ("admin", ["张三", "李四", "王五", "赵六"]),
    ("leader", ["张三", "李四", "王五", "赵六"]),
    ("secretary1", ["张三", "李四", "王五"]),
    ("secretary2", ["赵六"]),
    ("gridder1", ["张三", "李四"]),
    ("head1", ["张三", "李四"]),
    ("sup1", []),
    ("pm1", []),
    ("unit1", []),
    ("vol1", []),
])
def test_search_households_is_scoped(world, username, expected):
    user = getattr(world, {"secretary1": "sec1", "secretary2": "sec2", "gridder1": "gm1", "sup1": "sup"}
                   .get(username, username))
    found = db.session.scalars(services.search_households(user)).all()
    assert [h.head_name for h in found] == expected


def test_search_households_text_and_filters(world):
    world.h2.observation_until = services.town_today()
    world.h3.observation_until = services.town_today() - timedelta(days=1)
    world.h3.living_alone = True
    db.session.commit()

    def names(q="", **filters):
        return [h.head_name for h in db.session.scalars(services.search_households(world.admin, q, filters))]

    assert names("张") == ["张三"]
    assert names("0102") == ["李四"]  # phone
    assert names("监管局") == ["赵六"]  # compound name
    assert names("_") == [] and names("%") == []
    assert names(housebound=True) == ["张三"]
    assert names(living_alone=True) == ["王五"]
    assert names(observed=True) == ["李四"]  # the last day of observation still counts


def test_own_compounds(world):
    assert [k.name for k in services.own_compounds(world.pm1)] == ["阳光小区"]
    assert [k.name for k in services.own_compounds(world.unit1)] == ["监管局家属楼"]
    assert [k.name for k in services.own_compounds(world.gm1)] == ["阳光小区"]
    assert [k.name for k in services.own_compounds(world.head1)] == ["阳光小区"]
    assert services.own_compounds(world.admin) == []
    assert services.own_compounds(world.sec1) == []


def test_compound_households_search(world):
    def rooms(q):
        return [h.room for h in db.session.scalars(services.compound_households(world.k1, q))]

    assert rooms("") == ["101", "102"]
    assert rooms("李") == ["102"]
    assert rooms("王五") == []  # another compound's household


def test_place_names_still_answer(world):
    names = services.place_names([("community", world.c1.id), ("work_unit", world.unit.id), ("system", 0)])
    assert names == {("community", world.c1.id): "城关社区", ("work_unit", world.unit.id): "县市场监管局"}
