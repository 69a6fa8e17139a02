"""A household's people: registered and edited by the staff of its places (the building head too),
seen by those who see the household, checked, audited without values, searched within scope, every
look on the record."""
from datetime import date

import pytest
from sqlalchemy import select

from gridapp.audit.models import AuditEvent
from gridapp.extensions import db
from gridapp.people.models import Person
from gridapp.privacy.models import AccessRecord
from gridapp.timeutil import pin_clock
from tests.factories import make_household

RETURNEE = {"name": "王小明", "relation": "child", "sex": "m", "birth_year": "1998", "phone": "139 0939 0001",
            "from_outside": "y", "came_from": "武汉市", "arrived_on": "2026-11-25", "travel_mode": "train",
            "notes": "在外地读书"}


@pytest.fixture(autouse=True)
def frozen():
    from datetime import UTC, datetime

    pin_clock(datetime(2026, 11, 30, 2, 0, tzinfo=UTC))
    yield
    pin_clock(None)


def _client(make_client, username):
    c = make_client()
    c.login(username)
    return c


def _people(household_id):
    db.session.expire_all()
    return db.session.scalars(select(Person).where(Person.household_id == household_id).order_by(Person.id)).all()


def test_a_building_head_registers_a_returnee_and_edits_him(make_client, world):
    head = _client(make_client, "head1")
    page = head.get(f"/people/households/{world.h1.id}")
    assert page.status_code == 200 and 'name="came_from"' in page.text
    resp = head.post(f"/people/households/{world.h1.id}", RETURNEE)
    assert resp.status_code == 303
    (p,) = _people(world.h1.id)
    assert (p.name, p.relation, p.sex, p.birth_year, p.phone) == ("王小明", "child", "m", 1998, "13909390001")
    assert (p.from_outside, p.came_from, p.arrived_on, p.travel_mode) == (True, "武汉市", date(2026, 11, 25), "train")
    page = head.get(f"/people/households/{world.h1.id}").text
    assert "王小明" in page and "武汉市" in page

    # No longer a returnee: nothing is kept of the journey.
    resp = head.post(f"/people/{p.id}/edit", {**RETURNEE, "from_outside": ""})
    assert resp.status_code == 303
    (p,) = _people(world.h1.id)
    assert (p.from_outside, p.came_from, p.arrived_on, p.travel_mode) == (False, "", None, "")

    events = db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == "Person")
                                .order_by(AuditEvent.id)).all()
    assert [e.action for e in events] == ["person_added", "person_updated"]
    for e in events:
        for secret in ("王小明", "武汉", "13909390001", "1998", "读书"):
            assert secret not in e.summary and secret not in e.object_name
    assert "came_from: changed" in events[1].summary


@pytest.mark.parametrize("values,field,message", [
    ({"name": ""}, "name", ""),
    ({"birth_year": "2030"}, "birth_year", ""),
    ({"arrived_on": "2026-12-05"}, "arrived_on", ""),
    ({"came_from": ""}, "came_from", ""),
    ({"arrived_on": ""}, "arrived_on", ""),
    ({"relation": "boss"}, "relation", ""),
    ({"phone": "abc"}, "phone", ""),
])
def test_a_wrong_form_comes_back_with_its_message_and_loses_nothing(make_client, world, values, field, message):
    gm = _client(make_client, "gridder1")
    resp = gm.post(f"/people/households/{world.h1.id}", {**RETURNEE, **values})
    assert resp.status_code == 422
    assert f'id="{field}-err"' in resp.text or f'aria-describedby="{field}-err"' in resp.text, field
    kept = {k: v for k, v in RETURNEE.items() if k not in values and k in ("notes",)}
    for value in kept.values():
        assert value in resp.text
    assert _people(world.h1.id) == []


@pytest.mark.parametrize("username,sees,edits", [
    ("admin", True, True), ("leader", True, False), ("secretary1", True, True), ("gridder1", True, True),
    ("head1", True, True), ("secretary2", False, False), ("gridder3", False, False), ("sup1", False, False),
    ("vol1", False, False), ("pm1", False, False), ("unit1", False, False),
])
def test_who_sees_and_registers_a_households_people(make_client, world, username, sees, edits):
    p = Person(household_id=world.h1.id, name="李桂兰", relation="spouse", phone="13700001111")
    db.session.add(p)
    db.session.commit()
    person_id = p.id
    c = _client(make_client, username)
    page = c.get(f"/people/households/{world.h1.id}")
    assert (page.status_code == 200 and "李桂兰" in page.text and "13700001111" in page.text) == sees
    assert ('name="came_from"' in page.text) == edits
    found = c.get("/people/?q=李桂兰")
    assert ("13700001111" in found.text) == sees
    assert (c.post(f"/people/households/{world.h1.id}", RETURNEE).status_code == 303) == edits
    assert (c.get(f"/people/{person_id}/edit").status_code == 200) == edits
    assert (c.post(f"/people/{person_id}/remove").status_code == 303) == edits
    db.session.expire_all()
    assert (db.session.get(Person, person_id) is None) == edits


def test_the_search_finds_returnees_within_scope_and_records_the_look(make_client, world):
    other = make_household(world.k3, 302, head_name="钱七")
    db.session.flush()
    db.session.add_all([
        Person(household_id=world.h1.id, name="王小明", relation="child", from_outside=True, came_from="武汉市",
               arrived_on=date(2026, 11, 25), travel_mode="train"),
        Person(household_id=world.h2.id, name="李四", relation="head"),
        Person(household_id=other.id, name="钱小七", relation="child", from_outside=True, came_from="广州市",
               arrived_on=date(2026, 11, 26)),
    ])
    db.session.commit()
    sec = _client(make_client, "secretary1")
    html = sec.get("/people/?returnees=1").text
    assert "王小明" in html and "武汉市" in html and "李四" not in html and "钱小七" not in html  # c2 is not hers
    looks = db.session.scalars(select(AccessRecord).where(AccessRecord.what == "people_search")).all()
    assert [(r.compound_id, r.rows) for r in looks] == [(world.k1.id, 1)]
    assert "钱小七" in _client(make_client, "leader").get("/people/?q=钱").text
    assert _client(make_client, "vol1").get("/people/").status_code == 403


def test_opening_a_households_people_is_recorded(make_client, world):
    _client(make_client, "gridder1").get(f"/people/households/{world.h1.id}")
    (rec,) = db.session.scalars(select(AccessRecord).where(AccessRecord.what == "household_people")).all()
    assert rec.household_id == world.h1.id and rec.user.username == "gridder1"


def test_the_search_costs_the_same_statements_for_more_people(make_client, world, count_queries):
    def run():
        sec = _client(make_client, "secretary1")
        sec.get("/people/?returnees=1")  # warm up (first request of a session)
        with count_queries() as counted:
            html = sec.get("/people/?returnees=1").text
        return counted["n"], html

    db.session.add(Person(household_id=world.h1.id, name="甲", relation="child", from_outside=True,
                          came_from="武汉市", arrived_on=date(2026, 11, 20)))
    db.session.commit()
    few, _html = run()
    for n in range(20):
        h = make_household(world.k2 if n % 2 else world.k1, 500 + n)
        db.session.flush()
        db.session.add(Person(household_id=h.id, name=f"乙{n}", relation="child", from_outside=True,
                              came_from="广州市", arrived_on=date(2026, 11, 21)))
    db.session.commit()
    many, html = run()
    assert html.count('<li id="person-') == 21
    assert few == many
