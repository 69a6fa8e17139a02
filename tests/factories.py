"""Factories: rows built through the same services the app uses."""
from datetime import timedelta
from functools import partial
from types import SimpleNamespace

from gridapp.auth import invitations
from gridapp.auth.models import Invitation, User
from gridapp.auth.services import assign_role, hash_password
from gridapp.extensions import db
from gridapp.grid.models import Community, Compound, Grid, Household, PropertyCompany, Town, WorkUnit
from gridapp.timeutil import utcnow
from tests.conftest import DEFAULT_PASSWORD

_HASH_CACHE = {}


def make_user(username, *roles, password=DEFAULT_PASSWORD, active=True, commit=True, **fields):
    """roles: role names, or (role, place) pairs for roles held on a place. password=None: an account
    without a password yet (one that waits for its invitation). commit=False leaves the commit to the
    caller (build_world commits its accounts once)."""
    if password is not None and password not in _HASH_CACHE:
        _HASH_CACHE[password] = hash_password(password)
    user = User(username=username, display_name=fields.pop("display_name", username.title()),
                password_hash=_HASH_CACHE.get(password), active=active, **fields)
    db.session.add(user)
    db.session.flush()
    for r in roles:
        role, place = (r, None) if isinstance(r, str) else r
        assign_role(None, user, role, getattr(place, "id", 0))
    if commit:
        db.session.commit()
    return user


def make_invitee(username, *roles, **fields):
    """An account without a password yet (roles as for make_user)."""
    return make_user(username, *roles, password=None, **fields)


def make_invitation(user, created_by=None, days=7, now=None):
    """A pending invitation row (not sent, not audited) and its token."""
    now = now or utcnow()
    token = invitations.new_token()
    invitation = Invitation(user=user, created_by=created_by, token_hash=invitations.token_hash(token),
                            created_at=now, expires_at=now + timedelta(days=days))
    db.session.add(invitation)
    db.session.commit()
    return invitation, token


def make_household(compound, room, **fields):
    h = Household(compound=compound, room=str(room), building=fields.pop("building", "1"),
                  unit=fields.pop("unit", "1"), head_name=fields.pop("head_name", f"住户{room}"),
                  phone=fields.pop("phone", f"1390000{int(room):04d}"), **fields)
    db.session.add(h)
    return h


def build_world():
    w = SimpleNamespace()
    w.town = Town(name="城关镇")
    w.c1 = Community(town=w.town, name="城关社区", kind="community")
    w.c2 = Community(town=w.town, name="东城社区", kind="community")
    w.g1 = Grid(community=w.c1, name="第一网格")
    w.g2 = Grid(community=w.c1, name="第二网格")
    w.g3 = Grid(community=w.c2, name="第三网格")
    w.hzo = PropertyCompany(name="红嘴鸥物业")
    w.yj = PropertyCompany(name="远景物业")
    w.unit = WorkUnit(name="县市场监管局")
    w.k1 = Compound(grid=w.g1, name="阳光小区", address="城关镇建设路1号", entrance="北门", property_company=w.hzo)
    w.k2 = Compound(grid=w.g2, name="育才楼院", address="城关镇育才路8号", entrance="东门", property_company=w.yj)
    w.k3 = Compound(grid=w.g3, name="监管局家属楼", address="城关镇东街3号", entrance="南门", work_unit=w.unit)
    db.session.add_all([w.town, w.c1, w.c2, w.g1, w.g2, w.g3, w.hzo, w.yj, w.unit, w.k1, w.k2, w.k3])
    db.session.flush()
    w.h1 = make_household(w.k1, 101, head_name="张三", housebound=True)
    w.h2 = make_household(w.k1, 102, head_name="李四")
    w.h3 = make_household(w.k2, 201, head_name="王五")
    w.h4 = make_household(w.k3, 301, head_name="赵六")
    db.session.commit()

    account = partial(make_user, commit=False)  # committed together below
    w.admin = account("admin", "admin")
    w.leader = account("leader", ("town_leader", w.town))
    w.sup = account("sup1", ("supervisor", w.town))
    w.sec1 = account("secretary1", ("secretary", w.c1), phone="13800000001")
    w.sec2 = account("secretary2", ("secretary", w.c2))
    w.gm1 = account("gridder1", ("grid_member", w.g1))
    w.gm3 = account("gridder3", ("grid_member", w.g3))
    w.head1 = account("head1", ("building_head", w.k1))
    w.vol1 = account("vol1", ("volunteer", w.c1), is_party_member=True)
    w.pm1 = account("pm1", ("property_manager", w.hzo))
    w.pm2 = account("pm2", ("property_manager", w.yj))
    w.unit1 = account("unit1", ("unit_contact", w.unit))
    w.nobody = account("nobody")
    db.session.commit()  # one commit for the accounts: each commit is a round trip and expires them all
    return w
