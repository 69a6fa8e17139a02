"""The two rules the grid pages added to gridapp/policy.py."""
import pytest
from sqlalchemy import select

from gridapp import policy
from gridapp.extensions import db
from gridapp.grid.models import Compound, Grid, Household


@pytest.mark.parametrize("who, allowed", [
    ("admin", True), ("leader", True), ("sec1", True), ("gm1", True), ("head1", True),
    ("sup", False), ("pm1", False), ("unit1", False), ("vol1", False), ("nobody", False),
])
def test_search_households_is_for_those_who_see_households(world, who, allowed):
    user = getattr(world, who)
    assert policy.can(user, "search_households") is allowed
    # The same users get rows from household_clause(): the page is never an empty promise,
    # and nobody refused the page would have found anything on it.
    visible = db.session.scalars(
        select(Household.id).join(Compound, Compound.id == Household.compound_id)
        .join(Grid, Grid.id == Compound.grid_id).where(policy.household_clause(user))).all()
    assert bool(visible) is allowed


@pytest.mark.parametrize("who, expected", [
    ("pm1", {"k1"}), ("pm2", {"k2"}), ("unit1", {"k3"}), ("head1", {"k1"}), ("gm1", {"k1"}), ("gm3", {"k3"}),
    ("admin", set()), ("leader", set()), ("sec1", set()), ("sup", set()), ("vol1", set()), ("nobody", set()),
])
def test_own_compound_clause(world, who, expected):
    names = {world.k1.id: "k1", world.k2.id: "k2", world.k3.id: "k3"}
    rows = db.session.scalars(select(Compound.id).join(Grid, Grid.id == Compound.grid_id)
                              .where(policy.own_compound_clause(getattr(world, who)))).all()
    assert {names[r] for r in rows} == expected
    # Never wider than what the user may view.
    for compound_id in rows:
        assert policy.can(getattr(world, who), "view", db.session.get(Compound, compound_id))


def test_feature_rules_are_asked_through_can(app, world):
    from gridapp import policy

    class Thing:
        def __init__(self, community_id):
            self.community_id = community_id

    class Rules:
        OBJECT_RULES = {Thing: lambda user, s, action, obj: action == "touch" and obj.community_id in s.communities}

    policy.register_feature(Rules)
    try:
        assert policy.can(world.sec1, "touch", Thing(world.c1.id))
        assert not policy.can(world.sec1, "touch", Thing(world.c2.id))
        assert not policy.can(world.sec1, "smash", Thing(world.c1.id))
        assert not policy.can(world.nobody, "touch", Thing(world.c1.id))  # no roles, no rights
    finally:
        policy._OBJECT_RULES.pop(Thing)


def test_the_places_above_a_users_places_come_in_one_statement(world, count_queries):
    """scope_of(): the grids and communities above someone's compounds and grids (so that they can
    navigate down to them) in one statement, and none for roles without places below a community."""
    from tests.factories import make_user

    both = make_user("both", ("grid_member", world.g3), ("building_head", world.k1), ("unit_contact", world.unit))
    expected = {
        "both": ({world.g1.id, world.g3.id}, {world.c1.id, world.c2.id}, 1),
        "pm1": ({world.g1.id}, {world.c1.id}, 1),
        "gm3": ({world.g3.id}, {world.c2.id}, 1),
        "sec1": (set(), {world.c1.id}, 0),
        "vol1": (set(), set(), 0),
        "leader": (set(), set(), 0),
    }
    users = {"both": both} | {k: getattr(world, k) for k in expected if k != "both"}
    for who, (grids, communities, statements) in expected.items():
        user = users[who]
        assert user.roles is not None  # loaded, as load_session has them
        with count_queries() as q:
            s = policy.scope_of(user)
        assert (s.seen_grids, s.seen_communities, q["n"]) == (grids, communities, statements), who
        # The communities of the grids held as grid member only (duty's checkpoints without a compound).
        assert s.grid_communities == ({world.c2.id} if who in ("both", "gm3") else set()), who
