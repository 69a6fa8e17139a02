"""Helpers of the tests of rows kept drawn (gridapp/core/fragments.py): clients of several viewers,
pages with their per-response tokens set aside, and the check that the rows kept are the rows drawn
fresh."""
import re

CSRF_TOKENS = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def viewers(make_client, *usernames) -> list:
    """A client for each of these demo users, logged in."""
    out = []
    for name in usernames:
        c = make_client()
        c.login(name)
        out.append(c)
    return out


def normalised(html: str, *per_response: re.Pattern) -> str:
    """The page less what differs in every response: its CSRF token (masked afresh, one per
    response, wherever it stands) and what the patterns' last group matches (a tick's token)."""
    for token in set(CSRF_TOKENS.findall(html)):
        html = html.replace(token, "…")
    for pattern in per_response:
        for m in pattern.finditer(html):
            html = html.replace(m.group(m.lastindex), "†")
    return html


def assert_kept_rows_are_fresh(app, clients, pages, *per_response: re.Pattern) -> None:
    """Every client's pages on a store that all of them filled, then the same pages drawn with
    nothing kept (FRAGMENT_CACHE_SIZE 0): the same, but for the per-response tokens."""
    seen = {(c, p): normalised(c.get(p).get_data(as_text=True), *per_response) for c in clients for p in pages}
    assert len(app.extensions["fragments"]) > 0
    app.extensions["fragments"].size = 0
    app.extensions["fragments"].clear()
    for c in clients:
        for p in pages:
            assert normalised(c.get(p).get_data(as_text=True), *per_response) == seen[c, p], p
