"""Accounts of a benchmark dataset: a secretary per community, a grid member per grid, a manager per
property company, a contact per work unit, and the volunteers; all with the demo password."""
from collections import defaultdict
from datetime import timedelta

from sqlalchemy import select

from bench.seed.core import Builder
from gridapp.auth.models import RoleAssignment, User
from gridapp.demo import person_name
from gridapp.extensions import db
from gridapp.grid.models import PropertyCompany


class AccountsPhase(Builder):
    """The accounts and their roles; the password hash is the demo accounts' (vol1's)."""

    def accounts(self) -> None:
        rng = self.rng
        password_hash = db.session.scalar(select(User.password_hash).where(User.username == "vol1"))
        roles = db.session.execute(select(RoleAssignment.role, RoleAssignment.scope_id, RoleAssignment.user_id)
                                   .order_by(RoleAssignment.id)).all()
        holders = defaultdict(list)
        for role, scope_id, user_id in roles:
            holders[(role, scope_id)].append(user_id)
        usernames = set(db.session.scalars(select(User.username)))
        numbers = {}  # the next number to try per prefix (vol31 …)
        created = 0

        def account(prefix: str, display: str, role: str, scope_type: str, scope_id: int, phone_prefix: str,
                    party: bool = False) -> int:
            nonlocal created
            n = numbers.get(prefix, 1)
            while f"{prefix}{n}" in usernames:
                n += 1
            numbers[prefix] = n + 1
            usernames.add(f"{prefix}{n}")
            user_id = self.ids(User)
            created += 1
            self.add(User, {"id": user_id, "username": f"{prefix}{n}", "display_name": display,
                            "phone": f"{phone_prefix}{user_id:08d}", "email": None, "is_party_member": party,
                            "active": True, "password_hash": password_hash,
                            "created_at": self.history_start - timedelta(days=10),
                            "password_changed_at": self.history_start - timedelta(days=10)})
            self.add(RoleAssignment, {"id": self.ids(RoleAssignment), "user_id": user_id, "role": role,
                                      "scope_type": scope_type, "scope_id": scope_id,
                                      "created_at": self.history_start - timedelta(days=10)})
            holders[(role, scope_id)].append(user_id)
            return user_id

        for community_id, name in self.communities:
            if not holders[("secretary", community_id)]:
                account("secretary", f"{name}书记", "secretary", "community", community_id, "135")
        for grid_id, _community_id in self.grids:
            if not holders[("grid_member", grid_id)]:
                account("gridder", f"网格员{person_name(rng)}", "grid_member", "grid", grid_id, "136")
        for company_id, name in db.session.execute(select(PropertyCompany.id, PropertyCompany.name)
                                                   .order_by(PropertyCompany.id)):
            if not holders[("property_manager", company_id)]:
                account("pm", f"{name}负责人", "property_manager", "property_company", company_id, "134")
        for unit_id in self.units:
            if not holders[("unit_contact", unit_id)]:
                account("unit", f"单位联络人{person_name(rng)}", "unit_contact", "work_unit", unit_id, "133")
        for community_id, _name in self.communities:
            for _i in range(self.spec.volunteers - len(holders[("volunteer", community_id)])):
                account("vol", f"志愿者{person_name(rng)}", "volunteer", "community", community_id, "137",
                        party=rng.random() < 0.67)
        self.flush()
        self.holders = holders
        self.phones = dict(db.session.execute(select(User.id, User.phone).where(User.phone.isnot(None))).all())
        self.display = dict(db.session.execute(select(User.id, User.display_name)).all())
        town_roles = db.session.execute(select(RoleAssignment.role, RoleAssignment.user_id)
                                        .where(RoleAssignment.role.in_(("supervisor", "town_leader")))
                                        .order_by(RoleAssignment.user_id)).all()
        self.supervisors = [u for r, u in town_roles if r == "supervisor"]
        self.leaders = [u for r, u in town_roles if r == "town_leader"]
        self.grid_member = {g: holders[("grid_member", g)][0] for g, _c in self.grids if holders[("grid_member", g)]}
        self.secretary = {c: holders[("secretary", c)][0] for c, _n in self.communities}
        self.grids_of = defaultdict(list)
        for g, c in self.grids:
            self.grids_of[c].append(g)
