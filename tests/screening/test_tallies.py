"""The figures kept per compound (screening_tallies) are always what counting the visits would give:
after any mix of campaigns opened, households added by the sweep and visits recorded and recorded
again; with many people recording in one compound at once; after visits written in bulk and counted
afresh; and as the migration first fills them from the visits already there."""
import random
from collections import Counter, defaultdict
from datetime import timedelta

import pytest
from sqlalchemy import delete, insert, select, text, update

from gridapp.core.rules import Conflict
from gridapp.extensions import db
from gridapp.grid.models import Household
from gridapp.screening import services
from gridapp.screening.models import TO_DO, ScreeningCampaign, ScreeningTally, ScreeningVisit
from gridapp.timeutil import town_today
from tests.concurrency import at_once
from tests.core.test_migrations import empty_database  # noqa: F401 (a fixture)
from tests.factories import make_household
from tests.screening.helpers import NOW_TEXT, open_campaign

RESULTS = ("seen", "returnees", "nobody_home", "refused")


@pytest.fixture
def now(clock):
    return clock.town(NOW_TEXT)


def kept() -> dict:
    """The tallies as stored, compounds with no visit left out."""
    return {(t.campaign_id, t.compound_id): (t.total, t.visited, t.pending, t.revisit, t.refused, t.returnees)
            for t in db.session.scalars(select(ScreeningTally)) if t.total}


def counted() -> dict:
    """The same figures worked out here, visit by visit."""
    figures = defaultdict(Counter)
    for v, compound_id in db.session.execute(select(ScreeningVisit, Household.compound_id)
                                             .join(Household, Household.id == ScreeningVisit.household_id)):
        f = figures[(v.campaign_id, compound_id)]
        f["total"] += 1
        f["visited"] += v.status in ("seen", "returnees")
        f["pending"] += v.status == "pending"
        f["revisit"] += v.status == "nobody_home"
        f["refused"] += v.status == "refused"
        f["returnees"] += v.returnees
    return {k: (f["total"], f["visited"], f["pending"], f["revisit"], f["refused"], f["returnees"])
            for k, f in figures.items()}


def agree():
    db.session.expire_all()
    assert kept() == counted()


def values(result: str, rng: random.Random) -> dict:
    v = {"result": result, "present": 4}
    if result == "returnees":
        v["returnees"] = rng.randint(1, 3)
    if result == "nobody_home":
        v["revisit_on"] = town_today() + timedelta(days=1)
    return v


def test_the_tallies_follow_every_write(world, now):
    rng = random.Random(20)
    for k, rooms in ((world.k1, range(110, 130)), (world.k2, range(210, 225)), (world.k3, range(310, 320))):
        for room in rooms:
            make_household(k, room)
    db.session.commit()
    town = open_campaign(world.leader, name="全镇排查")
    ours = open_campaign(world.sec1, town_wide=False, places=[f"grid-{world.g1.id}"], name="第一网格排查")
    agree()
    assert set(kept()) == {(town.id, k.id) for k in (world.k1, world.k2, world.k3)} | {(ours.id, world.k1.id)}
    recorded = 0
    for step in range(70):
        if step % 15 == 7:  # households registered since: the sweep adds their visits
            make_household(rng.choice((world.k1, world.k2, world.k3)), 400 + step)
            db.session.flush()
            assert services.add_visits(None, now=now) >= 1
        else:
            to_do = db.session.scalars(select(ScreeningVisit).where(ScreeningVisit.status.in_(TO_DO))
                                       .order_by(ScreeningVisit.id)).all()
            visit = rng.choice(to_do)
            services.record_visit(visit, world.admin, values(rng.choice(RESULTS), rng), None, now=now)
            recorded += 1
        db.session.commit() if step % 2 else db.session.flush()
        agree()
    db.session.commit()
    figures = counted()
    assert recorded > 50 and {s for s, *_ in db.session.execute(select(ScreeningVisit.status))} == {*RESULTS, "pending"}
    # What the pages read comes from them, over what each viewer sees.
    assert services.campaign_counts(town).total == sum(f[0] for (c, _k), f in figures.items() if c == town.id)
    leader = services.coverage(town, world.leader)
    assert [(r.id, r.counts.total, r.counts.visited, r.counts.returnees) for r in leader.communities] == [
        (c.id, *(sum(f[i] for (cid, k), f in figures.items() if cid == town.id and k in ks) for i in (0, 1, 5)))
        for c, ks in ((world.c1, (world.k1.id, world.k2.id)), (world.c2, (world.k3.id,)))]
    head = services.own_counts(town, world.head1)
    assert (head.total, head.visited, head.pending, head.revisit, head.refused, head.returnees) == \
        figures[(town.id, world.k1.id)]
    by_campaign = services.counts_by_campaign([town.id, ours.id], world.gm1)
    assert by_campaign[ours.id].total == figures[(ours.id, world.k1.id)][0]


def test_a_failed_record_changes_no_tally(world, now):
    campaign = open_campaign(world.leader)
    visit = db.session.scalars(select(ScreeningVisit).where(ScreeningVisit.household_id == world.h1.id)).one()
    services.record_visit(visit, world.gm1, {"result": "nobody_home", "present": 2,
                                             "revisit_on": town_today() + timedelta(days=1)}, None)
    db.session.commit()
    before = kept()
    with pytest.raises(Conflict):  # drawn before that visit: someone else recorded it meanwhile
        services.record_visit(visit, world.head1, {"result": "seen", "present": 2}, seen_attempts=0)
    db.session.rollback()
    assert kept() == before == counted()
    assert services.campaign_counts(campaign).revisit == 1


def test_many_people_recording_in_one_compound_at_once(app, world, now):
    for room in range(120, 132):
        make_household(world.k1, room)
    db.session.commit()
    open_campaign(world.leader)
    ids = db.session.scalars(select(ScreeningVisit.id).join(Household, Household.id == ScreeningVisit.household_id)
                             .where(Household.compound_id == world.k1.id).order_by(ScreeningVisit.id)).all()
    users = [world.admin.id, world.leader.id, world.sec1.id, world.gm1.id, world.head1.id]
    db.session.commit()
    work_list = list(enumerate(ids))

    def record_one():
        from gridapp.auth.models import User
        from gridapp.timeutil import pin_clock

        pin_clock(now)
        i, visit_id = work_list.pop()
        visit = db.session.get(ScreeningVisit, visit_id)
        user = db.session.get(User, users[i % len(users)])
        visit.campaign, visit.status, visit.returnees  # noqa: B018 (loaded before writing)
        db.session.commit()  # SQLite's write lock free while the others load theirs
        services.record_visit(visit, user, values(RESULTS[i % 4], random.Random(i)), None, now=now)
        db.session.commit()

    at_once(app, record_one, n=len(ids))
    assert len(ids) == 14
    agree()
    k1 = kept()[(db.session.scalar(select(ScreeningCampaign.id)), world.k1.id)]
    assert k1[0] == 14 and k1[2] == 0  # every one recorded, none left pending


def test_visits_written_in_bulk_are_counted_afresh(world, now):
    """As the benchmark's dataset writes them: round the services, then recount()."""
    campaign = open_campaign(world.leader)
    db.session.execute(update(ScreeningVisit).where(ScreeningVisit.household_id.in_([world.h1.id, world.h3.id]))
                       .values(status="returnees", returnees=2, attempts=1))
    assert kept() != counted()
    services.recount(campaign.id)
    agree()
    # A campaign whose tallies are missing (counted before they existed) is counted afresh at its next visit.
    db.session.execute(delete(ScreeningTally))
    services.record_visit(db.session.scalars(select(ScreeningVisit).where(ScreeningVisit.household_id == world.h2.id))
                          .one(), world.admin, {"result": "refused"}, None)
    agree()
    assert services.campaign_counts(campaign).refused == 1


def test_the_migration_counts_the_visits_already_there(empty_database):  # noqa: F811
    from flask_migrate import upgrade

    from gridapp import create_app
    from tests.conftest import test_config
    from tests.factories import build_world

    app = create_app(test_config(SQLALCHEMY_DATABASE_URI=empty_database))
    with app.app_context():
        upgrade(revision="0020_followup_called")
        w = build_world()
        campaign_id = db.session.execute(insert(ScreeningCampaign).values(
            name="旧排查", starts_on=town_today(), ends_on=town_today(), town_wide=True, status="open")
            .returning(ScreeningCampaign.id)).scalar_one()
        rows = [(w.h1, "seen", 0), (w.h2, "returnees", 2), (w.h3, "nobody_home", 0), (w.h4, "pending", 0)]
        db.session.execute(insert(ScreeningVisit), [
            {"campaign_id": campaign_id, "household_id": h.id, "status": s, "returnees": r, "attempts": 0,
             "notes": ""} for h, s, r in rows])
        db.session.commit()
        upgrade()
        agree()
        assert kept()[(campaign_id, w.k1.id)] == (2, 2, 0, 0, 0, 2)
        db.session.execute(text("DELETE FROM screening_visits"))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
