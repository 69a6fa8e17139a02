"""Every kind of notice names the roles it is sent to (the preferences page offers a person only the
kinds of their roles): read from the code that sends each kind, and checked against who the demo
town's notices actually reached."""
import ast
from collections import Counter
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from gridapp.auth.models import ROLES, User
from gridapp.demo import seed
from gridapp.extensions import db
from gridapp.notifications.kinds import KINDS, kind
from gridapp.notifications.models import Notification
from gridapp.timeutil import utcnow
from jobs.periodic import by_name

ROOT = Path(__file__).resolve().parents[2]
SENDERS = {"notify": ("recipients", "kind"), "send_to_person": ("user", "kind"), "send_to_phone": ("phone", "kind")}
# Sent to a resident's own phone (no account, so no role): a home-observation personal link.
TO_RESIDENTS = {"send_to_phone"}
# A digest (gridapp/notifications/digest.py) names its kind first; its people come with add().
DIGESTS = {"Digest"}


def _argument(call: ast.Call, position: int, name: str):
    if len(call.args) > position:
        return call.args[position]
    return next((k.value for k in call.keywords if k.arg == name), None)


def call_sites(source: str, where: str) -> list[dict]:
    """Each notify() / send_to_person() call and each Digest(…) in this source: where, its kind (None when the kind is
    not written as a string), and whether it goes to group robots only (recipients written `[]`)."""
    sites = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
        if name in DIGESTS:
            recipients, kind = None, _argument(node, 0, "kind")
        elif name in SENDERS:
            recipients, kind = _argument(node, 0, SENDERS[name][0]), _argument(node, 1, SENDERS[name][1])
        else:
            continue
        literal = kind.value if isinstance(kind, ast.Constant) and isinstance(kind.value, str) else None
        sites.append({"where": f"{where}:{node.lineno}", "kind": literal,
                      "robots_only": isinstance(recipients, ast.List) and not recipients.elts,
                      "to_resident": name in TO_RESIDENTS})
    return sites


def all_call_sites() -> list[dict]:
    sites = []
    for path in sorted([*(ROOT / "gridapp").rglob("*.py"), *(ROOT / "jobs").rglob("*.py")]):
        sites += call_sites(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    return sites


def problems(sites) -> list[str]:
    out = []
    for site in sites:
        kind = KINDS.get(site["kind"])
        if site["kind"] is None:
            out.append(f"{site['where']}: write the kind as a string, so that its roles can be checked")
        elif kind is None:
            out.append(f"{site['where']}: {site['kind']!r} is not a registered kind (NOTICE_KINDS)")
        elif not site["robots_only"] and not site["to_resident"] and not kind.roles:
            out.append(f"{site['where']}: {site['kind']!r} is sent to people but names no roles (kind(…, roles=…))")
    return out


def test_every_kind_sent_to_people_names_the_roles_it_is_sent_to(app):
    assert problems(all_call_sites()) == []


def test_the_check_sees_the_call_sites(app):
    """The scan reads the real calls (a check that can fail): every feature's sends, the secret
    invitation, and the test notice that goes to a robot only."""
    sites = all_call_sites()
    kinds = {s["kind"] for s in sites}
    # Every registered kind is sent somewhere, but the town office's announcements and urgent
    # notices, which no page sends yet.
    assert kinds == set(KINDS) - {"system", "urgent"}
    assert len(sites) >= 25
    assert all(s["robots_only"] for s in sites if s["kind"] == "test")


def test_a_new_kind_without_roles_is_caught(app, monkeypatch):
    """What the check says about a kind added without its roles, or sent under a name it cannot read."""
    monkeypatch.setitem(KINDS, "new_feature_notice", kind("new_feature_notice", "New feature notices"))
    source = ("def f(user, kind_name):\n"
              "    notify([user], 'new_feature_notice', 'Title', dedupe_key='k')\n"
              "    notify([], 'new_feature_notice', 'To the robots only', dedupe_key='r', webhooks=[])\n"
              "    notify([user], kind_name, 'Title', dedupe_key='k2')\n"
              "    notify(recipients=[user], kind='not_registered', title='T', dedupe_key='k3')\n")
    assert problems(call_sites(source, "new.py")) == [
        "new.py:2: 'new_feature_notice' is sent to people but names no roles (kind(…, roles=…))",
        "new.py:4: write the kind as a string, so that its roles can be checked",
        "new.py:5: 'not_registered' is not a registered kind (NOTICE_KINDS)",
    ]


def test_every_kind_names_real_roles(app):
    assert all(k.roles <= set(ROLES) for k in KINDS.values())
    # Only a notice that goes to group robots alone, or to a resident's own phone, names nobody.
    assert [k.name for k in KINDS.values() if not k.roles] == ["test", "observation_link", "observation_over"]


def test_the_demo_towns_notices_reach_only_the_roles_their_kinds_name(app, clock):
    """The demo town and a few days of every sweep that notifies: each inbox entry's person holds one
    of the roles its kind names."""
    clock.town("2026-11-25 10:00")
    seed()
    db.session.commit()
    start = utcnow()
    for hours in (0, 3, 26, 80):
        at = (start + timedelta(hours=hours)).isoformat()
        for name in ("sweep-duty", "sweep-errands", "sweep-disinfection", "remind-rectification",
                     "escalate-rectification", "sweep-screening"):
            by_name(name).func(at=at)
    roles = {user.id: user.role_names() for user in db.session.scalars(select(User))}
    wrong, seen = Counter(), Counter()
    for name, user_id in db.session.execute(select(Notification.kind, Notification.user_id)):
        seen[name] += 1
        if not roles[user_id] & KINDS[name].roles:
            wrong[(name, tuple(sorted(roles[user_id])))] += 1
    assert not wrong, wrong
    assert len(seen) >= 8, seen  # the sweeps did send: duty gaps, missed rounds, escalations, …
