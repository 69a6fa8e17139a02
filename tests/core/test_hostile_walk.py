"""Bad input never gives a 5xx: every route of app.url_map, as every demo role (and anonymously),
with hostile values in every query parameter and form field, and in its route parameters:
huge and negative numbers, NaN, year 1 and 9999 dates, control characters, 100,000 characters,
undecodable bytes and an encoded lone surrogate.

How the walk knows what to send, without a list to keep up to date:
- the demo town is seeded once for the module and every role's pages are crawled: the links,
  `hx-get`/`hx-post` targets and form actions on them give each route concrete URLs with real
  ids (the ones that role can reach), and each form its field names and ordinary values;
- every request records which keys the view read from request.args and request.form (a
  recording MultiDict as the request's parameter storage), so parameters that no form shows
  (`?checkpoint=`, `?day=`, `next`, `slot`, …) are walked too;
- route parameters are also filled with ids too large for a row and with hostile text.
For each route and method, each role sends, per class of hostile value, one request with every
parameter hostile and (where the role is let in) one with a single parameter hostile and the
others ordinary, rotating which one, so each parameter meets each class. A role refused before
the view read any parameter gets every class in one request (each parameter repeated; the long
value apart), since nothing it is refused with can depend on the values; should that request
read one after all, the classes are sent one by one as for the others.
"""
import re
import time
from collections import defaultdict
from html.parser import HTMLParser
from urllib.parse import quote, unquote_plus, urlsplit

import pytest
from flask import Request, request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import IntegerConverter

from gridapp import create_app
from gridapp.extensions import db
from tests.conftest import Client, _empty_tables, test_config

ROLES = ("admin", "leader", "secretary1", "gridder1", "head1", "vol1", "pm1", "unit1", "sup1")
ANONYMOUS = "anonymous"
# Routes not walked, and why.
SKIPPED = {
    "static": "files on disk: no parameters reach the application",
    "disinfection.static": "files on disk: no parameters reach the application",
    "supervision.static": "files on disk: no parameters reach the application",
    "auth.logout": "ends the walking session; it reads nothing but the CSRF token",
}
HUGE = "99999999999999999999"
LONG = "长" + "a" * 99_999  # 100,000 characters
# Starting with "/", so that a `next` holding it looks like a path on the site.
CONTROL = "/a\x00b\x01c\x08\x0b\x1b[31m\x7f\x85\x9f\r\n\t/evil.example"
# Raw percent-escapes, sent as they are: undecodable bytes and an encoded lone surrogate.
MALFORMED, SURROGATE = "%ff%fe", "%ED%A0%80"
CLASSES = ("huge", "negative", "nan", "year1", "year9999", "control", "long", "malformed", "surrogate")
STRING_ROUTE_VALUES = {"huge": HUGE, "negative": "-1", "nan": "sNaN", "year1": "0001-01-01",
                       "year9999": "9999-12-31T23:59", "control": "a\x00b\x1b", "long": "a" * 3000,
                       "malformed": MALFORMED, "surrogate": SURROGATE}
NOT_HOSTILE = {"csrf_token"}

STATS = {"requests": 0, "seconds": 0.0, "routes": set(), "roles": set(), "failures": [],
         "kinds": defaultdict(lambda: [0, 0.0]), "unseen": set()}


# --- what each request read --------------------------------------------------------------------

READ = defaultdict(set)  # (endpoint, "args"|"form") -> keys a view read
LAST_READ: set = set()  # the keys the request being sent read


class RecordingMultiDict(ImmutableMultiDict):
    def _note(self, key):
        try:
            current = request._get_current_object()
        except RuntimeError:
            return
        where = "args" if vars(current).get("args") is self else "form"
        if current.endpoint and isinstance(key, str):
            READ[(current.endpoint, where)].add(key)
            LAST_READ.add(key)

    def get(self, key, default=None, type=None):  # noqa: A002
        self._note(key)
        return super().get(key, default=default, type=type)

    def getlist(self, key, type=None):  # noqa: A002
        self._note(key)
        return super().getlist(key, type=type)

    def __getitem__(self, key):
        self._note(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self._note(key)
        return super().__contains__(key)


class RecordingRequest(Request):
    parameter_storage_class = RecordingMultiDict


# --- what the pages show ---------------------------------------------------------------------------

class PageParser(HTMLParser):
    """Links and forms of a page: [(method, url)] and [(method, action, {name: (type, value)})]."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links, self.forms = [], []
        self._form = None
        self._select = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for attr, method in (("href", "GET"), ("src", "GET"), ("hx-get", "GET"), ("hx-post", "POST")):
            if a.get(attr):
                self.links.append((method, a[attr]))
        if tag == "form":
            self._form = ((a.get("method") or "get").upper(), a.get("action") or "", {})
            self.forms.append(self._form)
        fields = self._form[2] if self._form else None
        name = a.get("name")
        if fields is None or not name:
            return
        if tag == "input":
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "button", "reset", "image"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a and name in fields:
                return
            fields[name] = (kind, a.get("value") or ("y" if kind == "checkbox" else ""))
        elif tag == "select":
            self._select = name
            fields.setdefault(name, ("select", ""))
        elif tag == "option" and self._select:
            kind, value = fields[self._select]
            if not value or "selected" in a:
                fields[self._select] = (kind, a.get("value", ""))
        elif tag == "textarea":
            self._textarea = name
            fields[name] = ("textarea", "")

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self._form = None

    def handle_data(self, data):
        if self._textarea and self._form:
            self._form[2][self._textarea] = ("textarea", self._form[2][self._textarea][1] + data)


class Plan:
    """Per route: its concrete URLs per role, its fields (name -> type, ordinary value) per method."""

    def __init__(self, app):
        self.app = app
        self.adapter = app.url_map.bind("localhost")
        self.rules = [r for r in app.url_map.iter_rules() if r.endpoint not in SKIPPED]
        self.urls = defaultdict(dict)     # (id(rule), role) -> {path: query}
        self.fields = defaultdict(dict)   # (id(rule), method) -> {name: (type, value)}
        self.let_in = set()               # (id(rule), method, role): the role got past the permission check
        self.arg_values = defaultdict(dict)  # (role, route parameter name) -> {value: None}, as seen in URLs

    def match(self, method, url):
        parts = urlsplit(url)
        if parts.netloc and parts.netloc != "localhost" or not parts.path.startswith("/"):
            return None
        try:
            rule, _args = self.adapter.match(parts.path, method=method, return_rule=True)
        except (NotFound, MethodNotAllowed, Exception):
            return None
        return rule if rule.endpoint not in SKIPPED else None

    def note_page(self, role, html, page_url):
        parser = PageParser()
        try:
            parser.feed(html)
        except Exception:  # a fragment or an odd page: take what was read
            pass
        found = []
        for method, url in parser.links:
            rule = self.match(method, url)
            if rule is not None:
                self._note_url(rule, role, url, method)
                found.append((rule, url))
        for method, action, fields in parser.forms:
            action = action or page_url  # a form without an action posts to its own page
            rule = self.match(method, action)
            if rule is None:
                continue
            self._note_url(rule, role, action, method)
            if method == "GET":
                found.append((rule, action))
            known = self.fields[(id(rule), method)]
            for name, (kind, value) in fields.items():
                if name not in known or not known[name][1]:
                    known[name] = (kind, value)
        return found

    def _note_url(self, rule, role, url, method):
        parts = urlsplit(url)
        self.urls[(id(rule), role)].setdefault(parts.path, parts.query)
        try:
            _rule, values = self.adapter.match(parts.path, method=method, return_rule=True)
        except Exception:
            values = {}
        for name, value in values.items():
            self.arg_values[(role, name)].setdefault(str(value))
        if method == "GET" and parts.query:
            known = self.fields[(id(rule), "GET")]
            for pair in parts.query.split("&"):
                name, _eq, value = pair.partition("=")
                if name and name not in known:
                    known[name] = ("text", value)

    def query_for(self, rule, path):
        for (rule_id, _role), seen in self.urls.items():
            if rule_id == id(rule) and path in seen:
                return seen[path]
        return ""

    def path_for(self, rule, role):
        """A concrete path for this route: one the role was shown, else one any role was shown,
        else the route filled with the first ids."""
        own = self.urls.get((id(rule), role))
        if own:
            return _prefer_others(rule, own)
        for other in (*ROLES, ANONYMOUS):
            seen = self.urls.get((id(rule), other))
            if seen:
                return _prefer_others(rule, seen)
        # Shown to nobody: each parameter takes a value seen for a parameter of that name in
        # another route (errand_id of /errands/<errand_id>), preferably by this role; else 1 or "x".
        STATS["unseen"].add(rule.rule)
        ints = {n for n, c in rule._converters.items() if isinstance(c, IntegerConverter)}

        def value(name):
            for who in (role, *ROLES, ANONYMOUS):
                seen = self.arg_values.get((who, name))
                if seen:
                    return quote(next(iter(seen)), safe="")
            return "1" if name in ints else "x"

        return ROUTE_ARG.sub(lambda m: value(m.group(1)), rule.rule)


PROTECTED_IDS: set[str] = set()


def _prefer_others(rule, seen: dict) -> str:
    """Account pages of the walking accounts themselves are left alone when another will do: a
    walked password reset of `admin` would end the walk's own session."""
    paths = list(seen)
    if "user_id" in rule.arguments:
        others = [p for p in paths if not any(f"/users/{i}/" in p + "/" for i in PROTECTED_IDS)]
        if others:
            return others[0]
    return paths[0]


def _hostile(cls: str, kind: str) -> str:
    """The raw (already percent-encoded) value of a hostile class for a field of this type."""
    datetime_field = kind == "datetime-local"
    if cls == "huge":
        return HUGE
    if cls == "negative":
        return "-1"
    if cls == "nan":
        return "sNaN"  # a signalling NaN: Decimal parses it, comparing it raises
    if cls == "year1":
        return "0001-01-01T00:00" if datetime_field else "0001-01-01"
    if cls == "year9999":
        return "9999-12-31" if kind == "date" else "9999-12-31T23:59"
    if cls == "control":
        return quote(CONTROL, safe="")
    if cls == "long":
        return quote(LONG, safe="")
    if cls == "malformed":
        return MALFORMED
    return SURROGATE


def _encode(pairs) -> str:
    return "&".join(f"{quote(k, safe='')}={v}" for k, v in pairs)


# --- the seeded town and its crawl -----------------------------------------------------------------

@pytest.fixture(scope="module")
def plan(_schema):
    from gridapp.auth.models import User
    from gridapp.demo import DEMO_PASSWORD, seed
    from gridapp.jobs_runtime import redis_connection

    STATS["started"] = time.perf_counter()
    app = create_app(test_config())
    app.request_class = RecordingRequest
    with app.app_context():
        redis_connection().flushdb()
        seed()
        db.session.commit()
        PROTECTED_IDS.update(str(u.id) for u in db.session.query(User).filter(User.username.in_(ROLES)))
        p = Plan(app)
        p.clients = {}
        for role in (*ROLES, ANONYMOUS):
            c = Client(app)
            if role != ANONYMOUS:
                c.login(role, DEMO_PASSWORD)
                c.confirm_password(DEMO_PASSWORD)  # past the prompts of exports and account changes
            c.token()
            p.clients[role] = c
            _crawl(p, role, c)
        yield p
        db.session.remove()
        _empty_tables()
        redis_connection().flushdb()


def _crawl(plan, role, client):
    """Visit each GET route once (the first concrete URL the role is shown), noting links and forms."""
    queue = [(None, "/")]
    visited_rules = set()
    while queue:
        rule, url = queue.pop(0)
        if rule is not None and id(rule) in visited_rules:
            continue
        rule = rule or plan.match("GET", url)
        if rule is not None and id(rule) in visited_rules:
            continue
        visited_rules.add(id(rule))
        if rule is not None:
            plan._note_url(rule, role, url, "GET")
        resp = _send(client, "GET", url, role, rule)
        if resp is not None and resp.status_code in (301, 302, 303) and len(queue) < 500:
            target = urlsplit(resp.headers.get("Location", ""))
            if target.netloc in ("", "localhost"):
                queue.append((None, target.path + ("?" + target.query if target.query else "")))
        if resp is None or resp.status_code != 200 or "html" not in (resp.content_type or ""):
            continue
        if rule is not None:
            plan.let_in.add((id(rule), "GET", role))
        for found_rule, found_url in plan.note_page(role, resp.get_data(as_text=True), url):
            if id(found_rule) not in visited_rules and "GET" in found_rule.methods:
                queue.append((found_rule, found_url))


def _send(client, method, url, role, rule, body=None, kind="crawl"):
    started = time.perf_counter()
    kw = {"data": body or "", "content_type": "application/x-www-form-urlencoded"} if method == "POST" else {}
    LAST_READ.clear()
    try:
        resp = client._open(method.lower(), url, **kw)
    except Exception as exc:  # raised through the test client: as bad as a 500
        resp = None
        STATS["failures"].append(f"EXC {role} {method} {url[:200]} {str(body)[:200]} {exc!r}")
    spent = time.perf_counter() - started
    STATS["seconds"] += spent
    STATS["requests"] += 1
    STATS["kinds"][kind][0] += 1
    STATS["kinds"][kind][1] += spent
    if rule is not None:
        STATS["routes"].add((rule.rule, method))
    STATS["roles"].add(role)
    if resp is not None and resp.status_code >= 500:
        STATS["failures"].append(f"{resp.status_code} {role} {method} {url[:200]} {str(body)[:200]}")
    return resp


def _url(path, pairs):
    return path + ("?" + _encode(pairs) if pairs else "")


ROUTE_ARG = re.compile(r"<(?:[^:<>]+:)?([^<>:]+)>")


def _hostile_route_paths(plan, rule, method, path):
    """The route with its int parameters too large for a row (and the largest 32-bit one), and
    with hostile text in its string parameters; the others keep the concrete path's values."""
    try:
        _rule, values = plan.adapter.match(path, method=method, return_rule=True)
    except Exception:
        values = {}
    ints = {n for n, c in rule._converters.items() if isinstance(c, IntegerConverter)}
    plain = {n: quote(str(values.get(n, 1 if n in ints else "x")), safe="") for n in rule.arguments}

    def fill(overrides):
        return ROUTE_ARG.sub(lambda m: {**plain, **overrides}[m.group(1)], rule.rule)

    paths = [fill({n: big for n in ints}) for big in (HUGE, str(2**31 - 1))] if ints else []
    texts = set(rule.arguments) - ints
    if texts:
        for cls in CLASSES:
            raw = STRING_ROUTE_VALUES[cls]
            paths.append(fill({n: raw if raw.startswith("%") else quote(raw, safe="") for n in texts}))
    return paths


# --- the walk ----------------------------------------------------------------------------------------

def _params(plan, rule, method, query):
    """(name -> (type, ordinary value)) of what this route reads from the query and the form."""
    args = {}
    for pair in query.split("&"):
        name, _eq, value = pair.partition("=")
        if name:
            args[name] = ("text", unquote_plus(value))
    if method == "GET":
        for name, field in plan.fields.get((id(rule), "GET"), {}).items():
            args.setdefault(name, field)
    for key in READ.get((rule.endpoint, "args"), ()):
        args.setdefault(key, ("text", ""))
    form = {}
    if method == "POST":
        form = dict(plan.fields.get((id(rule), "POST"), {}))
        for key in READ.get((rule.endpoint, "form"), ()):
            form.setdefault(key, ("text", ""))
    for where in (args, form):
        for key in NOT_HOSTILE:
            where.pop(key, None)
    return args, form


def _walk_route(plan, role, client, rule, method, rotation):
    path = plan.path_for(rule, role)
    query = plan.query_for(rule, path)
    token = client.token()

    def send(args_pairs, form_pairs, url_path=path, kind="ordinary"):
        body = _encode([("csrf_token", token), *form_pairs]) if method == "POST" else None
        return _send(client, method, _url(url_path, args_pairs), role, rule, body, kind)

    def ordinary(fields):
        return [(k, quote(v, safe="")) for k, (_t, v) in fields.items()]

    def hostile(fields, cls, only=None):
        return [(k, _hostile(cls, t) if only in (None, k) else quote(v, safe="")) for k, (t, v) in fields.items()]

    args, form = _params(plan, rule, method, query)
    resp = send(ordinary(args), ordinary(form))
    read = LAST_READ - NOT_HOSTILE
    if resp is not None and (resp.status_code not in (302, 400, 403, 404, 405) or (
            resp.status_code == 302 and "/login" not in resp.headers.get("Location", ""))):
        plan.let_in.add((id(rule), method, role))
    let_in = (id(rule), method, role) in plan.let_in
    args, form = _params(plan, rule, method, query)  # now with what that request read
    for hostile_path in _hostile_route_paths(plan, rule, method, path):
        send(ordinary(args), ordinary(form), hostile_path, kind="route parameters")
    if not let_in and not read:
        # Refused before the view read anything: what it does cannot depend on the values. One
        # request carries every class at once (each parameter repeated), the long one apart (a
        # body of them all would be refused as too large before it is parsed).
        together = [c for c in CLASSES if c != "long"]
        send([p for c in together for p in hostile(args, c)], [p for c in together for p in hostile(form, c)],
             kind="all hostile, refused")
        read |= LAST_READ - NOT_HOSTILE
        send(hostile(args, "long"), hostile(form, "long"), kind="all hostile, refused")
        read |= LAST_READ - NOT_HOSTILE
        if not read:
            return
    names = [("args", k) for k in args] + [("form", k) for k in form]
    for i, cls in enumerate(CLASSES):
        send(hostile(args, cls), hostile(form, cls), kind="all hostile")
        if len(names) > 1 and let_in:
            where, key = names[(rotation + i) % len(names)]
            send(hostile(args, cls, key if where == "args" else ""), hostile(form, cls, key if where == "form" else ""),
                 kind="one hostile")


@pytest.mark.parametrize("role", [*ROLES, ANONYMOUS])
def test_no_5xx_for_hostile_input(plan, role):
    client = plan.clients[role]
    with plan.app.app_context():
        for n, rule in enumerate(sorted(plan.rules, key=lambda r: r.rule)):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                _walk_route(plan, role, client, rule, method, rotation=n + ROLES.index(role) if role in ROLES else n)
    failures = [f for f in STATS["failures"] if f.split(" ", 2)[1] == role]
    assert not failures, "\n".join(failures[:40])


def test_walk_covered_every_route(plan):
    """Runs last: every walkable route and method was requested; the walk's size, for the record."""
    if STATS["roles"] != {*ROLES, ANONYMOUS}:
        pytest.skip("the walk ran for some roles only")
    expected = {(r.rule, m) for r in plan.rules for m in r.methods - {"HEAD", "OPTIONS"}}
    missing = expected - STATS["routes"]
    print(f"\nhostile walk: {len(expected)} routes×methods × {len(STATS['roles'])} roles × {len(CLASSES)} "
          f"value classes; {STATS['requests']} requests in {STATS['seconds']:.1f} s "
          f"({time.perf_counter() - STATS['started']:.1f} s with seeding and crawling); {len(plan.let_in)} "
          f"route×method×role let past the permission check; "
          f"skipped: {', '.join(f'{k} ({v})' for k, v in SKIPPED.items())}\n  by kind: "
          + ", ".join(f"{k} {n} in {t:.1f} s" for k, (n, t) in STATS["kinds"].items())
          + f"\n  shown to no role (ids taken from other routes, or 1): {', '.join(sorted(STATS['unseen'])) or 'none'}")
    assert not missing, missing
    assert not STATS["failures"]
