"""Places of a benchmark dataset: the communities beyond the demo town's four, property companies,
work units, grids, compounds and their households."""
from collections import defaultdict

from sqlalchemy import func, select

from bench.seed.core import TOWN_COMMUNITIES, Builder
from gridapp.demo import person_name
from gridapp.extensions import db
from gridapp.grid.models import Community, Compound, Grid, Household, PropertyCompany, Town, WorkUnit

NEW_COMMUNITIES = (
    [(n + "社区", "community") for n in ("西关", "新华", "滨河", "城北", "育才", "建设", "人民", "文化", "东关",
                                        "南关", "解放", "和平", "朝阳", "团结", "光明", "胜利", "长征", "红旗")]
    + [(n + "村", "village") for n in ("李家", "赵家", "张家", "高家", "马家", "石门", "柳树", "杨庄", "河湾",
                                      "前进", "双河", "红星", "新庄", "王庄", "刘家")]
    + [(n + "城中村", "urban_village") for n in ("陈家坝", "何家湾", "周家营")]
)
NEW_COMPANIES = ["金盾物业", "安居物业", "华润物业", "万家物业", "祥和物业", "宏达物业", "恒信物业", "鑫源物业",
                 "长青物业", "瑞丰物业", "盛达物业", "和美物业", "嘉禾物业", "福瑞物业", "鸿运物业", "天成物业",
                 "佳园物业", "永安物业", "康达物业", "兴隆物业", "新城物业", "阳光物业", "绿洲物业", "德信物业",
                 "丰泰物业", "汇丰物业", "锦华物业"]
NEW_UNITS = ["县财政局", "县教育局", "县卫健局", "县公安局", "县交通运输局", "县水务局", "县林业局", "县住建局",
             "县民政局", "县人社局", "县自然资源局", "县统计局", "县审计局", "县文旅局", "县应急管理局", "县司法局",
             "县税务局", "县供电公司", "县邮政公司", "县第二中学", "县中医院", "县妇幼保健院", "县城投公司",
             "县粮食局", "县气象局", "县科技局", "县商务局", "县生态环境局", "县医保局", "县信访局", "县档案馆",
             "县图书馆", "县实验小学", "县职业中学", "县自来水公司", "县燃气公司"]
PREFIXES = ["阳光", "幸福", "金山", "滨河", "建设", "康乐", "平安", "梅园", "翠湖", "盛世", "锦绣", "和谐", "春晖",
            "东方", "丽景", "馨园", "紫荆", "银河", "恒大", "碧水", "桃源", "福星", "长安", "新苑", "书香", "富康",
            "龙泉", "凤鸣", "兰亭", "枫林"]
SUFFIXES = ["小区", "花园", "楼院", "家属楼", "嘉园", "苑"]
STREETS = ["建设路", "育才路", "南街", "北街", "东关路", "滨河路", "文化巷", "人民路", "新华路", "中山路"]


class GridPhase(Builder):
    """Communities, organisations, grids, compounds, households."""

    def places(self) -> None:
        spec, rng, now = self.spec, self.rng, self.now
        town = db.session.scalars(select(Town).order_by(Town.id)).first()
        have = db.session.scalars(select(Community.name)).all()
        for name, kind in NEW_COMMUNITIES[: max(0, spec.communities - len(have))]:
            self.add(Community, {"id": self.ids(Community), "town_id": town.id, "name": name, "kind": kind,
                                 "created_at": now, "updated_at": now})
        n_companies = 3 * spec.communities // TOWN_COMMUNITIES
        have = db.session.scalar(select(func.count(PropertyCompany.id)))
        for i, name in enumerate(NEW_COMPANIES[: max(0, n_companies - have)]):
            self.add(PropertyCompany, {"id": self.ids(PropertyCompany), "name": name,
                                       "phone": f"0939-53{i:05d}", "created_at": now, "updated_at": now})
        have = db.session.scalar(select(func.count(WorkUnit.id)))
        for i, name in enumerate(NEW_UNITS[: max(0, spec.communities - have)]):
            self.add(WorkUnit, {"id": self.ids(WorkUnit), "name": name, "phone": f"0939-54{i:05d}",
                                "created_at": now, "updated_at": now})
        self.flush()

        self.communities = db.session.execute(select(Community.id, Community.name).order_by(Community.id)).all()
        companies = list(db.session.scalars(select(PropertyCompany.id).order_by(PropertyCompany.id)))
        self.units = list(db.session.scalars(select(WorkUnit.id).order_by(WorkUnit.id)))
        grids = db.session.execute(select(Grid.id, Grid.community_id, Grid.name).order_by(Grid.id)).all()
        grids_of = defaultdict(list)
        for g in grids:
            grids_of[g.community_id].append(g.id)
        households_in = dict(db.session.execute(
            select(Grid.community_id, func.count(Household.id)).join(Compound, Compound.grid_id == Grid.id)
            .join(Household, Household.compound_id == Compound.id).group_by(Grid.community_id)).all())

        for ci, (community_id, community_name) in enumerate(self.communities):
            # The demo's communities share 红嘴鸥, 远景 and 东升; each later one has three companies of its own.
            own = companies[:3]
            later = companies[3:]
            if ci >= TOWN_COMMUNITIES and later:
                k = (ci - TOWN_COMMUNITIES) * 3 // 4
                own = [later[(k + j) % len(later)] for j in range(3)]
            missing = spec.households - households_in.get(community_id, 0)
            gi = len(grids_of[community_id])
            while missing > 0:
                gi += 1
                grid_id = self.ids(Grid)
                self.add(Grid, {"id": grid_id, "community_id": community_id, "name": f"第{gi}网格",
                                "created_at": now, "updated_at": now})
                grids_of[community_id].append(grid_id)
                in_grid, used = 0, set()
                while missing > 0 and in_grid < 300:
                    size = min(missing, rng.randint(20, 80))
                    if missing - size < 20:
                        size = missing
                    name = rng.choice(PREFIXES) + rng.choice(SUFFIXES)
                    while name in used:
                        name = rng.choice(PREFIXES) + rng.choice(SUFFIXES) + f"{len(used) + 1}号院"
                    used.add(name)
                    r = rng.random()
                    company = own[0] if r < 0.25 else own[1] if r < 0.45 else own[2] if r < 0.6 else None
                    unit = rng.choice(self.units) if company is None and r < 0.75 else None
                    compound_id = self.ids(Compound)
                    n = compound_id
                    self.add(Compound, {"id": compound_id, "grid_id": grid_id, "name": name,
                                        "address": f"{community_name}{STREETS[n % len(STREETS)]}{n % 300 + 1}号",
                                        "entrance": ["北门", "南门", "东门", "西门"][n % 4],
                                        "property_company_id": company, "work_unit_id": unit,
                                        "created_at": now, "updated_at": now})
                    self._households(compound_id, size)
                    in_grid += size
                    missing -= size
        self.flush()
        self.grids = db.session.execute(select(Grid.id, Grid.community_id).order_by(Grid.id)).all()
        self.compounds = db.session.execute(
            select(Compound.id, Compound.grid_id, Grid.community_id, Compound.property_company_id,
                   Compound.work_unit_id, Compound.name, Compound.entrance, Compound.address)
            .join(Grid, Grid.id == Compound.grid_id).order_by(Compound.id)).all()
        self.compound_by_id = {c.id: c for c in self.compounds}
        self.compound_sizes = dict(db.session.execute(
            select(Household.compound_id, func.count(Household.id)).group_by(Household.compound_id)).all())

    def _households(self, compound_id: int, size: int) -> None:
        rng = self.rng
        for i in range(size):
            b, j = divmod(i, 24)
            unit, k = divmod(j, 12)
            floor, door = divmod(k, 2)
            self.add(Household, {
                "id": self.ids(Household), "compound_id": compound_id, "building": str(b + 1), "unit": str(unit + 1),
                "room": str((floor + 1) * 100 + door + 1), "head_name": person_name(rng),
                "phone": f"13{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}",
                "housebound": rng.random() < 0.08, "living_alone": rng.random() < 0.1,
                # Derived from the observations (bench/seed/observation.py), never set on its own; the
                # draw that used to pick it stays, so the rest of the dataset is the one it was.
                "observation_until": (rng.random(), None)[1],
                "notes": "", "created_at": self.now, "updated_at": self.now})
