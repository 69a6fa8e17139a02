"""Helpers for the grid tests: logged-in clients and bulk households."""
from gridapp.extensions import db
from tests.factories import make_household


def logged_in(make_client, username):
    c = make_client()
    c.login(username)
    return c


def add_households(compound, n, start=1000, **fields):
    """n more households in a compound (rooms start, start+1, …), committed."""
    rows = [make_household(compound, start + i, **fields) for i in range(n)]
    db.session.commit()
    return rows
