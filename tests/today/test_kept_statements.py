"""The today board's statements are kept (gridapp/core/statements.py): built once per viewer's
conditions and run again on every request. So in one app, viewers of different scopes take turns
and each sees their own figures, and a write shows on the very next request of every viewer, on
both databases."""
import pytest

from tests.errands import factories as errands
from tests.today.factories import NOW_TEXT, TODAY, day_in_town, figures

# From tests/today/test_board.py (worked out by hand in tests/today/factories.py).
LEADER = {"err-open": "3", "dis-missed": "2", "sup-overdue-2": "1", "duty-short-now": "2"}
SECRETARY1 = {"err-open": "2", "dis-missed": "2", "sup-overdue-2": "1", "duty-short-now": "2"}
# 东城社区's secretary: conditions of the same shape as secretary1's, with another community in them.
SECRETARY2 = {"err-open": "1", "dis-missed": "0", "sup-overdue-2": "0", "duty-short-now": "0"}


@pytest.fixture
def day(world, clock):
    d = day_in_town(world)
    clock.town(NOW_TEXT)
    return d


def _figures(client, want):
    got = figures(client.get("/today/").get_data(as_text=True))
    return {k: got.get(k) for k in want}


def test_viewers_take_turns_and_each_sees_their_own_place(day, app, make_client):
    viewers = []
    for username, want in (("leader", LEADER), ("secretary1", SECRETARY1), ("secretary2", SECRETARY2)):
        client = make_client()
        client.login(username)
        viewers.append((client, want))
    store = app.extensions["statements"]
    for _ in range(2):
        for client, want in viewers:
            assert _figures(client, want) == want
    # One set of statements a panel per viewer's conditions, built on the first turn only.
    assert 0 < len(store) <= 3 * 6
    kept = len(store)
    assert _figures(*viewers[2]) == SECRETARY2 and len(store) == kept


def test_a_write_shows_on_the_next_request_of_every_viewer(day, world, make_client):
    leader, secretary = make_client(), make_client()
    leader.login("leader")
    secretary.login("secretary1")
    assert _figures(leader, LEADER) == LEADER and _figures(secretary, SECRETARY1) == SECRETARY1
    # A new errand in 城关社区 (secretary1's community, in the town): both boards count it at once.
    errands.make_errand(world, household=world.h1)
    assert _figures(leader, {"err-open": 0}) == {"err-open": "4"}
    assert _figures(secretary, {"err-open": 0}) == {"err-open": "3"}


def test_the_instant_is_a_value_not_part_of_the_statement(day, app, make_client, clock):
    """At 13:00 the same statements answer for the new instant: p4's 09:00–11:00 is missed, the five
    12:00–14:00 windows are due, and i3, due at 13:00, is overdue."""
    leader = make_client()
    leader.login("leader")
    before = figures(leader.get("/today/").get_data(as_text=True))
    kept = len(app.extensions["statements"])
    clock.town(f"{TODAY.isoformat()} 13:00")
    after = figures(leader.get("/today/").get_data(as_text=True))
    assert len(app.extensions["statements"]) == kept
    moved = ("dis-missed", "dis-due", "sup-overdue-0", "sup-due-today")
    assert [(before[k], after[k]) for k in moved] == [("2", "3"), ("1", "5"), ("1", "2"), ("1", "0")]
