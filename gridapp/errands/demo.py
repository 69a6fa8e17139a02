"""Demo errands for `flask seed-demo`: 代办代买 for housebound households and those under 14-day home
observation, in every state, run by the demo town's own building heads, grid members and volunteers."""
from datetime import timedelta

from sqlalchemy import func, select

from gridapp.auth.models import RoleAssignment, User
from gridapp.errands import services
from gridapp.errands.models import Errand, UrgentOptIn
from gridapp.extensions import db
from gridapp.grid.models import Compound, Grid, Household
from gridapp.timeutil import utcnow

M = timedelta(minutes=1)
H = timedelta(hours=1)
D = timedelta(days=1)

# What the volunteer who shows the demo (vol2) sees in their community: every state once or more.
# (key, category, urgent, items, estimated yuan, notes, filed ago, needed after filing, steps);
# steps are (action, ago[, value]) and run through the services, so the timeline is the real one.
LEAD_STORY = [
    ("open", "daily", False, "大米 10斤\n菜籽油 1桶\n鸡蛋 30个", "120",
     "惠民超市或粮油店都可以；住户居家留观，放门口即可。", 2 * H, 7 * H, []),
    ("urgent", "medicine", True, "布洛芬缓释胶囊 1盒\n医用外科口罩 20只\n电子体温计 1支", "65",
     "仁和大药房有货；药店要测体温、登记购药信息。", 8 * M, 80 * M, []),
    ("overdue", "matter", False, "代缴电费 100元\n代取快递 1件", "100", "营业厅在东关路。", 7 * H, 6 * H, []),
    ("claimed", "daily", False, "挂面 2把\n青菜 2斤\n西红柿 2斤\n食盐 1袋", "40", "",
     70 * M, 5 * H, [("claim", 60 * M, "helper"), ("release", 45 * M, "临时被安排到卡点值班"),
                     ("claim", 20 * M, "lead")]),
    ("purchased", "medicine", False, "硝苯地平缓释片 2盒\n84消毒液 1瓶", "50", "降压药每天要吃，别买错规格。",
     3 * H, 5 * H, [("claim", 160 * M, "lead"), ("purchase", 60 * M, "46.80")]),
    ("delivered", "daily", False, "牛奶 2箱\n面包 1袋\n苹果 3斤", "45", "",
     6 * H, 4 * H, [("claim", 330 * M, "lead"), ("purchase", 270 * M, "38.50"),
                    ("deliver", 4 * H, "已交给住户本人，未进门。")]),
    ("confirmed", "medicine", False, "感冒灵颗粒 2盒\n维生素C片 1瓶", "30", "",
     D + 3 * H, 4 * H, [("claim", D + 160 * M, "lead"), ("purchase", D + 2 * H, "23.00"),
                        ("deliver", D + 80 * M, "放在门口，已电话告知。"), ("confirm", D, "钱已当面结清。")]),
    ("confirmed", "daily", False, "猪肉 1斤\n土豆 3斤\n大白菜 1棵", "40", "",
     3 * D + 2 * H, 5 * H, [("claim", 3 * D + 100 * M, "helper"), ("purchase", 3 * D + H, "36.20"),
                            ("deliver", 3 * D + 20 * M, ""), ("confirm", 3 * D - 2 * H, "")]),
    ("cancelled", "daily", False, "卫生纸 1提\n洗衣粉 1袋", "35", "", 5 * H, 6 * H,
     [("cancel", 4 * H, "家属已把东西送来了。")]),
    ("cancelled", "matter", False, "代办社保卡挂失 1件", "", "", 2 * D + 3 * H, D,
     [("claim", 2 * D + 2 * H, "helper"), ("cancel", 2 * D, "住户解除居家留观，可以自己去办了。")]),
]
# Every other community with volunteers: something on its board and something done.
# (Items may be alternatives, one per community, so the boards do not all read alike.)
OTHER_STORY = [
    ("open", "daily", False, ("小米 2斤\n鸡蛋 15个", "面粉 5斤\n白糖 1袋", "豆腐 2块\n白萝卜 2个"), "30", "",
     90 * M, 6 * H, []),
    ("urgent", "medicine", True, ("速效救心丸 1瓶", "二甲双胍片 2盒", "退烧贴 1盒\n医用口罩 10只"), "40",
     "老人独居，请尽快。", 5 * M, H, []),
    ("confirmed", "daily", False, ("酱油 1瓶\n醋 1瓶\n挂面 1把", "橘子 3斤\n香蕉 2斤", "蚊香 1盒\n电池 4节"), "25", "",
     2 * D + 3 * H, 5 * H, [("claim", 2 * D + 150 * M, "helper"), ("purchase", 2 * D + 2 * H, "21.50"),
                            ("deliver", 2 * D + H, ""), ("confirm", 2 * D, "")]),
]


def seed_errands(now=None, lead_username: str = "vol2") -> dict:
    """Idempotent: does nothing once an errand exists. The volunteer `lead_username` (vol2 in the
    demo town) holds a claimed, a bought and a delivered errand and has closed one; their community
    also has open (normal, urgent, late) and cancelled errands; other communities a few."""
    if db.session.scalar(select(func.count(Errand.id))):
        return {"skipped": True}
    now = now or utcnow()
    teams = _volunteers_by_community()
    if not teams:
        return {"errands": 0}
    lead, lead_community = _lead(teams, lead_username)
    if db.session.get(UrgentOptIn, lead.id) is None:
        db.session.add(UrgentOptIn(user_id=lead.id, created_at=now - 3 * D))
    made = 0
    for k, (community_id, volunteers) in enumerate(teams.items()):
        story = LEAD_STORY if community_id == lead_community else OTHER_STORY
        helpers = [v for v in volunteers if v.id != lead.id] or volunteers
        filers = _filers(community_id)
        if not filers:
            continue
        for n, spec in enumerate(story):
            filer, households = filers[n % len(filers)]
            household = households[(n // len(filers)) % len(households)]
            people = {"lead": lead, "helper": helpers[n % len(helpers)]}
            _play(spec, filer, household, people, now, variant=k)
            made += 1
    db.session.flush()
    return {"errands": made, "lead": lead.username}


def _volunteers_by_community() -> dict[int, list[User]]:
    teams: dict[int, list[User]] = {}
    for user, community_id in db.session.execute(
            select(User, RoleAssignment.scope_id).join(RoleAssignment, RoleAssignment.user_id == User.id)
            .where(RoleAssignment.role == "volunteer", User.active.is_(True)).order_by(User.id)):
        teams.setdefault(community_id, []).append(user)
    return teams


def _lead(teams, username) -> tuple[User, int]:
    for community_id, volunteers in teams.items():
        for v in volunteers:
            if v.username == username:
                return v, community_id
    community_id = next(iter(teams))
    return teams[community_id][0], community_id


def _filers(community_id) -> list[tuple[User, list[Household]]]:
    """Building heads, then grid members, then the secretary of the community, each with the
    households they may file for (housebound and home-observation households first)."""
    base = (select(Household).join(Compound, Compound.id == Household.compound_id)
            .join(Grid, Grid.id == Compound.grid_id).where(Grid.community_id == community_id)
            .order_by(Household.housebound.desc(), Household.observation_until.is_(None), Household.id))
    place = {"building_head": Household.compound_id, "grid_member": Compound.grid_id,
             "secretary": Grid.community_id}
    in_community = {"building_head": select(Compound.id).join(Grid, Grid.id == Compound.grid_id)
                    .where(Grid.community_id == community_id),
                    "grid_member": select(Grid.id).where(Grid.community_id == community_id),
                    "secretary": [community_id]}
    out = []
    for role in ("building_head", "grid_member", "secretary"):
        for user, scope_id in db.session.execute(
                select(User, RoleAssignment.scope_id).join(RoleAssignment, RoleAssignment.user_id == User.id)
                .where(RoleAssignment.role == role, RoleAssignment.scope_id.in_(in_community[role]),
                       User.active.is_(True)).order_by(User.id)):
            households = list(db.session.scalars(base.where(place[role] == scope_id).limit(4)))
            if households:
                out.append((user, households))
    return out


def _play(spec, filer, household, people, now, variant=0) -> Errand:
    _key, category, urgent, items, estimate, notes, filed_ago, needed_after, steps = spec
    if isinstance(items, tuple):
        items = items[variant % len(items)]
    filed_at = now - filed_ago
    errand = services.file_errand(filer, household, {
        "category": category, "items": items, "estimated_cost": estimate or None, "urgent": urgent,
        "needed_by_at": filed_at + needed_after, "pay_on_delivery": category != "matter", "notes": notes},
        now=filed_at)
    claimant = None
    for action, ago, *value in steps:
        at = now - ago
        if action == "claim":
            claimant = people[value[0]]
            services.claim(errand, claimant, now=at)
        elif action == "release":
            services.release(errand, claimant, value[0], now=at)
        elif action == "purchase":
            services.purchase(errand, claimant, value[0], now=at)
        elif action == "deliver":
            services.deliver(errand, claimant, value[0], now=at)
        elif action == "confirm":
            services.confirm(errand, filer, money_settled=True, note=value[0], now=at)
        elif action == "cancel":
            services.cancel(errand, filer, value[0], now=at)
    return errand
