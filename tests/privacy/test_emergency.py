"""Closing the emergency: only the administrator and the town leader, after a confirmation and the
password typed again; recorded (audit, purge_runs), its purge enqueued and run by a real worker,
households with an open errand keeping their phone until it closes, and the report on the page."""
from urllib.parse import quote

import pytest
from rq.job import Job
from sqlalchemy import select

from gridapp.audit.models import AuditEvent
from gridapp.errands import services as errands
from gridapp.extensions import db
from gridapp.grid.models import Household
from gridapp.jobs_runtime import redis_connection
from gridapp.people.models import Person
from gridapp.privacy import emergency, retention
from gridapp.privacy.models import PurgeRun
from jobs.privacy import purge_personal_data
from tests.admin.helpers import logged_in
from tests.errands.factories import make_errand
from tests.privacy.retention_factories import D, T
from tests.workers import run_burst_worker

CLOSE = "/privacy/emergency/close"


def fresh(household) -> Household:
    db.session.expire_all()
    return db.session.get(Household, household.id)


def flag_households(world):
    """h1 housebound with an open errand; h2 living alone with notes; h3 under observation; h4 only a phone."""
    world.h2.living_alone, world.h2.notes = True, "独居老人，有糖尿病"
    world.h3.observation_until = T.date() + 7 * D
    db.session.commit()
    return make_errand(world, household=world.h1)


@pytest.mark.parametrize("username", ["secretary1", "gridder1", "head1", "vol1", "sup1", "pm1", "nobody"])
def test_only_the_administrator_and_the_town_leader_may_close_it(app, world, make_client, username):
    c = logged_in(make_client, username)
    assert c.get("/privacy/emergency").status_code == 403
    assert c.get(CLOSE).status_code == 403
    assert c.post(CLOSE, {"confirm": "y"}).status_code == 403
    assert db.session.scalars(select(PurgeRun)).all() == []
    assert fresh(world.h1).housebound and fresh(world.h1).phone


def test_the_password_is_asked_again_and_the_box_must_be_ticked(app, world, make_client):
    flag_households(world)
    leader = logged_in(make_client, "leader", confirmed=False)
    page = leader.get("/privacy/emergency")
    assert page.status_code == 200 and f'href="{CLOSE}"' in page.get_data(as_text=True)
    resp = leader.get(CLOSE)
    assert resp.status_code == 303 and resp.headers["Location"] == f"/reauth?next={quote(CLOSE, safe='/')}"
    resp = leader.post(CLOSE, {"confirm": "y"}, headers={"Referer": f"http://localhost{CLOSE}"})
    assert resp.status_code == 303 and resp.headers["Location"].startswith("/reauth")
    assert db.session.scalars(select(PurgeRun)).all() == []

    leader.confirm_password()
    form = leader.get(CLOSE)
    html = form.get_data(as_text=True)
    assert form.status_code == 200 and 'name="confirm"' in html
    assert "Health flags of 3 households" in html and "for an errand still open: 1 households" in html
    unticked = leader.post(CLOSE, {})
    assert unticked.status_code == 422 and "Tick the box to confirm." in unticked.get_data(as_text=True)
    assert db.session.scalars(select(PurgeRun)).all() == []
    assert fresh(world.h1).housebound


@pytest.mark.parametrize("username", ["admin", "leader"])
def test_closing_records_who_enqueues_the_purge_and_shows_its_report(app, world, make_client, clock, username):
    clock.set(T - D)
    open_errand = flag_households(world)
    db.session.add_all([
        Person(household_id=world.h2.id, name="李小四", relation="child", phone="13711112222", from_outside=True,
               came_from="武汉市", arrived_on=(T - 3 * D).date(), travel_mode="train"),
        Person(household_id=world.h3.id, name="王小五", relation="child"),  # nothing to erase
    ])
    db.session.commit()
    clock.set(T)
    c = logged_in(make_client, username)
    resp = c.post(CLOSE, {"confirm": "y"})
    assert resp.status_code == 303 and resp.headers["Location"] == "/privacy/emergency"

    run = db.session.scalars(select(PurgeRun)).one()
    actor = world.admin if username == "admin" else world.leader
    assert (run.trigger, run.requested_by_id, run.requested_at, run.started_at) == ("emergency", actor.id, T, None)
    audit = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "emergency_closed")).one()
    assert (audit.actor_id, audit.object_type, audit.object_id) == (actor.id, "PurgeRun", run.id)
    job = Job.fetch(f"purge-emergency-{run.id}", connection=redis_connection())
    assert job.func_name == "jobs.privacy.purge_after_emergency" and job.args == (run.id,)
    waiting = c.get("/privacy/emergency").get_data(as_text=True)
    assert 'id="emergency-waiting"' in waiting and 'hx-trigger="every 3s"' in waiting

    done = run_burst_worker(app)
    assert done.returncode == 0, done.stderr
    job.refresh()
    assert job.get_status() == "finished", done.stderr[-2000:]
    assert job.return_value() == {"health_flags": 3, "phones": 3, "people": 1, "phones_kept": 1}
    returnee = db.session.scalars(select(Person).where(Person.name == "李小四")).one()
    db.session.refresh(returnee)
    assert (returnee.phone, returnee.from_outside, returnee.came_from, returnee.arrived_on, returnee.travel_mode) == \
        ("", False, "", None, "")

    h1, h2, h3, h4 = (fresh(h) for h in (world.h1, world.h2, world.h3, world.h4))
    assert not (h1.housebound or h2.living_alone) and h3.observation_until is None
    assert h1.phone == "13900000101"  # its errand is still open
    assert (h2.phone, h2.notes, h3.phone, h4.phone) == ("", "", "", "")
    assert h4.head_name == "赵六" and h4.room == "301"  # the household itself stays

    report = c.get("/privacy/emergency").get_data(as_text=True)
    assert "Households whose health flags were cleared: 3" in report
    assert "Households whose phone and notes were cleared: 3" in report
    assert "People of households whose phone, notes and journey were cleared: 1" in report
    assert "for an errand still open: 1" in report and 'hx-trigger="every 3s"' not in report
    assert f"{actor.display_name} closed the emergency at 2026-06-01 10:00" in report

    # Its errand closes; the next nightly purge clears h1's phone too, and only then.
    assert retention.nightly(T + D).counts["phones"] == 0
    clock.set(T + 2 * D)
    errands.cancel(open_errand, world.head1, "不需要了", now=T + 2 * D)
    db.session.commit()
    assert retention.nightly(T + 3 * D).counts["phones"] == 1
    assert fresh(world.h1).phone == ""
    assert retention.nightly(T + 4 * D).counts["phones"] == 0


def test_the_purge_runs_once_however_often_it_is_asked(app, world, clock):
    clock.set(T - D)
    flag_households(world)
    clock.set(T)
    run = emergency.close(world.leader)
    db.session.commit()
    assert emergency.run_purge(run.id) == {"health_flags": 3, "phones": 3, "people": 0, "phones_kept": 1}
    assert emergency.run_purge(run.id) is None
    db.session.expire_all()
    assert db.session.get(PurgeRun, run.id).counts["health_flags"] == 3
    # A household registered again afterwards (the epidemic came back) keeps what is entered anew.
    world.h2.phone, world.h2.housebound = "13900000999", True
    db.session.commit()
    assert emergency.run_purge(run.id) is None
    assert retention.nightly(T + D).counts["phones"] == 0 and fresh(world.h2).phone == "13900000999"


def test_a_closing_the_queue_lost_is_run_by_the_nightly_job(app, world, clock):
    clock.set(T - D)
    flag_households(world)
    clock.set(T)
    run = emergency.close(world.admin)
    db.session.commit()  # ...and Redis was away: no job
    assert emergency.waiting(T) == [run.id]
    purge_personal_data(T.isoformat())
    db.session.expire_all()
    assert db.session.get(PurgeRun, run.id).finished_at is not None
    assert not fresh(world.h1).housebound and emergency.waiting(T) == []
