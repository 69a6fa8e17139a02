"""SQL statements built once and executed again with new values.

Building a large SELECT in SQLAlchemy (its joins, subqueries and CASE columns) and working out its
cache key each time costs more than running it on SQLite: on the today board, a third of the
request. A statement whose shape is the same from one request to the next is therefore built once
per process and kept, with what changes from request to request (the instant, today's date) as
named `bindparam`s given at execution: `db.session.execute(stmt, {"now": now, ...})`. The compiled
form is then SQLAlchemy's own cache's, and the cache key is worked out once for the kept statement.

What a statement is built from besides those parameters — the viewer's scope and the place, as
SQL conditions (`policy.visible_clause(user)` and the like) — goes into its key by `key_of()`: the
condition's own cache key and the values bound in it. Two viewers whose conditions differ in any
value get two statements; a viewer whose scope changes gets a new one on the next request. The
figures are never kept: each request runs the statement again.

A kept statement is built from its key's parts alone: `kept(key, build)` with `build` a function of
what the key holds (tests/core/test_statements.py). The store is per app and bounded
(`KEPT_STATEMENTS` statement sets, the least recently used going first).
"""
from collections.abc import Callable, Hashable
from typing import Any

from flask import current_app

from gridapp.core.kept import Kept

KEPT_STATEMENTS = 2000  # sets of statements an app keeps (a few KB each)


def _frozen(value: Any) -> Hashable:
    if isinstance(value, list | tuple | set | frozenset):
        return tuple(_frozen(v) for v in value)
    return value


def key_of(element) -> Hashable:
    """What determines an SQL element: its shape (SQLAlchemy's cache key) and every value bound in
    it. None stands for no element."""
    if element is None:
        return None
    cache_key = element._generate_cache_key()
    if cache_key is None:  # an element SQLAlchemy does not cache: never kept under a shared key
        raise ValueError(f"{type(element).__name__} has no cache key")
    return cache_key.key, tuple(_frozen(p.effective_value) for p in cache_key.bindparams)


def kept(key: Hashable, build: Callable[[], Any]) -> Any:
    """What `build()` returns (statements), made once per `key` in this app."""
    return current_app.extensions["statements"].get(key, build)


def init_app(app) -> None:
    app.extensions["statements"] = Kept(KEPT_STATEMENTS)
