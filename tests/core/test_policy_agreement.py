"""Every list filter (a `*_clause()` beside its rule in a policy module) gives, for every demo
account of every role, exactly the objects of the demo town that can() allows: the SQL and the
rule are one answer, written twice side by side, and this test is what keeps them one.

One seeding of the demo town serves every role (seeding takes seconds); a failure names the role,
the account, the rule and the objects on which the two disagree."""
from collections import defaultdict

from sqlalchemy import select

from gridapp.auth import policy as auth_policy
from gridapp.auth.models import User
from gridapp.demo import seed
from gridapp.disinfection import policy as disinfection_policy
from gridapp.disinfection.models import DisinfectionPoint
from gridapp.duty import policy as duty_policy
from gridapp.duty.models import Checkpoint
from gridapp.errands import policy as errands_policy
from gridapp.errands.models import Errand
from gridapp.extensions import db
from gridapp.grid.models import Community, Compound, Grid, Household
from gridapp.policy import (
    can,
    community_clause,
    compound_clause,
    grid_clause,
    household_clause,
    invite_community_clause,
    scope_of,
    webhook_clauses,
)
from gridapp.screening import policy as screening_policy
from gridapp.screening.models import ScreeningCampaign
from gridapp.supervision import policy as supervision_policy
from gridapp.supervision.models import RectificationItem


def _ids(stmt) -> set[int]:
    return set(db.session.scalars(stmt))


def _households(clause):
    return (select(Household.id).join(Compound, Compound.id == Household.compound_id)
            .join(Grid, Grid.id == Compound.grid_id).where(clause))


def _filing(user):
    clause = errands_policy.filing_clause(user)
    return set() if clause is None else _ids(_households(clause))


# (name, model, the clause's ids for a user, can()'s verdict on one object)
RULES = [
    ("view screening campaign", ScreeningCampaign,
     lambda u: _ids(select(ScreeningCampaign.id).where(screening_policy.campaign_clause(u))),
     lambda u, o: can(u, "view", o)),
    ("view community", Community, lambda u: _ids(select(Community.id).where(community_clause(u))),
     lambda u, o: can(u, "view", o)),
    ("view grid", Grid, lambda u: _ids(select(Grid.id).where(grid_clause(u))), lambda u, o: can(u, "view", o)),
    ("view compound", Compound,
     lambda u: _ids(select(Compound.id).join(Grid, Grid.id == Compound.grid_id).where(compound_clause(u))),
     lambda u, o: can(u, "view", o)),
    ("manage a community's group robots", Community,
     lambda u: _ids(select(Community.id).where(webhook_clauses(u)[0])) if webhook_clauses(u) else set(),
     lambda u, o: can(u, "manage_webhooks", o)),
    ("manage a grid's group robots", Grid,
     lambda u: _ids(select(Grid.id).where(webhook_clauses(u)[1])) if webhook_clauses(u) else set(),
     lambda u, o: can(u, "manage_webhooks", o)),
    ("invite an account", User, lambda u: _ids(select(User.id).where(auth_policy.invitable_clause(u))),
     lambda u, o: can(u, "invite", o)),
    ("handle a community's invitations", Community,
     lambda u: _ids(select(Community.id).where(invite_community_clause(u))), lambda u, o: can(u, "invite", o)),
    ("view household", Household, lambda u: _ids(_households(household_clause(u))),
     lambda u, o: can(u, "view", o)),
    ("file an errand for a household", Household, _filing,
     lambda u, o: errands_policy.may_file_for(scope_of(u), o) and can(u, "view", o)),
    ("errand staff", Errand,
     lambda u: _ids(select(Errand.id).where(errands_policy.staff_clause(u, scope_of(u)))),
     lambda u, o: can(u, "staff_view", o)),
    ("view rectification item", RectificationItem,
     lambda u: _ids(select(RectificationItem.id).where(supervision_policy.item_clause(u))),
     lambda u, o: can(u, "view", o)),
    ("manage checkpoint", Checkpoint,
     lambda u: _ids(select(Checkpoint.id).outerjoin(Compound, Compound.id == Checkpoint.compound_id)
                    .where(duty_policy.managed_clause(u))),
     lambda u, o: can(u, "manage", o)),
    ("tick disinfection point", DisinfectionPoint,
     lambda u: _ids(select(DisinfectionPoint.id).outerjoin(Compound, Compound.id == DisinfectionPoint.compound_id)
                    .where(disinfection_policy.responsible_clause(u))),
     lambda u, o: can(u, "tick", o)),
    ("view disinfection point", DisinfectionPoint,
     lambda u: _ids(select(DisinfectionPoint.id).outerjoin(Compound, Compound.id == DisinfectionPoint.compound_id)
                    .where(disinfection_policy.visible_clause(u))),
     lambda u, o: can(u, "view", o)),
]


def test_every_list_clause_agrees_with_can_for_every_role_on_the_demo_town(app):
    seed()
    users = db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.id)).all()
    objects = {model: db.session.scalars(select(model)).all() for model in {rule[1] for rule in RULES}}
    checked = defaultdict(int)
    disagreements = []
    with app.test_request_context():  # scope_of() resolved once per account
        for user in users:
            roles = sorted({ra.role for ra in user.roles}) or ["(none)"]
            for name, model, clause_ids, rule in RULES:
                by_clause = clause_ids(user)
                by_can = {o.id for o in objects[model] if rule(user, o)}
                checked[tuple(roles)] += len(objects[model])
                if by_clause != by_can:
                    disagreements.append(f"{'+'.join(roles)} {user.username}: {name}: only the clause "
                                         f"{sorted(by_clause - by_can)[:10]}, only can() "
                                         f"{sorted(by_can - by_clause)[:10]}")
    assert disagreements == []
    # Every role of the demo town took part, and every rule had objects to answer about.
    assert {"admin", "town_leader", "supervisor", "secretary", "grid_member", "building_head", "property_manager",
            "unit_contact", "volunteer"} <= {r for roles in checked for r in roles}
    assert all(objects[model] for model in objects), {m.__name__: len(v) for m, v in objects.items()}
