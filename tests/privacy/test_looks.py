"""Every staff look at residents' data is recorded (who, what, which place, from where), browsable by
the town leader and the administrator by person and by household; a resident's record shows who
looked; each role sees a household's personal fields exactly as docs/PRIVACY.md says."""
import pytest
from sqlalchemy import select

from gridapp.extensions import db
from gridapp.people.models import Person
from gridapp.privacy.models import AccessRecord
from tests.errands.factories import claimed, make_errand
from tests.exports import workbook

ROLES = ["admin", "leader", "sup1", "secretary1", "secretary2", "gridder1", "gridder3", "head1", "vol1", "pm1",
         "unit1"]
# Who sees the households of 阳光小区 (world.k1), per docs/PRIVACY.md: the administrator, the town leader,
# the secretary of its community, the grid member of its grid, its building head.
SEES_K1 = {"admin", "leader", "secretary1", "gridder1", "head1"}


def _records(**where):
    db.session.expire_all()
    stmt = select(AccessRecord).order_by(AccessRecord.id)
    for key, value in where.items():
        stmt = stmt.where(getattr(AccessRecord, key) == value)
    return db.session.scalars(stmt).all()


def _client(make_client, username):
    c = make_client()
    c.login(username)
    return c


@pytest.mark.parametrize("username", ROLES)
def test_each_role_sees_a_households_personal_fields_as_the_inventory_says(make_client, world, username):
    world.h1.living_alone = True
    db.session.commit()
    c = _client(make_client, username)
    resp = c.get(f"/grid/compounds/{world.k1.id}")
    html = resp.text if resp.status_code == 200 else ""
    fields = {"head_name": "张三" in html, "phone": world.h1.phone in html, "housebound": "居家不便" in html or
              "Housebound" in html, "living_alone": "独居" in html or "Living alone" in html}
    expected = username in SEES_K1
    assert fields == dict.fromkeys(fields, expected), (username, fields)
    # The same in the cross-compound search, and its row, form and resident's request pages.
    search = c.get("/grid/households/?q=张三")
    assert ("张三" in search.text and world.h1.phone in search.text) == (expected and search.status_code == 200)
    row = c.htmx_get(f"/grid/households/{world.h1.id}")
    assert (world.h1.phone in row.text) == expected
    mine = [r for r in _records() if r.user.username == username]
    if expected:
        assert {(r.kind, r.what) for r in mine} >= {("list", "compound_households"), ("household", "household_row")}
        (page_look,) = [r for r in mine if r.what == "compound_households"]
        assert page_look.compound_id == world.k1.id and page_look.community_id == world.c1.id
        assert page_look.rows == 2 and page_look.scope == "阳光小区" and page_look.ip == "127.0.0.1"
    else:
        assert mine == []  # nothing shown, nothing recorded


def test_the_search_records_one_look_per_compound_it_showed(make_client, world):
    c = _client(make_client, "secretary1")
    html = c.get("/grid/households/").text
    assert "张三" in html and "王五" in html
    looks = _records(what="household_search")
    assert {(r.compound_id, r.rows) for r in looks} == {(world.k1.id, 2), (world.k2.id, 1)}


def test_the_household_form_and_a_staff_look_at_an_errands_contact_are_recorded(make_client, world):
    errand = make_errand(world)
    c = _client(make_client, "gridder1")
    assert c.get(f"/grid/households/{world.h1.id}/edit").status_code == 200
    assert c.get(f"/errands/{errand.id}").status_code == 200
    whats = [r.what for r in _records(household_id=world.h1.id)]
    assert whats == ["household_form", "errand_contact"]
    # A volunteer's look keeps its own table, and is not counted twice.
    claimed_errand = claimed(world, household=world.h2)
    vol = _client(make_client, "vol1")
    assert world.h2.phone in vol.get(f"/errands/{claimed_errand.id}").text
    assert _records(household_id=world.h2.id) == []


@pytest.mark.parametrize("username,status", [("admin", 200), ("leader", 200), ("secretary1", 403),
                                             ("gridder1", 403), ("sup1", 403), ("vol1", 403)])
def test_only_the_leader_and_the_administrator_read_the_record(make_client, world, username, status):
    assert _client(make_client, username).get("/privacy/looks").status_code == status


def test_the_record_filters_by_person_and_by_household(make_client, world):
    _client(make_client, "secretary1").get(f"/grid/compounds/{world.k1.id}")
    _client(make_client, "gridder1").htmx_get(f"/grid/households/{world.h2.id}")
    errand = claimed(world, household=world.h1)
    _client(make_client, "vol1").get(f"/errands/{errand.id}")  # a volunteer shown the address
    _client(make_client, "secretary2").get(f"/grid/compounds/{world.k3.id}")
    leader = _client(make_client, "leader")

    by_person = leader.get("/privacy/looks?person=gridder1").text
    rows = by_person.split('<tbody>')[1].split('</tbody>')[0]
    assert rows.count("<tr>") == 1 and "Gridder1" in rows and f"#{world.h2.id}" in rows

    by_household = leader.get(f"/privacy/looks?household={world.h1.id}").text
    assert "Secretary1" in by_household  # the list of its compound
    assert "Gridder1" not in by_household  # h2's row is not h1's
    assert "Secretary2" not in by_household
    volunteers = by_household.split('id="volunteer-looks"')[1]
    assert "Vol1" in volunteers

    bad = leader.get("/privacy/looks?household=abc&kind=nonsense")
    assert bad.status_code == 200 and 'class="error"' in bad.text


@pytest.mark.parametrize("username,status", [("admin", 200), ("leader", 200), ("secretary1", 200),
                                             ("secretary2", 403), ("gridder1", 403), ("head1", 403),
                                             ("vol1", 403), ("pm1", 403)])
def test_a_residents_request_is_answered_by_whom_it_may_be(make_client, world, username, status):
    resp = _client(make_client, username).get(f"/privacy/households/{world.h1.id}")
    assert resp.status_code == status
    if status == 200:
        assert "张三" in resp.text and world.h1.phone in resp.text
        assert resp.headers["Cache-Control"].startswith("no-store")


def test_a_residents_request_shows_everything_held_and_who_looked(make_client, world):
    make_errand(world, items="胰岛素 1盒")
    db.session.add(Person(household_id=world.h1.id, name="张小三", relation="child", phone="13655556666"))
    db.session.commit()
    _client(make_client, "gridder1").htmx_get(f"/grid/households/{world.h1.id}")
    sec = _client(make_client, "secretary1")
    sec.post(f"/grid/households/{world.h1.id}/edit", {"building": "1", "unit": "1", "room": "101", "head_name": "张三",
                                                      "phone": "13911112222", "housebound": "y", "notes": "行动不便"})
    page = sec.get(f"/privacy/households/{world.h1.id}").text
    assert "胰岛素 1盒" in page and "放门口" in page  # the errand's items and notes
    assert "13911112222" in page and "行动不便" in page
    assert "张小三" in page.split('id="request-people"')[1] and "13655556666" in page
    looks = page.split('id="request-looks"')[1].split("</section>")[0]
    assert "Gridder1" in looks
    changes = page.split('id="request-changes"')[1]
    assert "phone: changed" in changes and "13900000101" not in changes

    wb = workbook(sec.get(f"/privacy/households/{world.h1.id}.xlsx"))
    cells = {v for ws in wb for row in ws.iter_rows(values_only=True) for v in row}
    assert "胰岛素 1盒" in cells and "13911112222" in cells and "Gridder1" in cells and "张小三" in cells
    requests = _records(kind="request", household_id=world.h1.id)
    assert [r.personal for r in requests] == [False, True] and requests[1].rows > 0
    # The resident's request is itself on the record, and shows on the next request.
    assert "Secretary1" in sec.get(f"/privacy/households/{world.h1.id}").text.split('id="request-looks"')[1]
