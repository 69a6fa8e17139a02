"""Opening a campaign (one visit per household, once), recording visits (the rules, one winner of two),
closing, the coverage and the sweep that adds households registered later."""
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from gridapp.audit.models import AuditEvent
from gridapp.core.rules import Conflict, RuleError
from gridapp.extensions import db
from gridapp.screening import services
from gridapp.screening.models import ScreeningCampaign, ScreeningVisit
from gridapp.timeutil import town_today
from tests.factories import make_household
from tests.screening.helpers import NOW_TEXT, open_campaign, record, visit_of


@pytest.fixture
def now(clock):
    return clock.town(NOW_TEXT)


def visits(campaign) -> int:
    return db.session.scalar(select(func.count(ScreeningVisit.id)).where(ScreeningVisit.campaign_id == campaign.id))


def test_a_town_wide_campaign_makes_one_visit_per_household(world, now):
    campaign = open_campaign(world.leader)
    assert visits(campaign) == 4
    assert services.add_visits(campaign.id) == 0  # again: nothing new
    assert visits(campaign) == 4
    (event,) = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "screening_opened")).all()
    assert event.actor_name == "leader" and "households: 4" in event.summary


def test_a_campaign_over_chosen_places(world, now):
    campaign = open_campaign(world.leader, town_wide=False, places=[f"grid-{world.g2.id}", f"community-{world.c2.id}"])
    assert {v.household_id for v in db.session.scalars(select(ScreeningVisit))} == {world.h3.id, world.h4.id}
    assert campaign.community_id is None  # two communities: the town's


def test_a_secretary_opens_one_for_her_community_only(world, now):
    campaign = open_campaign(world.sec1, town_wide=False, places=[f"grid-{world.g1.id}"])
    assert campaign.community_id == world.c1.id
    assert {v.household_id for v in db.session.scalars(select(ScreeningVisit))} == {world.h1.id, world.h2.id}
    for values, field in (({"town_wide": True}, "places"), ({"places": [f"grid-{world.g3.id}"]}, "places"),
                          ({"places": []}, "places")):
        with pytest.raises(RuleError) as err:
            open_campaign(world.sec1, **{"town_wide": False, **values}, commit=False)
        assert err.value.field == field
        db.session.rollback()


@pytest.mark.parametrize("starts, ends, field", [
    (-8, 3, "starts_on"), (0, -1, "ends_on"), (-3, -1, "ends_on"), (0, 60, "ends_on")])
def test_the_period_is_checked(world, now, starts, ends, field):
    today = town_today()
    with pytest.raises(RuleError) as err:
        open_campaign(world.leader, starts_on=today + timedelta(days=starts), ends_on=today + timedelta(days=ends),
                      commit=False)
    assert err.value.field == field


def test_recording_a_visit(world, now):
    campaign = open_campaign(world.leader)
    v = record(visit_of(campaign, world.h1), world.head1, "seen", present=2, notes="老人独居，已测体温",
               item_thermometer=True, item_mask=True)
    v = visit_of(campaign, world.h1)
    assert (v.status, v.attempts, v.present, v.recorded_by_id, v.visited_at) == ("seen", 1, 2, world.head1.id, now)
    assert v.items_handed == ["thermometer", "mask"] and v.first_attempt_at == now
    (event,) = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "screening_visit_recorded")).all()
    assert "status: pending → seen" in event.summary and "notes: changed" in event.summary
    assert "老人" not in event.summary and "张三" not in event.object_name


def test_nobody_home_then_visited_again(world, now, clock):
    campaign = open_campaign(world.leader)
    record(visit_of(campaign, world.h1), world.gm1, "nobody_home", revisit_on=town_today() + timedelta(days=1))
    v = visit_of(campaign, world.h1)
    assert (v.status, v.revisit_on, v.present) == ("nobody_home", town_today() + timedelta(days=1), None)
    assert services.campaign_counts(campaign).to_do == 4  # nobody home is not done
    later = clock.advance(timedelta(days=1))
    record(v, world.head1, "returnees", present=4, returnees=2)
    v = visit_of(campaign, world.h1)
    assert (v.status, v.attempts, v.returnees, v.revisit_on) == ("returnees", 2, 2, None)
    assert v.first_attempt_at == now and v.visited_at == later
    with pytest.raises(Conflict):  # done: not recorded again
        record(v, world.head1, "seen")


@pytest.mark.parametrize("values, field", [
    ({"result": "maybe"}, "result"),
    ({"result": "seen", "present": None}, "present"),
    ({"result": "seen", "present": 51}, "present"),
    ({"result": "returnees", "present": 2, "returnees": 0}, "returnees"),
    ({"result": "returnees", "present": 2, "returnees": 3}, "returnees"),
    ({"result": "nobody_home", "revisit_on": None}, "revisit_on"),
    ({"result": "nobody_home", "revisit_on": "yesterday"}, "revisit_on"),
    ({"result": "seen", "present": 2, "visited_at": "tomorrow"}, "visited_at"),
    ({"result": "seen", "present": 2, "visited_at": "before"}, "visited_at"),
])
def test_a_visit_is_checked(world, now, values, field):
    campaign = open_campaign(world.leader)
    dates = {"yesterday": town_today() - timedelta(days=1), "tomorrow": now + timedelta(days=1),
             "before": now - timedelta(days=1)}
    values = {k: dates.get(v, v) if isinstance(v, str) and k != "result" else v for k, v in values.items()}
    with pytest.raises(RuleError) as err:
        services.record_visit(visit_of(campaign, world.h1), world.head1, values, None)
    assert err.value.field == field


def test_what_the_campaign_does_not_record_is_not_kept(world, now):
    campaign = open_campaign(world.leader, record_items=False, record_present=False)
    record(visit_of(campaign, world.h1), world.head1, "seen", present=None, item_mask=True)
    v = visit_of(campaign, world.h1)
    assert v.present is None and v.items_handed == []


def test_someone_else_recorded_meanwhile(world, now):
    """The form carries the number of visits it was drawn from: a visit recorded since wins."""
    campaign = open_campaign(world.leader)
    v = visit_of(campaign, world.h1)
    record(v, world.gm1, "nobody_home")
    v = visit_of(campaign, world.h1)
    with pytest.raises(Conflict) as err:
        services.record_visit(v, world.head1, {"result": "seen", "present": 2}, seen_attempts=0)
    assert "Gridder1" in str(err.value)


def test_two_people_record_the_same_household_at_once(app, world, now):
    campaign = open_campaign(world.leader)
    visit_id, users = visit_of(campaign, world.h1).id, [world.head1.id, world.gm1.id, world.sec1.id, world.admin.id]
    db.session.commit()
    barrier, outcomes = threading.Barrier(len(users)), []

    def run(user_id):
        from gridapp.auth.models import User
        from gridapp.timeutil import pin_clock

        with app.app_context():
            pin_clock(now)
            try:
                visit = db.session.get(ScreeningVisit, visit_id)
                user = db.session.get(User, user_id)
                db.session.commit()  # SQLite's write lock free while the others load theirs
                barrier.wait()
                services.record_visit(visit, user, {"result": "seen", "present": 2}, seen_attempts=0)
                db.session.commit()
                outcomes.append("won")
            except Conflict as exc:
                db.session.rollback()
                outcomes.append(str(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert outcomes.count("won") == 1, outcomes
    losers = [o for o in outcomes if o != "won"]
    v = visit_of(campaign, world.h1)
    assert v.attempts == 1 and len(losers) == 3
    assert all(v.recorded_by.display_name in o for o in losers), losers


def test_a_closed_campaign_records_nothing(world, now):
    campaign = open_campaign(world.leader)
    record(visit_of(campaign, world.h1), world.head1, "seen")
    with pytest.raises(RuleError) as err:
        services.close_campaign(campaign, world.leader, "")
    assert err.value.field == "reason" and "3" in str(err.value)
    db.session.rollback()
    counts = services.close_campaign(campaign, world.leader, "第二轮接续排查")
    db.session.commit()
    assert counts.to_do == 3
    campaign = db.session.get(ScreeningCampaign, campaign.id)
    assert (campaign.status, campaign.closed_by_id) == ("closed", world.leader.id)
    assert campaign.close_reason == "第二轮接续排查"
    with pytest.raises(Conflict) as err:
        record(visit_of(campaign, world.h2), world.head1, "seen")
    assert "结束" in str(err.value)
    db.session.rollback()
    with pytest.raises(Conflict):
        services.close_campaign(campaign, world.leader, "again")


def test_closing_when_every_household_is_visited_needs_no_reason(world, now):
    campaign = open_campaign(world.sec1, town_wide=False, places=[f"grid-{world.g1.id}"])
    record(visit_of(campaign, world.h1), world.head1, "seen")
    record(visit_of(campaign, world.h2), world.head1, "refused", present=None)
    counts = services.campaign_counts(campaign)
    assert counts.done and counts.refused == 1 and counts.visited == 1
    services.close_campaign(campaign, world.sec1)
    db.session.commit()


def test_households_registered_later_are_added_while_it_runs(world, now, clock):
    campaign = open_campaign(world.sec1, town_wide=False, places=[f"community-{world.c1.id}"])
    make_household(world.k1, 103)
    make_household(world.k3, 303)  # another community: not in it
    db.session.commit()
    assert services.sweep()["added"] == 1
    assert services.sweep()["added"] == 0
    assert visits(campaign) == 4
    clock.advance(timedelta(days=7))  # after the last day: no more
    make_household(world.k1, 104)
    db.session.commit()
    assert services.sweep()["added"] == 0


def test_coverage_by_community_grid_and_compound(world, now):
    campaign = open_campaign(world.leader)
    record(visit_of(campaign, world.h1), world.head1, "returnees", present=3, returnees=2)
    record(visit_of(campaign, world.h2), world.head1, "nobody_home")
    record(visit_of(campaign, world.h4), world.gm3, "refused", present=None)
    cov = services.coverage(campaign, world.leader)
    assert (cov.total.total, cov.total.visited, cov.total.pending, cov.total.revisit, cov.total.refused,
            cov.total.returnees) == (4, 1, 1, 1, 1, 2)
    assert not cov.total.done
    c1 = next(c for c in cov.communities if c.id == world.c1.id)
    assert (c1.counts.total, c1.counts.to_do) == (3, 2)
    assert [g.id for g in c1.children] == [world.g1.id, world.g2.id]
    assert [(k.id, k.counts.total) for k in c1.children[0].children] == [(world.k1.id, 2)]
    # A building head sees his compound; a grid member his grid.
    assert services.coverage(campaign, world.head1).total.total == 2
    assert services.coverage(campaign, world.gm3).total.total == 1
    narrowed = services.coverage(campaign, world.leader, services.Narrowing(grid_id=world.g2.id))
    assert narrowed.total.total == 1
    to_visit = db.session.scalars(services.to_visit_query(campaign, world.leader)).all()
    assert [v.household_id for v in to_visit] == [world.h3.id, world.h2.id]  # never visited first
    assert db.session.scalars(services.to_visit_query(campaign, world.sup)).all() == []  # no names for him


def test_my_visits_lists_not_visited_compound_by_compound_then_revisits_due_first(world, now):
    h5 = make_household(world.k1, 105)
    h6 = make_household(world.k1, 106)
    db.session.commit()
    campaign = open_campaign(world.leader)
    record(visit_of(campaign, h5), world.head1, "nobody_home", revisit_on=town_today() + timedelta(days=3))
    record(visit_of(campaign, h6), world.head1, "nobody_home", revisit_on=town_today())
    record(visit_of(campaign, world.h2), world.head1, "seen")
    mine = db.session.scalars(services.to_visit_query(campaign, world.head1, own=True)).all()
    assert [v.household_id for v in mine] == [world.h1.id, h6.id, h5.id]
    assert services.own_counts(campaign, world.head1).total == 4


def test_the_coverage_takes_the_same_statements_whatever_the_number_of_households(world, now, count_queries):
    def measure():
        campaign = db.session.scalars(select(ScreeningCampaign)).one()
        db.session.expire_all()
        with count_queries() as q:
            services.coverage(campaign, world.leader)
            db.session.scalars(services.to_visit_query(campaign, world.leader).limit(25)).all()
            services.counts_by_campaign([campaign.id], world.leader)
        return q["n"]

    open_campaign(world.leader)
    small = measure()
    for i in range(60):
        make_household(world.k2, 500 + i)
    db.session.commit()
    services.sweep()
    db.session.commit()
    assert measure() == small

