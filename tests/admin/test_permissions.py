"""Who may open and use the administration pages: every /admin route, every kind of visitor."""
import pytest

from gridapp.auth import invitations
from gridapp.auth.models import Invitation, RoleAssignment, User
from gridapp.extensions import db
from tests.admin.helpers import events, fresh_user, logged_in
from tests.factories import make_invitation, make_invitee


def _invitee(world) -> tuple[User, Invitation]:
    """A volunteer of 东城社区 (secretary1's is the other community) without a password, invited."""
    invitee = db.session.scalars(db.select(User).filter_by(username="invitee")).first()
    if invitee is None:
        invitee = make_invitee("invitee", ("volunteer", world.c2))
        make_invitation(invitee)
    return invitee, invitations.latest_invitations([invitee.id])[invitee.id]


def admin_routes(world):
    """(method, url, form data that would succeed) for every route of the admin blueprint."""
    vol1_role = db.session.scalars(db.select(RoleAssignment).filter_by(user_id=world.vol1.id)).one()
    nobody = world.nobody.id
    invitee, invitation = _invitee(world)
    return [
        ("get", "/admin/users", None),
        ("get", "/admin/users/new", None),
        ("post", "/admin/users/new", {"username": "newbie", "display_name": "Newbie"}),
        ("get", f"/admin/invitations?community={world.c2.id}", None),
        ("get", f"/admin/invitations/sheet?community={world.c2.id}", None),
        ("post", f"/admin/invitations/sheet?community={world.c2.id}", {}),
        ("post", f"/admin/users/{invitee.id}/invitation", {}),
        ("post", f"/admin/invitations/{invitation.id}/revoke", {}),
        ("get", f"/admin/users/{nobody}", None),
        ("post", f"/admin/users/{nobody}", {"display_name": "Renamed"}),
        ("post", f"/admin/users/{nobody}/password", {"new_password": "another-long-pass-9"}),
        ("post", f"/admin/users/{nobody}/active", {"active": "0"}),
        ("post", f"/admin/users/{nobody}/roles", {"role": "volunteer", "scope": f"community:{world.c1.id}"}),
        ("post", f"/admin/users/{world.vol1.id}/roles/{vol1_role.id}/delete", {}),
        ("get", "/admin/audit", None),
    ]


def _call(client, method, url, data):
    return client.get(url) if method == "get" else client.post(url, data)


def test_every_admin_route_is_registered_in_the_matrix(app, world):
    """A new /admin route must be added to the matrix above (ops' /admin/jobs is tested by ops)."""
    rules = {(r.rule, m.lower()) for r in app.url_map.iter_rules() if r.endpoint.startswith("admin.")
             for m in r.methods - {"HEAD", "OPTIONS"}}
    assert len(rules) == len(admin_routes(world))


def test_admin_may_use_every_route(make_client, world):
    admin = logged_in(make_client, "admin")
    for method, url, data in admin_routes(world):
        resp = _call(admin, method, url, data)
        if method == "get" or url.startswith("/admin/invitations/sheet"):  # the sheet answers its POST itself
            assert resp.status_code == 200, url
        else:
            assert resp.status_code == 302, url
            assert "/login" not in resp.headers["Location"]
    assert fresh_user("newbie").display_name == "Newbie"
    nobody = fresh_user("nobody")
    assert nobody.display_name == "Renamed" and not nobody.active
    assert nobody.role_names() == {"volunteer"}
    assert fresh_user("vol1").role_names() == set()
    assert events("denied") == []


@pytest.mark.parametrize("username", ["secretary1", "vol1"])
def test_other_roles_are_refused_everywhere_and_it_is_audited(make_client, world, username):
    c = logged_in(make_client, username)
    routes = admin_routes(world)
    roles_before = db.session.scalar(db.select(db.func.count()).select_from(RoleAssignment))
    for method, url, data in routes:
        assert _call(c, method, url, data).status_code == 403, url
    # Nothing changed...
    nobody = fresh_user("nobody")
    assert nobody.display_name == "Nobody" and nobody.active and nobody.role_names() == set()
    assert fresh_user("vol1").role_names() == {"volunteer"}
    assert db.session.scalar(db.select(db.func.count()).select_from(RoleAssignment)) == roles_before
    # ...and every refusal is on the record, with who tried what.
    denied = events("denied")
    assert len(denied) == len(routes)
    assert {e.actor_name for e in denied} == {username}
    # The invitation routes: a secretary may use them, but not for another community or its accounts.
    refused = {"invite", "revoke"} if username == "secretary1" else {"invite_users"}
    assert {e.summary for e in denied} == {"manage_users", "view_audit"} | refused
    assert {e.ip for e in denied} == {"127.0.0.1"}


def test_town_leader_reads_the_audit_trail_but_not_the_accounts(make_client, world):
    leader = logged_in(make_client, "leader")
    for method, url, data in admin_routes(world):
        expected = 200 if url == "/admin/audit" else 403
        assert _call(leader, method, url, data).status_code == expected, url
    page = leader.get("/").get_data(as_text=True)
    assert 'href="/admin/audit"' in page and 'href="/admin/users"' not in page


def test_anonymous_visitors_are_sent_to_the_login_page(client, world):
    for method, url, data in admin_routes(world):
        resp = _call(client, method, url, data)
        assert resp.status_code == 302, url
        assert resp.headers["Location"].startswith("/login"), url
    assert fresh_user("nobody").display_name == "Nobody"
    assert events("denied") == []


def test_a_post_without_csrf_token_is_refused_and_creates_nothing(make_client, world):
    admin = logged_in(make_client, "admin")
    resp = admin.post("/admin/users/new", {"username": "forged", "display_name": "Forged"}, csrf=False)
    assert resp.status_code == 400
    assert db.session.scalars(db.select(User).filter_by(username="forged")).first() is None
