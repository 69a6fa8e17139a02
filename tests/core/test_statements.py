"""gridapp.core.statements: a statement is built once per key, and the key holds every value of the
SQL conditions it is built from, so two viewers whose conditions differ in any value never share one."""
from sqlalchemy import and_, select

from gridapp.core.kept import Kept
from gridapp.core.statements import kept, key_of
from gridapp.errands.models import Errand


def test_a_key_holds_the_shape_and_every_value():
    one = and_(Errand.community_id == 1, Errand.status.in_(["open", "claimed"]))
    assert key_of(one) == key_of(and_(Errand.community_id == 1, Errand.status.in_(["open", "claimed"])))
    # Any value that differs makes another key: a number, a list's member, a list's length.
    assert key_of(one) != key_of(and_(Errand.community_id == 2, Errand.status.in_(["open", "claimed"])))
    assert key_of(one) != key_of(and_(Errand.community_id == 1, Errand.status.in_(["open", "delivered"])))
    assert key_of(one) != key_of(and_(Errand.community_id == 1, Errand.status.in_(["open"])))
    # So does a column, an operator, a subquery's value.
    assert key_of(one) != key_of(and_(Errand.grid_id == 1, Errand.status.in_(["open", "claimed"])))
    assert key_of(Errand.community_id == 1) != key_of(Errand.community_id != 1)
    inner = select(Errand.id).where(Errand.filed_by_id == 5)
    assert key_of(Errand.id.in_(inner)) != key_of(Errand.id.in_(select(Errand.id).where(Errand.filed_by_id == 6)))
    assert key_of(None) is None
    hash(key_of(one))


def test_a_statement_is_built_once_per_key(app):
    built = []

    def build(n):
        built.append(n)
        return select(Errand.id).where(Errand.community_id == n)

    with app.app_context():
        first = kept(("t", key_of(Errand.community_id == 1)), lambda: build(1))
        assert kept(("t", key_of(Errand.community_id == 1)), lambda: build(1)) is first
        other = kept(("t", key_of(Errand.community_id == 2)), lambda: build(2))
        assert other is not first and built == [1, 2]


def test_the_store_is_bounded():
    store = Kept(2)
    for k in "abc":
        store.get(k, lambda k=k: k)
    assert len(store) == 2 and store.get("a", lambda: "again") == "again"
