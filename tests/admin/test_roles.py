"""Assigning and removing roles on places, checked against the role's kind of place."""
import json

from sqlalchemy import func, select

from gridapp import policy
from gridapp.auth.models import RoleAssignment
from gridapp.extensions import db
from tests.admin.helpers import events, fresh_user, logged_in


def _role_count():
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(RoleAssignment))


def test_the_place_choice_is_grouped_by_kind(make_client, world):
    html = logged_in(make_client, "admin").get(f"/admin/users/{world.nobody.id}").get_data(as_text=True)
    select_html = html.split('name="scope"')[1].split("</select>")[0]
    for label in ("Town", "Communities", "Grids", "Compounds", "Property companies", "Work units"):
        assert f'<optgroup label="{label}">' in select_html
    assert f'value="town:{world.town.id}">城关镇<' in select_html
    assert f'value="grid:{world.g3.id}">东城社区 / 第三网格<' in select_html
    assert f'value="compound:{world.k1.id}">第一网格 / 阳光小区<' in select_html
    assert f'value="work_unit:{world.unit.id}">县市场监管局<' in select_html
    assert '<option value="secretary">Community secretary</option>' in html


def test_assign_secretary_on_a_community_gives_its_rights(make_client, world):
    admin = logged_in(make_client, "admin")
    assert not policy.can(fresh_user("gridder1"), "edit", world.c2)
    resp = admin.post(f"/admin/users/{world.gm1.id}/roles", {"role": "secretary", "scope": f"community:{world.c2.id}"})
    assert resp.status_code == 302 and resp.headers["Location"] == f"/admin/users/{world.gm1.id}#roles"
    gm1 = fresh_user("gridder1")
    assert sorted((ra.role, ra.scope_type, ra.scope_id) for ra in gm1.roles) == [
        ("grid_member", "grid", world.g1.id), ("secretary", "community", world.c2.id)]
    assert policy.can(gm1, "edit", world.c2) and policy.can(gm1, "view", world.g3)
    assert not policy.can(gm1, "edit", world.c1)
    [event] = events("role_assigned")
    assert (event.actor_name, event.object_id, event.object_name, event.ip) == (
        "admin", gm1.id, "gridder1", "127.0.0.1")
    assert event.summary == f"secretary on community#{world.c2.id}"
    page = admin.get(f"/admin/users/{gm1.id}").get_data(as_text=True)
    assert "Role assigned." in page and "Community secretary</strong> · 东城社区" in page


def test_a_place_of_the_wrong_kind_is_refused_and_nothing_is_saved(make_client, world):
    admin = logged_in(make_client, "admin")
    before = _role_count()
    resp = admin.post(f"/admin/users/{world.nobody.id}/roles", {"role": "secretary", "scope": f"grid:{world.g3.id}"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "This role is held on a place of another kind: a community." in html
    assert f'<option selected value="grid:{world.g3.id}">' in html  # the choice is kept
    assert _role_count() == before and fresh_user("nobody").roles == []
    assert events("role_assigned") == []


def test_bad_roles_and_places_are_form_errors_never_crashes(make_client, world):
    admin = logged_in(make_client, "admin")
    before = _role_count()
    url = f"/admin/users/{world.nobody.id}/roles"
    cases = [
        ({"role": "king", "scope": f"town:{world.town.id}"}, "Choose a role from the list."),
        ({"role": "", "scope": f"town:{world.town.id}"}, "Choose a role from the list."),
        ({"role": "secretary"}, "Choose a place from the list."),
        ({"role": "secretary", "scope": "community"}, "Choose a place from the list."),
        ({"role": "secretary", "scope": "community:"}, "Choose a place from the list."),
        ({"role": "secretary", "scope": "community:abc"}, "Choose a place from the list."),
        ({"role": "secretary", "scope": "community:-1"}, "Choose a place from the list."),
        ({"role": "secretary", "scope": "community:٣"}, "Choose a place from the list."),
        ({"role": "secretary", "scope": "community:99999"}, "Choose a place from the list."),
        ({"role": "secretary", "scope": "community:99999999999999999999"}, "Choose a place from the list."),
        ({"role": "secretary", "scope": "planet:1"}, "Choose a place from the list."),
        ({"role": "unit_contact", "scope": f"property_company:{world.hzo.id}"}, "a work unit"),
    ]
    for data, message in cases:
        resp = admin.post(url, data)
        assert resp.status_code == 422, data
        assert message in resp.get_data(as_text=True), data
    assert _role_count() == before


def test_admin_role_needs_no_place(make_client, world):
    admin = logged_in(make_client, "admin")
    resp = admin.post(f"/admin/users/{world.nobody.id}/roles", {"role": "admin", "scope": ""})
    assert resp.status_code == 302
    [ra] = fresh_user("nobody").roles
    assert (ra.role, ra.scope_type, ra.scope_id) == ("admin", "system", 0)


def test_assigning_a_role_held_already_changes_nothing(make_client, world):
    admin = logged_in(make_client, "admin")
    before = _role_count()
    resp = admin.post(f"/admin/users/{world.sec1.id}/roles", {"role": "secretary", "scope": f"community:{world.c1.id}"})
    assert resp.status_code == 302
    assert "already holds this role there" in admin.get(resp.headers["Location"]).get_data(as_text=True)
    assert _role_count() == before and events("role_assigned") == []


def test_remove_role(make_client, world):
    admin = logged_in(make_client, "admin")
    vol1 = logged_in(make_client, "vol1")
    [ra] = fresh_user("vol1").roles
    resp = admin.post(f"/admin/users/{world.vol1.id}/roles/{ra.id}/delete")
    assert resp.status_code == 302
    assert fresh_user("vol1").roles == []
    [event] = events("role_removed")
    assert event.actor_name == "admin" and event.object_name == "vol1"
    assert event.summary == f"volunteer on community#{world.c1.id}"
    # The next request of vol1 already goes by the new roles.
    assert "none yet" in vol1.get("/").get_data(as_text=True)


def test_remove_a_role_of_another_account_or_unknown_is_404(make_client, world):
    admin = logged_in(make_client, "admin")
    [ra] = fresh_user("vol1").roles
    assert admin.post(f"/admin/users/{world.sec1.id}/roles/{ra.id}/delete").status_code == 404
    assert admin.post(f"/admin/users/{world.vol1.id}/roles/99999/delete").status_code == 404
    assert admin.post(f"/admin/users/{world.vol1.id}/roles/x/delete").status_code == 404
    assert admin.get(f"/admin/users/{world.vol1.id}/roles/{ra.id}/delete").status_code == 405
    assert len(fresh_user("vol1").roles) == 1


def test_an_admin_cannot_remove_their_own_admin_role(make_client, world):
    admin = logged_in(make_client, "admin")
    [ra] = fresh_user("admin").roles
    resp = admin.post(f"/admin/users/{world.admin.id}/roles/{ra.id}/delete")
    assert resp.status_code == 302
    page = admin.get(resp.headers["Location"]).get_data(as_text=True)
    assert "You cannot remove your own administrator role." in page
    assert fresh_user("admin").role_names() == {"admin"}
    assert events("role_removed") == []
    # Another admin may.
    from tests.factories import make_user

    make_user("admin2", "admin")
    other = logged_in(make_client, "admin2")
    assert other.post(f"/admin/users/{world.admin.id}/roles/{ra.id}/delete").status_code == 302
    assert fresh_user("admin").roles == []


def test_with_htmx_the_roles_section_is_swapped_in_place(make_client, world):
    admin = logged_in(make_client, "admin")
    resp = admin.htmx_post(f"/admin/users/{world.nobody.id}/roles",
                           {"role": "grid_member", "scope": f"grid:{world.g1.id}"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<html" not in html
    assert html.lstrip().startswith('<section class="card" id="roles">')
    assert "Grid member</strong> · 第一网格" in html
    assert json.loads(resp.headers["HX-Trigger"])["gridapp:toast"]["message"] == "Role assigned."
    [ra] = fresh_user("nobody").roles

    bad = admin.htmx_post(f"/admin/users/{world.nobody.id}/roles", {"role": "grid_member", "scope": "town:1"})
    assert bad.status_code == 422 and "another kind: a grid" in bad.get_data(as_text=True)
    assert "<html" not in bad.get_data(as_text=True)

    gone = admin.htmx_post(f"/admin/users/{world.nobody.id}/roles/{ra.id}/delete")
    assert gone.status_code == 200 and "No roles yet." in gone.get_data(as_text=True)
    assert fresh_user("nobody").roles == []


def test_role_labels_are_translated_for_chinese_readers(make_client, world):
    admin = logged_in(make_client, "admin", lang="zh")
    html = admin.get(f"/admin/users/{world.sec1.id}").get_data(as_text=True)
    assert '<html lang="zh-Hans">' in html
    assert '<option value="secretary">Community secretary</option>' not in html
