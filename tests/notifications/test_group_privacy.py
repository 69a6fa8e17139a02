"""Nothing personal reaches a group chat: every kind of notice that goes to group robots, raised by
the code that raises it in a town whose resident, volunteer, errand and announcement carry a name,
phones in every spelling (138.0939.0001, full-width, Chinese numerals), a room 3-2-501 and
medicine. The robots' outbox rows hold none of it, while times, days and place names come through;
one of them goes all the way to a robot on loopback through a real worker."""
import ast
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from gridapp.announcements import services as announcements
from gridapp.duty import services as duty
from gridapp.errands import services as errands
from gridapp.extensions import db
from gridapp.notifications.models import GroupWebhook, Notification, OutboxMessage
from gridapp.observation import services as observation
from gridapp.observation.models import ObservationCheck
from gridapp.people.models import Person
from jobs.duty import sweep_duty
from jobs.errands import sweep_errands
from jobs.reports import daily_report
from jobs.screening import sweep_screening
from tests.duty.factories import make_checkpoint, shift_of
from tests.factories import make_household, make_user
from tests.notifications.group import (
    ITEMS,
    NOTES,
    PHONES,
    RESIDENT_NAME,
    ROOM,
    VOLUNTEER_NAME,
    VOLUNTEER_PHONE,
    personal_data_in,
)
from tests.screening.helpers import open_campaign
from tests.workers import run_burst_worker

ROOT = Path(__file__).resolve().parents[2]
DAY = date(2026, 11, 25)


@pytest.fixture
def town(world, clock):
    """The world with a resident and a volunteer whose data tries every spelling, and a robot in
    the community's group chat."""
    clock.town("2026-11-25 09:00")
    building, unit, room = ROOM
    world.resident = make_household(world.k1, room, building=building, unit=unit, head_name=RESIDENT_NAME,
                                    phone=PHONES[0], housebound=True, living_alone=True, notes=NOTES)
    make_household(world.k1, 502, building=building, unit=unit, head_name=RESIDENT_NAME, phone=PHONES[1])
    make_household(world.k1, 503, building=building, unit=unit, head_name=RESIDENT_NAME, phone=PHONES[2])
    world.volunteer = make_user("guilan", ("volunteer", world.c1), display_name=VOLUNTEER_NAME,
                                phone=VOLUNTEER_PHONE)
    world.robot = GroupWebhook(community_id=world.c1.id, provider="wecom", name="城关社区群",
                               url="http://127.0.0.1:9/hook", active=True)
    db.session.add(world.robot)
    db.session.commit()
    return world


def _urgent_errand(town):
    errand = errands.file_errand(town.head1, town.resident, {
        "category": "medicine", "items": ITEMS, "estimated_cost": "35.50", "urgent": True, "pay_on_delivery": True,
        "needed_by_at": town.now + timedelta(hours=4), "notes": NOTES}, now=town.now)
    db.session.commit()
    return errand


def _shift_one_short(town):
    """A checkpoint set up at 06:00 whose 08:00-16:00 shift, running now, has one of two: the volunteer."""
    cp = make_checkpoint(town.c1, town.k1, min_people=2, now=town.now - timedelta(hours=3))
    duty.sign_up(shift_of(cp, DAY, "08:00-16:00"), town.volunteer, now=town.now - timedelta(hours=2))
    db.session.commit()


# --- each kind that goes to group robots, raised as the app raises it --------------------------------

def raise_duty_gap(town, make_client):
    """A running shift one short, its one volunteer the one with the tricky phone."""
    _shift_one_short(town)
    sweep_duty(at=town.now.isoformat())
    return ["东门检查点", "2026-11-25", "08:00-16:00", "1"]


def raise_errand_urgent(town, make_client):
    errand = _urgent_errand(town)
    sweep_errands(at=(town.now + timedelta(minutes=16)).isoformat())
    # The people's notice carries the goods (the test data is in play); the robots' must not.
    volunteers = db.session.scalars(select(Notification.body).where(Notification.kind == "errand_urgent")).all()
    assert any("布洛芬" in body for body in volunteers)
    return [f"#{errand.id}", "阳光小区", str(errands.CATEGORY_LABELS["medicine"]), "/errands/"]


def raise_daily_report(town, make_client):
    _urgent_errand(town)
    _shift_one_short(town)
    daily_report(at=(town.now + timedelta(hours=11)).isoformat())
    report_id = db.session.scalars(select(Notification.link).where(Notification.user_id == town.sec1.id,
                                                                   Notification.kind == "daily_report")).one()
    return ["城关社区", "2026-11-25", report_id]


def raise_announcement(town, make_client):
    title = "关于暂停集市的通知（11月25日 08:00 起）"
    body = f"{RESIDENT_NAME}（{ROOM[0]}-{ROOM[1]}-{ROOM[2]}）居家留观，需胰岛素，联系 {' / '.join(PHONES)}。"
    ann = announcements.create(town.sec1, {"title": title, "body": body, "roles": ["volunteer"],
                                           "places": [f"community:{town.c1.id}"]}, now=town.now)
    db.session.commit()
    # The audience reads it all in their inbox (the test data is in play); the robots get the title.
    assert personal_data_in(db.session.scalars(select(Notification.body).where(
        Notification.kind == "announcement")).first())
    return [title, "08:00", f"/announcements/{ann.id}"]


def raise_test(town, make_client):
    secretary = make_client()
    secretary.login("secretary1")
    assert secretary.post(f"/notifications/webhooks/{town.robot.id}/test").status_code == 302
    return []


def raise_screening_reminder(town, make_client):
    """A campaign over the town ending today, the tricky resident's household never visited: the
    last rung tells the secretary and the community's robots."""
    campaign = open_campaign(town.leader, starts_on=town.now.date() - timedelta(days=6), ends_on=town.now.date())
    sweep_screening(at=town.now.isoformat())
    return ["城关社区", str(campaign.ends_on.isoformat())]


def raise_observation_fever(town, make_client):
    """The resident, back from outside, under home observation: 38.5 ℃ and a cough."""
    person = Person(household_id=town.resident.id, name=RESIDENT_NAME, relation="head", phone=PHONES[0],
                    from_outside=True, came_from="武汉市")
    db.session.add(person)
    db.session.commit()
    obs = observation.start_observation(person, town.head1, {}, now=town.now - timedelta(hours=3))
    db.session.commit()
    observation.ensure_checks([town.now.date()], [obs.id])
    check = db.session.scalars(select(ObservationCheck).where(ObservationCheck.observation_id == obs.id)
                               .order_by(ObservationCheck.due_at)).first()
    observation.record_check(check, town.head1, {"temperature": Decimal("38.5"), "cough": True, "other": True,
                                                 "other_text": ITEMS[:100]}, "in_person", now=town.now)
    db.session.commit()
    return ["城关社区"]


ROBOT_KINDS = {
    "screening_reminder": raise_screening_reminder,
    "observation_fever": raise_observation_fever,
    "duty_gap": raise_duty_gap,
    "errand_urgent": raise_errand_urgent,
    "daily_report": raise_daily_report,
    "announcement": raise_announcement,
    "test": raise_test,
}


def _robot_rows(kind):
    db.session.expire_all()
    return db.session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "webhook",
                                                          OutboxMessage.kind == kind)).all()


@pytest.mark.parametrize("kind", sorted(ROBOT_KINDS))
def test_group_robots_read_places_times_and_numbers_never_a_person(town, make_client, clock, kind):
    town.now = clock.now
    expected = ROBOT_KINDS[kind](town, make_client)
    rows = _robot_rows(kind)
    assert len(rows) == 1
    text = f"{rows[0].subject}\n{rows[0].body}"
    assert personal_data_in(text) == [], text
    for public in expected:
        assert public in text, (public, text)


# --- every kind that reaches robots is tried above ----------------------------------------------------

def _literal(node):
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def robot_kinds_in(source: str) -> set[str]:
    """The kinds this source sends to group robots: notify(…, kind, …, group_text=…), and a
    Digest(kind, …) whose function adds an item with group_line=…."""
    kinds = set()
    tree = ast.parse(source)
    for func in [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]:
        calls = [n for n in ast.walk(func) if isinstance(n, ast.Call)]
        name = lambda c: c.func.id if isinstance(c.func, ast.Name) else getattr(c.func, "attr", None)  # noqa: E731
        has = lambda c, kw: any(k.arg == kw for k in c.keywords)  # noqa: E731
        for call in calls:
            if name(call) == "notify" and has(call, "group_text"):
                kind = call.args[1] if len(call.args) > 1 else next(k.value for k in call.keywords if k.arg == "kind")
                kinds.add(_literal(kind))
        if any(name(c) == "add" and has(c, "group_line") for c in calls):
            kinds |= {_literal(c.args[0]) for c in calls if name(c) == "Digest" and c.args}
    return kinds


def test_every_kind_that_reaches_group_robots_is_tried_here():
    found = set()
    for path in [*(ROOT / "gridapp").rglob("*.py"), *(ROOT / "jobs").rglob("*.py")]:
        found |= robot_kinds_in(path.read_text(encoding="utf-8"))
    assert found == set(ROBOT_KINDS)


def test_the_scan_sees_a_new_sender():
    source = ("def f(people, cp):\n"
              "    notify(people, 'new_kind', 'T', dedupe_key='k', places=[cp], group_text=g)\n"
              "def g(people):\n"
              "    d = Digest('new_digest', link='/', title=t, more=m)\n"
              "    d.add(people, 'line', places=[c], group_line=line)\n"
              "def h(people):\n"
              "    notify(people, 'to_people_only', 'T', dedupe_key='k')\n")
    assert robot_kinds_in(source) == {"new_kind", "new_digest"}


# --- end to end: through a real worker to a robot on loopback ---------------------------------------

def test_an_urgent_errand_reaches_a_real_robot_without_the_household(app, town, robot, clock):
    app.config["PUBLIC_URL"] = "https://grid.example.gov.cn/"
    town.robot.url = f"{robot.url}/cgi-bin/webhook/send?key=abc"
    db.session.commit()
    town.now = clock.now
    errand = _urgent_errand(town)
    sweep_errands(at=(town.now + timedelta(minutes=16)).isoformat())
    done = run_burst_worker(app)
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(robot.requests) == 1
    content = robot.requests[0]["json"]["text"]["content"]
    assert personal_data_in(content) == [], content
    assert content.splitlines()[0].startswith(f"紧急代办 #{errand.id}")
    assert "阳光小区" in content and str(errands.CATEGORY_LABELS["medicine"]) in content
    assert content.splitlines()[-1] == "https://grid.example.gov.cn/errands/"
