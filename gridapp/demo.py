"""Demo data: the town of 城关镇 from the field report (shared/docs/source-article.txt).

Three communities and one urban village, their grids and compounds, the property
companies 红嘴鸥, 远景 and 东升, a few work units, households, and one demo account per
role. Running it again changes nothing; --scale multiplies grids and households.
"""
import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, select

from gridapp.auth.models import User
from gridapp.auth.passwords import DEMO_PASSWORD
from gridapp.auth.services import assign_role, hash_password
from gridapp.disinfection.demo import seed_disinfection
from gridapp.duty import services as duty
from gridapp.duty.demo import keep_demo_on_duty, seed_duty
from gridapp.errands.demo import seed_errands
from gridapp.extensions import db
from gridapp.grid.models import Community, Compound, Grid, Household, PropertyCompany, Town, WorkUnit
from gridapp.observation.demo import liven_observation, seed_observation
from gridapp.people.demo import seed_people
from gridapp.people.models import Person
from gridapp.reports import services as reports
from gridapp.screening.demo import keep_running, seed_screening
from gridapp.supervision.demo import seed_supervision
from gridapp.timeutil import town_today, town_zone, utcnow

TOWN = "城关镇"
COMMUNITIES = [
    ("南街社区", "community"),
    ("北街社区", "community"),
    ("东城社区", "community"),
    ("王家坝城中村", "urban_village"),
]
PROPERTY_COMPANIES = [("红嘴鸥物业", "0939-5121001"), ("远景物业", "0939-5121002"), ("东升物业", "0939-5121003")]
WORK_UNITS = [("县市场监管局", "0939-5122001"), ("县人民医院", "0939-5122002"), ("县第一中学", "0939-5122003"),
              ("县农业农村局", "0939-5122004")]
COMPOUND_NAMES = ["阳光小区", "育才楼院", "金山花园", "滨河家属楼", "建设小区", "康乐楼院", "文化巷家属楼",
                  "东升嘉园", "平安小区", "幸福楼院", "梅园小区", "南苑家属楼", "盛世华庭", "翠湖小区",
                  "城南楼院", "人民路家属楼"]
STREETS = ["建设路", "育才路", "南街", "北街", "东关路", "滨河路", "文化巷", "人民路"]
SURNAMES = ("王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任"
            "沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红梅文建国志海燕波辉鹏宇欣怡晨浩然子涵"

HOUSEHOLDS_PER_COMPOUND = 20


def _get_or_create(model, defaults=None, **keys):
    obj = db.session.scalars(select(model).filter_by(**keys)).first()
    if obj is None:
        obj = model(**keys, **(defaults or {}))
        db.session.add(obj)
        db.session.flush()
    return obj


def person_name(rng: random.Random) -> str:
    """A name as the town's registers would hold it: a surname and one or two given characters."""
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def seed(scale: int = 1) -> dict:
    rng = random.Random(2020)
    town = _get_or_create(Town, name=TOWN)
    companies = [_get_or_create(PropertyCompany, name=n, defaults={"phone": p}) for n, p in PROPERTY_COMPANIES]
    units = [_get_or_create(WorkUnit, name=n, defaults={"phone": p}) for n, p in WORK_UNITS]
    communities = [_get_or_create(Community, town_id=town.id, name=n, defaults={"kind": k})
                   for n, k in COMMUNITIES]

    grids, compounds = [], []
    grids_per_community = 2 * scale
    for community in communities:
        for gi in range(grids_per_community):
            grid = _get_or_create(Grid, community_id=community.id, name=f"第{gi + 1}网格")
            grids.append(grid)
    for gi, grid in enumerate(grids):
        for k in range(2):
            n = gi * 2 + k
            base = COMPOUND_NAMES[n % len(COMPOUND_NAMES)]
            name = base if n < len(COMPOUND_NAMES) else f"{base}{n // len(COMPOUND_NAMES) + 1}期"
            # Most compounds have a property company; family blocks belong to a work unit;
            # a few have neither and the community looks after them.
            kind = n % 5
            defaults = {
                "address": f"{TOWN}{STREETS[n % len(STREETS)]}{n + 1}号",
                "entrance": ["北门", "南门", "东门", "西门"][n % 4],
                "property_company_id": companies[kind].id if kind < 3 else None,
                "work_unit_id": units[n % len(units)].id if kind == 3 else None,
            }
            compounds.append(_get_or_create(Compound, grid_id=grid.id, name=name, defaults=defaults))

    have_households = set(db.session.scalars(select(Household.compound_id).distinct()))
    rows = []
    for compound in compounds:
        if compound.id in have_households:
            continue
        for i in range(HOUSEHOLDS_PER_COMPOUND):
            building, unit, room = 1 + i // 8, 1 + (i // 4) % 2, 101 + (i % 4) + 100 * (i // 8)
            rows.append({
                "compound_id": compound.id, "building": str(building), "unit": str(unit), "room": str(room),
                "head_name": person_name(rng), "phone": f"13{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}",
                "housebound": rng.random() < 0.08, "living_alone": rng.random() < 0.1,
                "observation_until": None, "notes": "",
            })
    if rows:
        for chunk in range(0, len(rows), 2000):
            db.session.execute(insert(Household), rows[chunk:chunk + 2000])

    seed_people(rng)
    _seed_accounts(town, communities, grids, compounds, companies, units)
    db.session.commit()

    seed_supervision()

    seed_disinfection()

    seed_duty()

    seed_errands()
    seed_observation()
    seed_screening()
    db.session.commit()  # the feature demos above leave their rows to the caller
    return {
        "communities": len(communities),
        "grids": db.session.scalar(select(func.count(Grid.id))),
        "compounds": db.session.scalar(select(func.count(Compound.id))),
        "households": db.session.scalar(select(func.count(Household.id))),
        "people": db.session.scalar(select(func.count(Person.id))),
        "users": db.session.scalar(select(func.count(User.id))),
    }


def liven(now=None) -> dict:
    """Keep a demo town alive at whatever hour it is opened: the next 14 days of shifts exist,
    every demo volunteer holds a shift open for check-in now, the town's screening campaign runs
    today, and yesterday's daily reports are there to read. Does nothing without the demo's
    volunteers. Called by the launcher each time it starts on a database that holds the demo."""
    if db.session.scalar(select(func.count(User.id)).where(User.username == "vol1")) == 0:
        return {}
    now = now or utcnow()
    yesterday = town_today(now) - timedelta(days=1)
    cutoff = datetime.combine(yesterday, reports.report_time(), tzinfo=town_zone()).astimezone(UTC)
    result = {"shifts": duty.generate_shifts(now), "on_duty_now": keep_demo_on_duty(now),
              "observation": liven_observation(now), "screening": keep_running(now),
              "reports": len(reports.write_day(yesterday, cutoff))}
    db.session.commit()
    return result


def _seed_accounts(town, communities, grids, compounds, companies, units):
    password_hash = None
    rng = random.Random(7)

    def account(username, display_name, roles, **fields):
        nonlocal password_hash
        user = db.session.scalars(select(User).filter_by(username=username)).first()
        if user is None:
            if password_hash is None:
                password_hash = hash_password(DEMO_PASSWORD)
            user = User(username=username, display_name=display_name, password_hash=password_hash, **fields)
            db.session.add(user)
            db.session.flush()
        for role, place in roles:
            assign_role(None, user, role, getattr(place, "id", 0))
        return user

    account("admin", "系统管理员", [("admin", None)])
    account("leader", "包镇领导", [("town_leader", town)])
    for i, community in enumerate(communities, 1):
        account(f"secretary{i}", f"{community.name}书记", [("secretary", community)], phone=f"1380939000{i}")
    for i in range(1, 9):
        grid = grids[(i - 1) * len(grids) // 8]
        account(f"gridder{i}", f"网格员{person_name(rng)}", [("grid_member", grid)], phone=f"1380939010{i}")
    for i in range(1, 9):
        compound = compounds[(i - 1) * len(compounds) // 8]
        account(f"head{i}", f"楼院长{person_name(rng)}", [("building_head", compound)])
    for i in range(1, 31):
        community = communities[(i - 1) % len(communities)]
        party = i % 3 != 0  # two in three volunteers are party members (党员先锋队)
        account(f"vol{i}", f"志愿者{person_name(rng)}", [("volunteer", community)], is_party_member=party,
                phone=f"13909390{i:03d}")
    for i, company in enumerate(companies, 1):
        account(f"pm{i}", f"{company.name}负责人", [("property_manager", company)])
    account("unit1", f"{units[0].name}联络人", [("unit_contact", units[0])])
    account("sup1", "督查组组长", [("supervisor", town)])
    account("sup2", "督查组组员", [("supervisor", town)])
