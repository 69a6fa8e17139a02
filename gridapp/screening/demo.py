"""Demo screening for `flask seed-demo`: the field report's 地毯式排摸 of returnees, as a town-wide
campaign half done (each compound's first households visited over the last three days, by its own
building head or grid member: most all seen with the 五个一 handed over, some returnees found and
registered, some nobody home to visit again, a few refusals), and a community's earlier campaign
finished and closed. `keep_running()` keeps the town's campaign running whatever day the demo is
opened (the launcher's liven())."""
import random
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import func, select

from gridapp.auth.models import RoleAssignment, User
from gridapp.extensions import db
from gridapp.grid.models import Community, Compound, Grid, Household
from gridapp.people import services as people
from gridapp.screening import services
from gridapp.screening.models import ITEMS, ScreeningCampaign, ScreeningVisit
from gridapp.timeutil import town_today, town_zone, utcnow

TOWN_CAMPAIGN = "城关镇外地来（返）人员入户排查"
EARLIER_CAMPAIGN = "北街社区春节返乡人员排查"
DAYS_BEFORE, DAYS_AFTER = 3, 3  # the town's campaign runs from 3 days ago to 3 days ahead
CAME_FROM = ["武汉", "西安", "兰州", "成都", "广州", "深圳", "天水", "陇南市武都区", "汉中", "重庆"]
TRAVEL = ["train", "coach", "car", "plane"]
NOTES = ["", "", "", "", "家中有老人，已提醒勤通风。", "已告知不串门、不聚集。", "住户在外务工，电话联系。",
         "已留联系电话，体温正常。"]


def seed_screening(now=None) -> dict:
    """Idempotent: does nothing once a campaign exists."""
    if db.session.scalar(select(func.count(ScreeningCampaign.id))):
        return {"skipped": True}
    leader = db.session.scalars(select(User).where(User.username == "leader")).first()
    if leader is None:
        return {"campaigns": 0}
    now = now or utcnow()
    rng = random.Random(2020)
    today = town_today(now)
    earlier = _earlier_campaign(now, rng)
    opened = now - timedelta(days=DAYS_BEFORE)
    campaign = services.open_campaign(leader, {
        "name": TOWN_CAMPAIGN, "starts_on": today - timedelta(days=DAYS_BEFORE),
        "ends_on": today + timedelta(days=DAYS_AFTER), "town_wide": True, "record_items": True,
        "record_present": True}, now=opened)
    visited = _visit_half(campaign, now, rng)
    db.session.flush()
    return {"campaigns": 2 if earlier else 1, "visited": visited}


def _recorders() -> tuple[dict, dict, dict]:
    """The building head of each compound, the grid member of each grid, the secretary of each community."""
    out = ({}, {}, {})
    for role, scope_id, user in db.session.execute(
            select(RoleAssignment.role, RoleAssignment.scope_id, User).join(User, User.id == RoleAssignment.user_id)
            .where(RoleAssignment.role.in_(("building_head", "grid_member", "secretary")), User.active.is_(True))
            .order_by(User.id)):
        index = ("building_head", "grid_member", "secretary").index(role)
        out[index].setdefault(scope_id, user)
    return out


def _visits(campaign_id: int, community_id: int | None = None):
    stmt = (select(ScreeningVisit, Household, Compound.grid_id, Grid.community_id)
            .join(Household, Household.id == ScreeningVisit.household_id)
            .join(Compound, Compound.id == Household.compound_id).join(Grid, Grid.id == Compound.grid_id)
            .where(ScreeningVisit.campaign_id == campaign_id)
            .order_by(Compound.id, Household.building, Household.unit, Household.room))
    if community_id is not None:
        stmt = stmt.where(Grid.community_id == community_id)
    return db.session.execute(stmt).all()


def _at(day, rng) -> datetime:
    return datetime.combine(day, time(rng.randint(9, 17), rng.choice((0, 10, 20, 30, 40, 50))),
                            tzinfo=town_zone()).astimezone(UTC)


def _visit_half(campaign, now, rng) -> int:
    heads, members, secretaries = _recorders()
    by_compound: dict[int, list] = {}
    for visit, household, grid_id, community_id in _visits(campaign.id):
        by_compound.setdefault(household.compound_id, []).append((visit, household, grid_id, community_id))
    done = 0
    for rows in by_compound.values():
        for visit, household, grid_id, community_id in rows[:len(rows) // 2]:
            recorder = (heads.get(household.compound_id) or members.get(grid_id) or secretaries.get(community_id))
            if recorder is None:
                continue
            day = campaign.starts_on + timedelta(days=rng.randint(0, DAYS_BEFORE))
            when = min(_at(day, rng), now - timedelta(minutes=30))
            _record(visit, household, recorder, when, rng, campaign.ends_on)
            done += 1
    return done


def _record(visit, household, recorder, when, rng, last_day, results=None) -> None:
    roll = rng.random()
    result = results or ("seen" if roll < 0.78 else "returnees" if roll < 0.86 else "nobody_home" if roll < 0.95
                         else "refused")
    present = rng.randint(1, 5)
    values = {"result": result, "visited_at": when, "present": present, "notes": rng.choice(NOTES),
              **{f"item_{i}": rng.random() > 0.04 for i in ITEMS}}
    if result == "returnees":
        values["returnees"] = 1 if present < 3 else rng.randint(1, 2)
    elif result == "nobody_home":
        values["revisit_on"] = min(town_today(when) + timedelta(days=rng.randint(1, 2)), last_day)
        values["notes"] = rng.choice(["", "敲门无人应答，已在门上贴通知。", "邻居说外出走亲戚了。"])
    elif result == "refused":
        values["notes"] = "不愿配合登记，已报社区书记。"
    services.record_visit(visit, recorder, values, visit.attempts, now=when)
    if result == "returnees":
        for n in range(values["returnees"]):
            people.add_person(household, {
                "name": household.head_name[0] + rng.choice("明华军丽静伟强芳") + rng.choice(("", "儿")),
                "relation": "child" if n == 0 else "relative", "sex": rng.choice("mf"),
                "birth_year": rng.randint(1975, 2005), "phone": "", "from_outside": True,
                "came_from": rng.choice(CAME_FROM),
                "arrived_on": town_today(when) - timedelta(days=rng.randint(0, 10)),
                "travel_mode": rng.choice(TRAVEL), "notes": "居家留观14天"}, recorder, now=when)


def _earlier_campaign(now, rng) -> ScreeningCampaign | None:
    """北街社区's campaign of the week before last: every household visited, then closed."""
    community = db.session.scalars(select(Community).where(Community.name == "北街社区")).first()
    secretary = db.session.scalars(select(User).join(RoleAssignment, RoleAssignment.user_id == User.id).where(
        RoleAssignment.role == "secretary", RoleAssignment.scope_id == getattr(community, "id", -1))).first()
    if community is None or secretary is None:
        return None
    opened = now - timedelta(days=12)
    first = town_today(opened)
    campaign = services.open_campaign(secretary, {
        "name": EARLIER_CAMPAIGN, "starts_on": first, "ends_on": first + timedelta(days=4), "town_wide": False,
        "places": [f"community-{community.id}"], "record_items": True, "record_present": True}, now=opened)
    heads, members, _secretaries = _recorders()
    for visit, household, grid_id, _community_id in _visits(campaign.id, community.id):
        recorder = heads.get(household.compound_id) or members.get(grid_id) or secretary
        when = _at(first + timedelta(days=rng.randint(0, 3)), rng)
        _record(visit, household, recorder, when, rng, campaign.ends_on, results="seen")
    services.close_campaign(campaign, secretary, now=opened + timedelta(days=5))
    return campaign


def keep_running(now=None) -> dict:
    """The demo town's campaign runs today whatever day it is: once its last day is near, its period
    moves on (from three days ago to three days ahead), its visits as they were."""
    now = now or utcnow()
    campaign = db.session.scalars(select(ScreeningCampaign).where(ScreeningCampaign.name == TOWN_CAMPAIGN,
                                                                  ScreeningCampaign.status == "open")).first()
    if campaign is None:
        return {}
    today = town_today(now)
    if campaign.starts_on <= today and campaign.ends_on >= today + timedelta(days=1):
        return {"moved": False}
    campaign.starts_on = min(campaign.starts_on, today - timedelta(days=DAYS_BEFORE))
    campaign.ends_on = today + timedelta(days=DAYS_AFTER)
    return {"moved": True, "added": services.add_visits(campaign.id, now=now)}
