"""Staff find every page without knowing its address: for each demo role, every page of the app
that needs no id in its address and that the role may open is reached by following links from
home (the header, the pages' own links), and so is at least one page of each kind of object
(an errand, a shift, a point, an item…) that the role sees."""
import re
from collections import deque
from urllib.parse import urlsplit

from gridapp.auth.passwords import DEMO_PASSWORD
from gridapp.demo import seed
from gridapp.extensions import db

ROLES = ["admin", "leader", "sup1", "secretary1", "gridder1", "head1", "vol1", "pm1", "unit1"]
HREF = re.compile(r'href="(/[^"#]*)"')
ACTION = re.compile(r'<form[^>]*action="(/[^"#]*)"')
# Not pages: files, feeds, the machine's own addresses, and what only a link someone is sent opens.
NOT_PAGES = re.compile(r"(\.(xlsx|csv|ics|svg|png|jpg|pdf|txt|js|css|ico)$)|^/(static|healthz|favicon|invite/|"
                       r"logout|set-language|lang|calendar/|reauth)")


# The pages of single objects each role must reach from home in the demo town (the role's work).
OBJECT_PAGES = {
    "admin": ["/admin/users/<id>", "/grid/compounds/<id>", "/grid/households/<id>/edit", "/errands/<id>",
              "/duty/shifts/<id>", "/duty/checkpoints/<id>", "/disinfection/points/<id>",
              "/supervision/inspections/<id>", "/supervision/items/<id>", "/supervision/circulars/<id>"],
    "leader": ["/errands/<id>", "/disinfection/points/<id>", "/supervision/inspections/<id>",
               "/supervision/items/<id>", "/supervision/circulars/<id>", "/grid/compounds/<id>"],
    "sup1": ["/supervision/inspections/<id>", "/supervision/items/<id>", "/supervision/circulars/<id>",
             "/disinfection/points/<id>"],
    "secretary1": ["/errands/<id>", "/duty/shifts/<id>", "/duty/checkpoints/<id>", "/disinfection/points/<id>",
                   "/supervision/items/<id>", "/grid/households/<id>/edit"],
    "gridder1": ["/errands/<id>", "/duty/shifts/<id>", "/grid/households/<id>/edit"],
    "head1": ["/errands/<id>", "/grid/compounds/<id>"],
    "vol1": ["/errands/<id>"],
    "pm1": ["/disinfection/points/<id>", "/disinfection/compounds/<id>/qr", "/supervision/items/<id>"],
    "unit1": ["/duty/shifts/<id>"],
}


def _path(href: str) -> str:
    return urlsplit(href).path


def _shape(path: str) -> str:
    """/errands/12/claim → /errands/<id>/claim"""
    return re.sub(r"/\d+(?=/|$)", "/<id>", path)


def crawl(client, limit: int = 400) -> set[str]:
    """The shapes of the pages reached from home by following GET links, one page per shape."""
    seen_shapes, queue, pages = set(), deque(["/"]), 0
    while queue and pages < limit:
        href = queue.popleft()
        shape = _shape(_path(href))
        if shape in seen_shapes:
            continue
        seen_shapes.add(shape)
        resp = client.get(href, follow_redirects=True)
        pages += 1
        html = resp.get_data(as_text=True)
        if resp.status_code != 200 or "text/html" not in resp.content_type:
            continue
        # A form on the page reaches its address too (the page of that address is what it
        # answers with when the form comes back wrong, without JavaScript).
        seen_shapes.update(_shape(_path(a)) for a in ACTION.findall(html))
        for link in HREF.findall(html):
            link = link.replace("&amp;", "&")
            if not NOT_PAGES.search(_path(link)) and _shape(_path(link)) not in seen_shapes:
                queue.append(link)
    return seen_shapes


def test_every_page_a_role_may_open_is_reached_from_home(app, make_client):
    seed()
    db.session.commit()
    plain = sorted({r.rule for r in app.url_map.iter_rules()
                    if "GET" in r.methods and not r.arguments and not NOT_PAGES.search(r.rule)})
    missing = []
    for username in ROLES:
        c = make_client()
        c.login(username, DEMO_PASSWORD)
        reached = crawl(c)
        for rule in plain:
            if rule in reached:
                continue
            resp = c.get(rule)
            # A whole page (not a fragment that htmx fetches into one) that this role may open.
            if resp.status_code == 200 and "<!doctype html>" in resp.get_data(as_text=True).lower():
                missing.append(f"{username}: {rule}")
        for shape in OBJECT_PAGES[username]:
            if shape not in reached:
                missing.append(f"{username}: no link to any {shape}")
    assert not missing, "pages no link leads to:\n" + "\n".join(missing)
