"""Fragments of a page remembered by the values they are drawn from.

A list row drawn by a macro is a function of a few values: the shift's time, its counts and state,
the viewer's own sign-up, where its form returns to, the language. Hundreds of viewers draw the
same rows, so the process keeps each row's HTML under the tuple of those values. There is nothing
to invalidate: the values are read from the database on every request, so a write changes the
key, and the very next request of any viewer draws the row again (tests/core/test_fragments.py;
for the duty list, tests/duty/test_list_rows.py). What stays the same for the life of an app
(its configuration, the templates, the time zone) is left out of the key: each app has its own
store.

The one rule for a remembered macro: it draws from its arguments alone (no `with context`
import, no `now`, no `current_user`), and its key holds every one of them. The CSRF token is the
exception that proves it: it differs per response (masked, see gridapp/core/csrf.py), so a
remembered fragment carries `TOKEN` in its place and `with_token()` puts this response's token in.
So are a row's one-time token and a resident's data (`drawn_rows(fill=...)`): the kept row holds a
stand-in, and the response puts the value in. No resident's data is ever kept.

The store is bounded (`FRAGMENT_CACHE_SIZE` rows a process, the least recently used going first)
and thread-safe; `FRAGMENT_CACHE_SIZE = 0` turns it off, and every fragment is drawn each time.
"""
from collections.abc import Callable, Hashable
from functools import partial

from flask import current_app, request
from flask_babel import get_locale
from markupsafe import Markup

from gridapp.core.csrf import csrf_token
from gridapp.core.kept import Kept

# Stands for the CSRF token in a remembered fragment: no template outputs it by itself.
TOKEN = "\x00csrf-token\x00"


class Fragments(Kept):
    """At most `size` fragments of HTML, the least recently used forgotten first."""

    def get(self, key: Hashable, draw: Callable[[], str]) -> str:
        return super().get(key, lambda: str(draw()))


def store() -> Fragments:
    return current_app.extensions["fragments"]


def remembering(kind: str) -> Callable[[Hashable, Callable[[], str]], str]:
    """`keep(key, draw)` for one list's fragments of a kind: the fragment `draw()` makes, kept under
    the kind, `key`, and what every fragment depends on: the language and where the app is mounted
    (its links), looked up once for the list."""
    kept, prefix = store(), (kind, str(get_locale()), request.script_root)
    return lambda key, draw: kept.get((prefix, key), draw)


def with_token(html: str) -> Markup:
    """Remembered fragments, with this response's CSRF token where they say TOKEN."""
    if TOKEN in html:
        html = html.replace(TOKEN, csrf_token())
    return Markup(html)


def drawn_rows(template: str, macro: str, rows: list[Hashable],
               fill: Callable[[int], dict[str, str]] | None = None) -> Markup:
    """A list's rows, each drawn by `macro(row, token)` of `template` once per process for its
    values: `row` is a named tuple of everything the row shows, worked out for this viewer and
    this minute, and the macro draws from it alone (see the module's docstring). What must not be
    kept — a value new in every response (a one-time token of a form), a resident's data — the
    row holds as a stand-in, and `fill(i)` gives row i's {stand-in: HTML, escaped} for this response."""
    draw = getattr(current_app.jinja_env.get_template(template).module, macro)
    keep = remembering(f"{template}:{macro}")
    html = [keep(row, partial(draw, row, TOKEN)) for row in rows]
    if fill is not None:
        for i, h in enumerate(html):
            for stand_in, value in fill(i).items():
                h = h.replace(stand_in, value)
            html[i] = h
    return with_token("".join(html))


def init_app(app) -> None:
    app.extensions["fragments"] = Fragments(int(app.config.get("FRAGMENT_CACHE_SIZE", 10000)))
