"""Benchmark datasets: `flask seed-demo --scale tiny|town|county` grows the demo town of
gridapp.demo to a town (or ten towns' worth, a county) with 30 days of history of every kind.

The demo town (gridapp.demo.seed) comes first, with its accounts; everything else is written
with bulk inserts (COPY on PostgreSQL), with ids allocated here so that children can point at
their parents without a round trip. The history follows the rules of the feature services: a
shift's `filled` is its active sign-ups, one slot per point × window × day, errands and items
carry the times and sweep markers their transitions and the jobs would have set, and the
notifications carry the services' dedupe keys, so the jobs pick up where the history ends.
"""
import random
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from time import perf_counter

from sqlalchemy import Date, and_, delete, func, insert, select, text, update

from gridapp.extensions import db
from gridapp.timeutil import UTCDateTime, parse_daily_ranges, town_zone, utcnow

HISTORY_DAYS = 30
CHUNK = 5000
DEMO_CHECKPOINTS = 107  # per four communities, as in the field report
TOWN_COMMUNITIES = 4


@dataclass(frozen=True)
class Level:
    name: str
    communities: int
    households: int  # per community
    points: int  # disinfection points per community, public places included
    public_places: int  # per community
    volunteers: int  # per community
    errands_per_day: int  # per community
    inspections_per_day: float  # per community
    history_days: int = HISTORY_DAYS
    waiting: int = 0  # extra open errands per community, filed in the last hours (for the claim storm)


LEVELS = {
    "tiny": Level("tiny", 4, 100, 10, 1, 30, 2, 0.2, history_days=7, waiting=25),
    "town": Level("town", 4, 5000, 500, 12, 125, 100, 1.5),
    "county": Level("county", 40, 5000, 500, 12, 125, 100, 1.5),
}


class ScaleError(RuntimeError):
    pass


# --- names ---------------------------------------------------------------------------------------

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
PUBLIC_PLACES = [("惠民超市", "shop", "门店"), ("仁和大药房", "shop", "门店"), ("农贸市场", "activity_area", "市场"),
                 ("公共厕所", "public_toilet", "厕所"), ("文化广场", "activity_area", "广场"),
                 ("粮油店", "shop", "门店"), ("便民菜店", "shop", "门店"), ("卫生室", "other", "诊室")]
DISINFECTANTS = ["84消毒液 1:100", "含氯消毒剂 500mg/L", "75%酒精", "过氧乙酸 0.2%"]
ERRAND_ITEMS = {
    "daily": ["大米 1袋", "食用油 1桶", "鸡蛋 2斤", "牛奶 2盒", "青菜 3斤", "挂面 2把", "卫生纸 1提", "面粉 1袋",
              "水果 3斤", "猪肉 2斤", "酱油 1瓶", "馒头 10个"],
    "medicine": ["降压药 1盒", "感冒药 1盒", "胰岛素 2支", "速效救心丸 1瓶", "降糖药 1盒", "布洛芬 1盒"],
    "matter": ["代缴电费", "代取快递", "代办医保报销", "代缴燃气费"],
    "other": ["口罩 1包", "体温计 1支", "电池 4节"],
}
SUPERVISION_NOTES = {
    "checkpoint_unstaffed": "卡口值守人员脱岗", "no_temperature_check": "未落实测温登记",
    "registration_incomplete": "出入登记不全", "disinfection_missed": "消毒记录缺失",
    "sanitation": "垃圾清运不及时", "other": "宣传告示未张贴",
}


# --- the public entry point ------------------------------------------------------------------------

def seed_scale(level: str, progress=print) -> dict:
    """Build the `level` dataset ("tiny", "town" or "county") in the current database, or find it
    there already. Returns the counts per table, the timings, and what the benchmark needs: the
    personas' usernames, 20 open errands and 10 open shifts of vol1's community for the claim and
    sign-up storms, and the other volunteers (all with the demo password)."""
    spec = LEVELS.get(level)
    if spec is None:
        raise ScaleError(f"unknown scale {level!r}; choose one of {', '.join(LEVELS)}")
    from gridapp.auth.models import User
    from gridapp.demo import DEMO_PASSWORD

    started = perf_counter()
    timings = {}
    # The demo town has vol1 … vol30; the first volunteer beyond them means a dataset is there.
    if db.session.scalar(select(func.count(User.id)).where(User.username == "vol31")):
        _check_existing(spec)
        progress(f"A {spec.name} dataset is already in this database: nothing added.")
        out = summary(spec, existing=True)
        out["timings"] = {"total": round(perf_counter() - started, 2)}
        return out

    from gridapp.demo import seed

    t = perf_counter()
    seed(scale=1)
    db.session.commit()
    timings["demo_town"] = round(perf_counter() - t, 2)
    progress(f"demo town ready ({timings['demo_town']} s)")
    builder = _Builder(spec, utcnow(), progress)
    timings.update(builder.run())
    t = perf_counter()
    db.session.commit()
    timings["commit"] = round(perf_counter() - t, 2)
    t = perf_counter()
    _analyze()
    timings["analyze"] = round(perf_counter() - t, 2)
    timings["total"] = round(perf_counter() - started, 2)
    out = summary(spec, existing=False)
    out["timings"] = timings
    out["password"] = DEMO_PASSWORD
    return out


def _check_existing(spec: Level) -> None:
    from gridapp.auth.models import RoleAssignment
    from gridapp.grid.models import Community

    communities = db.session.scalar(select(func.count(Community.id)))
    volunteers = db.session.scalar(select(func.count(RoleAssignment.id)).where(RoleAssignment.role == "volunteer"))
    if communities != spec.communities or volunteers != spec.communities * spec.volunteers:
        raise ScaleError(f"this database already holds another dataset ({communities} communities, {volunteers} "
                         f"volunteers), not the {spec.name} one; seed --scale {spec.name} into an empty database")


def _analyze() -> None:
    """Fresh planner statistics after millions of rows (the pages' plans depend on them)."""
    db.session.execute(text("ANALYZE"))
    db.session.commit()


def summary(spec: Level, existing: bool) -> dict:
    """What the benchmark needs, read from the database (so it works for an existing dataset)."""
    from gridapp.auth.models import RoleAssignment, User
    from gridapp.demo import DEMO_PASSWORD
    from gridapp.duty.models import Checkpoint, Shift
    from gridapp.errands.models import ACTIVE_CLAIM_STATES, Errand

    now = utcnow()
    counts = {t.name: db.session.scalar(select(func.count()).select_from(t)) for t in db.metadata.sorted_tables}
    vol1 = db.session.scalars(select(User).where(User.username == "vol1")).one()
    community_id = db.session.scalar(select(RoleAssignment.scope_id).where(
        RoleAssignment.user_id == vol1.id, RoleAssignment.role == "volunteer").order_by(RoleAssignment.id).limit(1))
    errand_ids = list(db.session.scalars(
        select(Errand.id).where(Errand.community_id == community_id, Errand.status == "open",
                                Errand.needed_by_at > now).order_by(Errand.id).limit(20)))
    shifts = db.session.execute(
        select(Shift.id, Shift.capacity, Shift.filled, Shift.starts_at)
        .join(Checkpoint, Checkpoint.id == Shift.checkpoint_id)
        .where(Checkpoint.community_id == community_id, Checkpoint.active.is_(True), Shift.status == "open",
               Shift.starts_at > now + timedelta(hours=24), Shift.filled < Shift.capacity)
        .order_by(Shift.filled, Shift.starts_at.desc(), Shift.id).limit(10)).all()
    volunteers = list(db.session.scalars(
        select(User.username).join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(RoleAssignment.role == "volunteer", User.id != vol1.id).order_by(User.id)))
    holding = select(Errand.claimant_id).where(Errand.status.in_(ACTIVE_CLAIM_STATES), Errand.claimant_id.isnot(None))
    storm_volunteers = list(db.session.scalars(
        select(User.username).join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(RoleAssignment.role == "volunteer", RoleAssignment.scope_id == community_id, User.id != vol1.id,
               User.active.is_(True), User.id.not_in(holding)).order_by(User.id)))
    return {
        "level": spec.name,
        "existing": existing,
        "password": DEMO_PASSWORD,
        "personas": {"volunteer": "vol1", "property_manager": "pm1", "secretary": "secretary1",
                     "supervisor": "sup1", "grid_member": "gridder1", "town_leader": "leader"},
        "vol1_community_id": community_id,
        "claim_storm_errand_ids": errand_ids,
        "signup_storm_shifts": [{"id": s.id, "capacity": s.capacity, "filled": s.filled,
                                 "starts_at": s.starts_at.isoformat()} for s in shifts],
        "volunteers": volunteers,
        # Volunteers of vol1's community holding no errand: each may claim up to the claim limit.
        "storm_volunteers": storm_volunteers,
        "counts": counts,
    }


# --- the builder -------------------------------------------------------------------------------------

class _Builder:
    def __init__(self, spec: Level, now: datetime, progress):
        self.spec, self.now, self.progress = spec, now, progress
        self.rng = random.Random(2020)
        self.zone = town_zone()
        self.today = now.astimezone(self.zone).date()
        self.days_back = spec.history_days
        self.first_day = self.today - timedelta(days=self.days_back)
        self.history_start = self._local(self.first_day, time(0)) - timedelta(days=1)
        self.dialect = db.session.get_bind().dialect.name
        self.conn = db.session.connection()
        self.next_id: dict[str, int] = {}
        self.buffers: dict = defaultdict(list)
        self.written = Counter()
        self._bounds: dict = {}
        self._defaults: dict = {}

    # -- plumbing ------------------------------------------------------------------------------------

    def _local(self, day: date, clock: time) -> datetime:
        return datetime.combine(day, clock, tzinfo=self.zone).astimezone(UTC)

    def ids(self, model, n: int = 1) -> int:
        """The first of n fresh ids of this table (allocated here, not by the database)."""
        name = model.__tablename__
        if name not in self.next_id:
            self.next_id[name] = (db.session.scalar(select(func.max(model.id))) or 0) + 1
        first = self.next_id[name]
        self.next_id[name] += n
        return first

    def add(self, model_or_table, row: dict) -> None:
        table = getattr(model_or_table, "__table__", model_or_table)
        buf = self.buffers[table]
        buf.append(row)
        if len(buf) >= CHUNK:
            self.flush(table)

    def flush(self, table=None) -> None:
        """Write the buffered rows (of one table, its parents first; or of all, in FK order)."""
        if table is None:
            for t in db.metadata.sorted_tables:
                if self.buffers.get(t):
                    self.flush(t)
            return
        for fk in table.foreign_keys:
            parent = fk.column.table
            if parent is not table and self.buffers.get(parent):
                self.flush(parent)
        rows = self.buffers.get(table)
        if not rows:
            return
        self.buffers[table] = []
        defaults = self._column_defaults(table)
        rows = [{**defaults, **r} for r in rows] if defaults else rows
        if self.dialect == "postgresql":
            self._copy(table, rows)
        elif self.dialect == "sqlite":
            self._executemany(table, rows)
        else:
            self.conn.execute(insert(table), rows)
        self.written[table.name] += len(rows)

    def _column_defaults(self, table) -> dict:
        """Python-side scalar and callable defaults (COPY does not apply them)."""
        if table.name not in self._defaults:
            out = {}
            for col in table.columns:
                d = col.default
                if d is None or getattr(d, "is_sequence", False):
                    continue
                if d.is_scalar:
                    out[col.name] = d.arg
                elif d.is_callable:
                    out[col.name] = d.arg(None)
            self._defaults[table.name] = out
        return self._defaults[table.name]

    def _copy(self, table, rows) -> None:
        cols = list(rows[0])
        stamps = [i for i, c in enumerate(cols) if isinstance(table.c[c].type, UTCDateTime)]
        raw = self.conn.connection.dbapi_connection
        names = ", ".join(f'"{c}"' for c in cols)
        with raw.cursor() as cur, cur.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
            for r in rows:
                values = [r[c] for c in cols]
                for i in stamps:
                    v = values[i]
                    if v is not None:
                        values[i] = v.astimezone(UTC).replace(tzinfo=None)
                copy.write_row(values)

    def _executemany(self, table, rows) -> None:
        """The DB-API's executemany with values stored as SQLAlchemy stores them on SQLite (timestamps
        as naive UTC '2026-03-01 08:00:00.000000', dates ISO): the per-value type processing of a Core
        executemany costs more than SQLite's own work."""
        cols = list(rows[0])
        stamps = [i for i, c in enumerate(cols) if isinstance(table.c[c].type, UTCDateTime)]
        days = [i for i, c in enumerate(cols) if isinstance(table.c[c].type, Date)]
        names = ", ".join(f'"{c}"' for c in cols)
        sql = f'INSERT INTO "{table.name}" ({names}) VALUES ({", ".join("?" * len(cols))})'

        def values(r):
            out = [r[c] for c in cols]
            for i in stamps:
                v = out[i]
                if v is not None:
                    out[i] = v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
            for i in days:
                if out[i] is not None:
                    out[i] = out[i].isoformat()
            return out

        self.conn.connection.dbapi_connection.cursor().executemany(sql, map(values, rows))

    def fix_sequences(self) -> None:
        if self.dialect != "postgresql":
            return
        for name in self.next_id:
            db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                    f"(SELECT coalesce(max(id), 1) FROM \"{name}\"))"))

    def between(self, a: datetime, b: datetime) -> datetime:
        if b <= a:
            return a
        return a + timedelta(seconds=self.rng.uniform(0, (b - a).total_seconds()))

    def notify(self, user_ids, kind: str, title: str, body: str, dedupe_key: str, link: str, at: datetime,
               urgent: bool = False, sms: bool = False) -> None:
        """Inbox rows (read when old) and, for kinds sent by SMS, outbox rows (mostly sent)."""
        from gridapp.notifications.models import Notification, OutboxMessage

        if at > self.now:
            at = self.now
        old = at < self.now - timedelta(days=2)
        for uid in set(u for u in user_ids if u):
            read = self.rng.random() < (0.85 if old else 0.35)
            self.add(Notification, {
                "id": self.ids(Notification), "user_id": uid, "kind": kind, "title": title[:200], "body": body,
                "link": link, "urgent": urgent, "dedupe_key": dedupe_key, "created_at": at,
                "read_at": self.between(at, min(at + timedelta(hours=12), self.now)) if read else None})
            phone = self.phones.get(uid) if sms else None
            if not phone:
                continue
            r = self.rng.random()
            status = "sent" if r < 0.97 or at > self.now - timedelta(minutes=10) else ("failed" if r < 0.995 else
                                                                                         "pending")
            row = {"id": self.ids(OutboxMessage), "dedupe_key": f"{dedupe_key}:sms:u{uid}", "kind": kind,
                   "channel": "sms", "user_id": uid, "webhook_id": None, "address": phone, "subject": title[:200],
                   "body": body, "urgent": urgent, "status": status, "attempts": 1, "not_before": at,
                   "claimed_at": at + timedelta(seconds=2), "claim_token": f"{self.rng.getrandbits(64):016x}",
                   "sent_at": at + timedelta(seconds=3), "last_error": "", "created_at": at}
            if status == "failed":
                row.update(attempts=5, sent_at=None, last_error="SMS gateway: 503 Service Unavailable")
            elif status == "pending":  # held back by the quiet hours, due tomorrow morning
                row.update(attempts=0, claimed_at=None, claim_token=None, sent_at=None,
                           not_before=self._local(self.today + timedelta(days=1), time(7, 0)))
            self.add(OutboxMessage, row)

    # -- the phases ---------------------------------------------------------------------------------

    def run(self) -> dict:
        timings = {}
        for name, phase in (("places", self.places), ("accounts", self.accounts), ("duty", self.duty),
                            ("disinfection", self.disinfection), ("errands", self.errands),
                            ("supervision", self.supervision)):
            t = perf_counter()
            phase()
            self.flush()
            timings[name] = round(perf_counter() - t, 2)
            self.progress(f"{name}: {timings[name]} s")
        self.fix_sequences()
        return timings

    # places: communities, organisations, grids, compounds, households

    def places(self) -> None:
        from gridapp.grid.models import Community, Compound, Grid, Household, PropertyCompany, Town, WorkUnit

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
                    self._households(Household, compound_id, size)
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

    def _households(self, Household, compound_id: int, size: int) -> None:
        from gridapp.demo import person_name

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
                "observation_until": self.today + timedelta(days=rng.randint(1, 14)) if rng.random() < 0.04 else None,
                "notes": "", "created_at": self.now, "updated_at": self.now})

    # accounts: a secretary per community, a grid member per grid, a manager per company, a contact per
    # unit, and the volunteers; all with the demo accounts' password hash

    def accounts(self) -> None:
        from gridapp.auth.models import RoleAssignment, User
        from gridapp.demo import person_name
        from gridapp.grid.models import PropertyCompany

        rng = self.rng
        password_hash = db.session.scalar(select(User.password_hash).where(User.username == "vol1"))
        roles = db.session.execute(select(RoleAssignment.role, RoleAssignment.scope_id, RoleAssignment.user_id)
                                   .order_by(RoleAssignment.id)).all()
        holders = defaultdict(list)
        for role, scope_id, user_id in roles:
            holders[(role, scope_id)].append(user_id)
        usernames = set(db.session.scalars(select(User.username)))
        numbers = {}  # the next number to try per prefix (vol31 …)
        created = 0

        def account(prefix: str, display: str, role: str, scope_type: str, scope_id: int, phone_prefix: str,
                    party: bool = False) -> int:
            nonlocal created
            n = numbers.get(prefix, 1)
            while f"{prefix}{n}" in usernames:
                n += 1
            numbers[prefix] = n + 1
            usernames.add(f"{prefix}{n}")
            user_id = self.ids(User)
            created += 1
            self.add(User, {"id": user_id, "username": f"{prefix}{n}", "display_name": display,
                            "phone": f"{phone_prefix}{user_id:08d}", "email": None, "is_party_member": party,
                            "active": True, "password_hash": password_hash,
                            "created_at": self.history_start - timedelta(days=10),
                            "password_changed_at": self.history_start - timedelta(days=10)})
            self.add(RoleAssignment, {"id": self.ids(RoleAssignment), "user_id": user_id, "role": role,
                                      "scope_type": scope_type, "scope_id": scope_id,
                                      "created_at": self.history_start - timedelta(days=10)})
            holders[(role, scope_id)].append(user_id)
            return user_id

        for community_id, name in self.communities:
            if not holders[("secretary", community_id)]:
                account("secretary", f"{name}书记", "secretary", "community", community_id, "135")
        for grid_id, _community_id in self.grids:
            if not holders[("grid_member", grid_id)]:
                account("gridder", f"网格员{person_name(rng)}", "grid_member", "grid", grid_id, "136")
        for company_id, name in db.session.execute(select(PropertyCompany.id, PropertyCompany.name)
                                                   .order_by(PropertyCompany.id)):
            if not holders[("property_manager", company_id)]:
                account("pm", f"{name}负责人", "property_manager", "property_company", company_id, "134")
        for unit_id in self.units:
            if not holders[("unit_contact", unit_id)]:
                account("unit", f"单位联络人{person_name(rng)}", "unit_contact", "work_unit", unit_id, "133")
        for community_id, _name in self.communities:
            for _i in range(self.spec.volunteers - len(holders[("volunteer", community_id)])):
                account("vol", f"志愿者{person_name(rng)}", "volunteer", "community", community_id, "137",
                        party=rng.random() < 0.67)
        self.flush()
        self.holders = holders
        self.phones = dict(db.session.execute(select(User.id, User.phone).where(User.phone.isnot(None))).all())
        self.display = dict(db.session.execute(select(User.id, User.display_name)).all())
        town_roles = db.session.execute(select(RoleAssignment.role, RoleAssignment.user_id)
                                        .where(RoleAssignment.role.in_(("supervisor", "town_leader")))
                                        .order_by(RoleAssignment.user_id)).all()
        self.supervisors = [u for r, u in town_roles if r == "supervisor"]
        self.leaders = [u for r, u in town_roles if r == "town_leader"]
        self.grid_member = {g: holders[("grid_member", g)][0] for g, _c in self.grids if holders[("grid_member", g)]}
        self.secretary = {c: holders[("secretary", c)][0] for c, _n in self.communities}
        self.grids_of = defaultdict(list)
        for g, c in self.grids:
            self.grids_of[c].append(g)

    def manager_of(self, company_id):
        ids = self.holders.get(("property_manager", company_id))
        return ids[0] if ids else None

    # duty: checkpoints (county), shifts from 30 days back to 14 ahead, sign-ups, notices

    def duty(self) -> None:
        from gridapp.duty import services as duty
        from gridapp.duty.models import ACTIVE_SIGNUP, Checkpoint, Shift, Signup

        spec, rng, now = self.spec, self.rng, self.now
        db.session.execute(update(Checkpoint).values(created_at=self.history_start))
        target = DEMO_CHECKPOINTS * spec.communities // TOWN_COMMUNITIES
        have = db.session.scalar(select(func.count(Checkpoint.id)))
        later = [c for c, _n in self.communities[TOWN_COMMUNITIES:]]
        compounds_of = defaultdict(list)
        for k in self.compounds:
            compounds_of[k.community_id].append(k)
        for i in range(max(0, target - have)):
            community_id = later[i % len(later)]
            row = {"id": self.ids(Checkpoint), "community_id": community_id, "pattern": duty.DEFAULT_PATTERN,
                   "active": True, "created_at": self.history_start}
            if i // len(later) % 2 == 0:  # a gate checkpoint at a compound's entrance, run by a work unit
                k = compounds_of[community_id][i // len(later) // 2 % len(compounds_of[community_id])]
                row.update(compound_id=k.id, work_unit_id=k.work_unit_id or self.units[i % len(self.units)],
                           name=f"{k.name}{k.entrance or '大门'}检查点", kind="gate", location=k.address,
                           min_people=2, max_people=3)
            else:
                row.update(compound_id=None, work_unit_id=None, name=f"党员先锋岗{i + 1:03d}", kind="vanguard",
                           location=f"{STREETS[i % len(STREETS)]}路口", min_people=1, max_people=2)
            self.add(Checkpoint, row)
        self.flush()

        checkpoints = db.session.execute(
            select(Checkpoint.id, Checkpoint.community_id, Checkpoint.compound_id, Checkpoint.pattern,
                   Checkpoint.min_people, Checkpoint.max_people, Checkpoint.name)
            .where(Checkpoint.active.is_(True)).order_by(Checkpoint.id)).all()
        self.checkpoints = checkpoints
        existing = {(s.checkpoint_id, s.day, s.label): s for s in db.session.execute(
            select(Shift.id, Shift.checkpoint_id, Shift.day, Shift.label, Shift.starts_at, Shift.ends_at,
                   Shift.min_people, Shift.capacity))}
        taken = defaultdict(set)  # shift id -> people on it
        busy = set()  # (user, starts_at): a person's active shifts
        for shift_id, user_id, starts_at in db.session.execute(
                select(Signup.shift_id, Signup.user_id, Shift.starts_at).join(Shift, Shift.id == Signup.shift_id)
                .where(Signup.status.in_(ACTIVE_SIGNUP))):
            taken[shift_id].add(user_id)
            busy.add((user_id, starts_at))
        days = [self.first_day + timedelta(days=i) for i in range(self.days_back + duty.DAYS_AHEAD)]
        patterns = {}
        # Shifts grouped by community and start: the volunteers of that community who are free then.
        slots = defaultdict(list)
        for cp in checkpoints:
            if cp.pattern not in patterns:
                patterns[cp.pattern] = sorted(parse_daily_ranges(cp.pattern), key=lambda s: s[1])
            for day in days:
                for label, start, end in patterns[cp.pattern]:
                    old = existing.get((cp.id, day, label))
                    if old is not None:
                        shift = {"id": old.id, "starts_at": old.starts_at, "ends_at": old.ends_at,
                                 "min_people": old.min_people, "capacity": old.capacity, "new": False}
                    else:
                        starts, ends = duty.shift_bounds(day, start, end, self.zone)
                        shift = {"id": self.ids(Shift), "checkpoint_id": cp.id, "day": day, "label": label,
                                 "starts_at": starts, "ends_at": ends, "min_people": cp.min_people,
                                 "capacity": cp.max_people, "filled": 0, "status": "open", "off_pattern": False,
                                 "gap_alerted": False, "gap_alerts": 0, "noshow_listed": False, "new": True}
                    shift["cp"] = cp
                    slots[(cp.community_id, shift["starts_at"])].append(shift)
        volunteers = {c: self.holders[("volunteer", c)] for c, _n in self.communities}
        signups, shifts = [], []
        for (community_id, starts), group in slots.items():
            # Three teams take turns (三班轮值): a third of the community's volunteers serve each start.
            pool = volunteers.get(community_id, [])
            turn = (starts.astimezone(self.zone).hour // 8 + starts.astimezone(self.zone).toordinal()) % 3
            free = [u for u in pool[turn::3] if (u, starts) not in busy]
            spare = [u for u in pool if u not in set(pool[turn::3]) and (u, starts) not in busy]
            rng.shuffle(free)
            rng.shuffle(spare)
            rng.shuffle(group)
            for shift in group:
                people = self._staffing(shift)
                on = taken.get(shift["id"], set())
                want = max(0, people - len(on))
                chosen = [u for u in free[:want] if u not in on]
                del free[:want]
                for u in chosen:
                    busy.add((u, starts))
                    signups.append((shift, u, "active"))
                if rng.random() < 0.04 and spare:  # someone who withdrew in time
                    signups.append((shift, spare.pop(), "withdrawn"))
                shift["filled_py"] = len(on) + len(chosen)
                shifts.append(shift)
        for shift in shifts:
            if shift.pop("new"):
                row = {k: v for k, v in shift.items() if k not in ("cp", "filled_py")}
                self.add(Shift, row)
        self.flush(Shift.__table__)
        noshow = self._signups(signups, Signup)
        self.flush()
        for i in range(0, len(noshow), 900):
            db.session.execute(update(Shift).where(Shift.id.in_(noshow[i:i + 900])).values(noshow_listed=True)
                               .execution_options(synchronize_session=False))
        # The count of active sign-ups is the truth (the demo's own sign-ups included).
        active = select(func.count(Signup.id)).where(Signup.shift_id == Shift.id, Signup.status.in_(ACTIVE_SIGNUP))
        db.session.execute(update(Shift).values(filled=active.scalar_subquery())
                           .execution_options(synchronize_session=False))
        # The gap alerts went out for every short shift that has started or starts within 24 hours.
        short = and_(Shift.filled < Shift.min_people, Shift.status == "open",
                     Shift.starts_at <= now + timedelta(hours=24))
        gap_ids = db.session.execute(select(Shift.id, Shift.checkpoint_id, Shift.starts_at, Shift.filled,
                                            Shift.min_people).where(short)).all()
        db.session.execute(update(Shift).where(short).values(gap_alerted=True, gap_alerts=1)
                           .execution_options(synchronize_session=False))
        cps = {cp.id: cp for cp in checkpoints}
        for shift_id, cp_id, starts, filled, least in gap_ids:
            cp = cps[cp_id]
            staff = self._grid_staff(cp) + [self.secretary.get(cp.community_id)]
            self.notify(staff, "duty_gap", f"缺人：{cp.name} {starts.astimezone(self.zone):%m-%d %H:%M}",
                        f"已报名 {filled} 人，至少需要 {least} 人。", f"shift-gap:{shift_id}:1",
                        f"/duty/roster?day={starts.astimezone(self.zone).date().isoformat()}",
                        starts - timedelta(hours=self.rng.uniform(2, 24)), urgent=True, sms=True)

    def _staffing(self, shift) -> int:
        """How many people a shift gets: mostly its minimum, some full, some short; sign-ups thin out
        further ahead."""
        rng = self.rng
        ahead = (shift["starts_at"] - self.now).total_seconds() / 86400
        if ahead > 3 and rng.random() > max(0.0, 1 - (ahead - 3) / 9.5):
            return 0
        r = rng.random()
        if r < 0.08:
            return shift["min_people"] - 1
        return shift["min_people"] if r < 0.75 else shift["capacity"]

    def _grid_staff(self, cp) -> list:
        if cp.compound_id:
            grid_ids = [self.compound_by_id[cp.compound_id].grid_id]
        else:
            grid_ids = self.grids_of[cp.community_id]
        return [self.grid_member[g] for g in grid_ids if g in self.grid_member]

    def _signups(self, signups, Signup) -> None:
        rng, now = self.rng, self.now
        noshow_shifts = set()
        for shift, user_id, kind in signups:
            starts, ends, cp = shift["starts_at"], shift["ends_at"], shift["cp"]
            staff = self._grid_staff(cp) or [self.secretary.get(cp.community_id)]
            signed_at = min(now - timedelta(minutes=5), starts - timedelta(hours=rng.uniform(13, 120)))
            row = {"id": self.ids(Signup), "shift_id": shift["id"], "user_id": user_id, "status": "signed_up",
                   "signed_up_at": signed_at, "assigned_by_id": staff[0] if rng.random() < 0.1 else None,
                   "checked_in_at": None, "checked_out_at": None, "ended_at": None, "ended_by_id": None,
                   "reason": "", "reminded_at": None}
            if kind == "withdrawn":
                row.update(status="withdrawn", assigned_by_id=None, ended_by_id=user_id,
                           ended_at=self.between(signed_at, min(now, starts - timedelta(hours=12))))
                self.add(Signup, row)
                continue
            if starts - timedelta(hours=2) <= now:
                row["reminded_at"] = starts - timedelta(hours=2)
            if ends <= now:
                r = rng.random()
                if r < 0.05:
                    row.update(status="no_show", ended_by_id=staff[0],
                               ended_at=min(now, ends + timedelta(hours=rng.uniform(1, 12))))
                    noshow_shifts.add(shift["id"])
                elif r < 0.08 and ends > now - timedelta(hours=36):  # not yet confirmed by staff
                    noshow_shifts.add(shift["id"])
                else:
                    row.update(status="checked_out", checked_in_at=starts - timedelta(minutes=rng.uniform(0, 25)),
                               checked_out_at=min(now, ends + timedelta(minutes=rng.uniform(-5, 20))))
            elif starts <= now:
                if rng.random() < 0.92:
                    row.update(status="checked_in", checked_in_at=starts - timedelta(minutes=rng.uniform(0, 25)))
            self.add(Signup, row)
            if row["reminded_at"]:
                local = starts.astimezone(self.zone)
                self.notify([user_id], "duty_reminder", f"{local:%m-%d %H:%M} 在{cp.name}值班",
                            f"您的班次将于 {local:%H:%M} 开始，到岗后请签到。",
                            f"shift-reminder:{row['id']}", "/duty/mine", row["reminded_at"], sms=True)
        # The no-show sweep listed these shifts for the staff to confirm.
        for shift in {s["id"]: s for s, _u, _k in signups if s["id"] in noshow_shifts}.values():
            cp, day = shift["cp"], shift["starts_at"].astimezone(self.zone).date()
            self.notify(self._grid_staff(cp), "duty_no_show", f"请确认缺岗：{cp.name} {day.isoformat()}",
                        "有人未签到，请在排班表上标记。", f"shift-noshow:{shift['id']}",
                        f"/duty/roster?day={day.isoformat()}", shift["ends_at"] + timedelta(minutes=5))
        return sorted(noshow_shifts)

    # disinfection: points, risk tiers, a slot per point × window × day, rounds, flags, notices

    def disinfection(self) -> None:
        from gridapp.disinfection import services as dis
        from gridapp.disinfection.models import (
            CompoundRisk,
            DisinfectionFlag,
            DisinfectionPoint,
            DisinfectionRound,
            DisinfectionSlot,
        )
        spec, rng, now = self.spec, self.rng, self.now
        have = dict(db.session.execute(select(DisinfectionPoint.community_id, func.count(DisinfectionPoint.id))
                                       .group_by(DisinfectionPoint.community_id)).all())
        with_points = set(db.session.scalars(select(DisinfectionPoint.compound_id).distinct()))
        places_have = dict(db.session.execute(
            select(DisinfectionPoint.community_id, func.count(func.distinct(DisinfectionPoint.place_name)))
            .where(DisinfectionPoint.compound_id.is_(None)).group_by(DisinfectionPoint.community_id)).all())
        tiers = dict(db.session.execute(select(CompoundRisk.compound_id, CompoundRisk.tier)).all())

        def point(community_id, compound_id, place_name, name, kind, task="disinfection", windows=""):
            self.add(DisinfectionPoint, {
                "id": self.ids(DisinfectionPoint), "community_id": community_id, "compound_id": compound_id,
                "place_name": place_name, "name": name, "kind": kind, "task": task, "windows": windows,
                "active": True, "last_disinfectant": rng.choice(DISINFECTANTS) if task == "disinfection" else "",
                "created_at": self.history_start})

        new_by_community = defaultdict(list)
        for k in self.compounds:
            if k.id not in with_points:
                new_by_community[k.community_id].append(k)
        for community_id, _n in self.communities:
            for j in range(places_have.get(community_id, 0), spec.public_places):
                place, kind, name = PUBLIC_PLACES[j % len(PUBLIC_PLACES)]
                place = place if j < len(PUBLIC_PLACES) else f"{place}{j // len(PUBLIC_PLACES) + 1}号店"
                point(community_id, None, place, name, kind,
                      task="disinfection", windows="09:00-12:00,15:00-19:00" if kind == "shop" else "")
            fresh = new_by_community[community_id]
            budget = spec.points - have.get(community_id, 0) - max(0, spec.public_places -
                                                                   places_have.get(community_id, 0))
            total = sum(self.compound_sizes.get(k.id, 0) for k in fresh) or 1
            for k in fresh:
                n = max(2, round(budget * self.compound_sizes.get(k.id, 0) / total))
                point(community_id, k.id, "", "垃圾收集点", "garbage_point", task="garbage")
                for e in range((n - 1) // 2):
                    point(community_id, k.id, "", f"电梯 {e + 1}" if (n - 1) // 2 > 1 else "电梯", "elevator")
                stairs = n - 1 - (n - 1) // 2
                for s in range(stairs):
                    point(community_id, k.id, "", f"楼道 {s + 1}" if stairs > 1 else "楼道", "stairwell",
                          windows="06:00-10:00,17:00-21:00")
                r = rng.random()
                tier = "high" if r < 0.1 else "low" if r < 0.18 else "normal" if r < 0.22 else None
                if tier:
                    tiers[k.id] = tier
                    self.add(CompoundRisk, {"compound_id": k.id, "tier": tier, "updated_at": self.history_start})
        self.flush()
        db.session.execute(update(DisinfectionPoint).values(created_at=self.history_start))
        # The demo's week of rounds (and its notices of misses) gives way to the full history below.
        from gridapp.notifications.models import Notification, OutboxMessage

        db.session.execute(delete(DisinfectionRound))
        db.session.execute(delete(DisinfectionSlot))
        for model in (Notification, OutboxMessage):
            db.session.execute(delete(model).where(model.kind.in_(("disinfection_missed", "disinfection_compound"))))

        points = db.session.execute(
            select(DisinfectionPoint.id, DisinfectionPoint.compound_id, DisinfectionPoint.community_id,
                   DisinfectionPoint.task, DisinfectionPoint.windows, DisinfectionPoint.name,
                   DisinfectionPoint.place_name, DisinfectionPoint.last_disinfectant)
            .where(DisinfectionPoint.active.is_(True)).order_by(DisinfectionPoint.id)).all()
        grace = dis.grace()
        days = [self.first_day + timedelta(days=i) for i in range(self.days_back + 2)]
        parsed, bounds = {}, {}
        missed_groups = defaultdict(list)  # (place key, day, window) -> point names
        miss_days = defaultdict(set)
        miss_time = {}
        compound_misses = Counter()
        # Each point's windows, who ticks it and how often it is missed, then the days in order: the
        # five-minute sweep makes a whole day's slots at once, so a day's rows sit together on disk.
        plan = []
        for p in points:
            spec_text = dis.effective_windows(p, tiers.get(p.compound_id, "normal"))
            if spec_text not in parsed:
                parsed[spec_text] = dis.parse_windows(spec_text)
            k = self.compound_by_id.get(p.compound_id)
            if k is not None and k.property_company_id:
                ticker = self.manager_of(k.property_company_id)
            elif k is not None:
                ticker = self.grid_member.get(k.grid_id) or self.secretary.get(p.community_id)
            else:
                ticker = self.secretary.get(p.community_id)
            miss_rate = 0.15 if rng.random() < 0.08 else 0.02  # a few points are chronic offenders
            plan.append((p, parsed[spec_text], ticker, miss_rate))
        if plan:  # and one place misses most rounds, so that every level has points flagged
            worst = rng.randrange(len(plan))
            plan[worst] = plan[worst][:3] + (0.6,)
        for day in days:
            for p, windows, ticker, miss_rate in plan:
                for label, start, end in windows:
                    key = (day, label)
                    if key not in bounds:
                        bounds[key] = dis.window_bounds(day, start, end)
                    starts, ends = bounds[key]
                    slot_id = self.ids(DisinfectionSlot)
                    row = {"id": slot_id, "point_id": p.id, "day": day, "window": label, "starts_at": starts,
                           "ends_at": ends, "status": "pending", "done_at": None, "done_by_id": None,
                           "late": False, "missed_at": None}
                    if ends + grace <= now:
                        if rng.random() < miss_rate:
                            row.update(status="missed", missed_at=ends + grace + timedelta(minutes=rng.uniform(0, 5)))
                            place = f"k{p.compound_id}" if p.compound_id else f"p{p.id}"
                            missed_groups[(place, day, label)].append(p)
                            miss_days[p.id].add(day)
                            miss_time[(p.id, day)] = row["missed_at"]
                            if p.compound_id:
                                compound_misses[(p.compound_id, day)] += 1
                        else:
                            late = rng.random() < 0.06
                            done = self.between(ends, ends + grace) if late else self.between(starts, ends)
                            row.update(status="done", done_at=done, done_by_id=ticker, late=late)
                    elif starts <= now and rng.random() < 0.5:
                        late = ends <= now
                        row.update(status="done", done_at=self.between(starts, min(now, ends + grace)),
                                   done_by_id=ticker, late=late)
                    self.add(DisinfectionSlot, row)
                    if row["status"] == "done" and ticker:
                        self.add(DisinfectionRound, {
                            "id": self.ids(DisinfectionRound), "point_id": p.id, "slot_id": slot_id,
                            "kind": "late" if row["late"] else "on_time", "ticked_at": row["done_at"],
                            "ticked_by_id": ticker, "disinfectant": p.last_disinfectant, "note": "", "photo": "",
                            "tick_token": None})
                if ticker and day < self.today and rng.random() < 0.01:  # an extra round after a complaint
                    self.add(DisinfectionRound, {
                        "id": self.ids(DisinfectionRound), "point_id": p.id, "slot_id": None, "kind": "extra",
                        "ticked_at": self._local(day, time(rng.randint(12, 22), rng.randint(0, 59))),
                        "ticked_by_id": ticker, "disinfectant": p.last_disinfectant, "note": "居民反映，加消一次",
                        "photo": "", "tick_token": None})
        self.flush()
        self._disinfection_notices(points, missed_groups, compound_misses)
        self._flags(points, miss_days, miss_time, DisinfectionFlag)
        self.flush()
        dis.tally_closed_days(self.today)  # as the five-minute sweep has done over those days

    def _responsible(self, p) -> list:
        k = self.compound_by_id.get(p.compound_id)
        if k is not None and k.property_company_id:
            return self.holders.get(("property_manager", k.property_company_id), [])
        people = [self.secretary.get(p.community_id)]
        if k is not None and k.grid_id in self.grid_member:
            people.append(self.grid_member[k.grid_id])
        return people

    def _disinfection_notices(self, points, missed_groups, compound_misses) -> None:
        for (place, day, label), pts in missed_groups.items():
            p = pts[0]
            k = self.compound_by_id.get(p.compound_id)
            where = k.name if k is not None else p.place_name
            self.notify(self._responsible(p), "disinfection_missed", f"漏消：{where} {label}",
                        f"{day.isoformat()} {label} 未完成：{'、'.join(x.name for x in pts)}",
                        f"disinfection-missed:{place}:{day.isoformat()}:{label}", "/disinfection/",
                        self._window_end(day, label), urgent=True, sms=True)
        for (compound_id, day), n in compound_misses.items():
            if n < 3:
                continue
            k = self.compound_by_id[compound_id]
            self.notify([self.secretary.get(k.community_id)], "disinfection_compound",
                        f"{k.name} {day.isoformat()} 漏消 {n} 次", "请查看消杀合规看板。",
                        f"disinfection-compound:{compound_id}:{day.isoformat()}",
                        f"/disinfection/board/compounds/{compound_id}", self._window_end(day, "21:00-21:00"))

    def _window_end(self, day: date, label: str) -> datetime:
        hh, mm = label[-5:].split(":")
        if hh == "24":
            return self._local(day + timedelta(days=1), time(0)) + timedelta(minutes=31)
        return self._local(day, time(int(hh), int(mm))) + timedelta(minutes=31)

    def _flags(self, points, miss_days, miss_time, DisinfectionFlag) -> None:
        """The daily rule of raise_flags replayed: three days running with a miss raise a flag unless
        one is open; flags older than two days have been resolved by the secretary."""
        rng = self.rng
        by_id = {p.id: p for p in points}
        for point_id, missed in miss_days.items():
            p = by_id[point_id]
            open_until = None  # when the current flag was resolved (None: no flag, or still open)
            has_open = False
            for day in sorted(missed):
                if not ({day - timedelta(days=1), day - timedelta(days=2)} <= missed):
                    continue
                at = miss_time[(point_id, day)]
                if has_open and (open_until is None or open_until > at):
                    continue
                flag_id = self.ids(DisinfectionFlag)
                resolved = at + timedelta(hours=rng.uniform(2, 20)) if day < self.today - timedelta(days=2) else None
                secretary = self.secretary.get(p.community_id)
                self.add(DisinfectionFlag, {"id": flag_id, "point_id": point_id, "community_id": p.community_id,
                                            "last_day": day, "created_at": at, "resolved_at": resolved,
                                            "resolved_by_id": secretary if resolved else None})
                has_open, open_until = True, resolved
                k = self.compound_by_id.get(p.compound_id)
                where = k.name if k is not None else p.place_name
                self.notify([secretary], "disinfection_flag", f"{where} {p.name} 连续三天漏消",
                            "请督促责任方整改。", f"disinfection-flag:{flag_id}", "/disinfection/board", at)

    # errands: 30 days of errands for housebound households, in every state, with their timelines

    def errands(self) -> None:
        from gridapp.errands.models import ContactView, Errand, ErrandEvent, UrgentOptIn
        from gridapp.grid.models import Household

        spec, rng, now = self.spec, self.rng, self.now
        households = defaultdict(list)
        for hid, compound_id in db.session.execute(select(Household.id, Household.compound_id)
                                                   .where(Household.housebound.is_(True))):
            k = self.compound_by_id[compound_id]
            households[k.community_id].append((hid, k))
        # The errand settings (gridapp/config.py) the history must agree with.
        from gridapp.errands import services as es

        self.claim_timeout = {u: es.claim_timeout(u) for u in (False, True)}
        self.claim_room = max(1, es.max_active_claims() - 1)  # leave room for a claim in the storms
        self.urgent_after, self.unconfirmed_after = es.urgent_unclaimed_after(), es.unconfirmed_after()
        # Claims held already (the demo's errands): nobody goes above the claim limit.
        active = Counter(dict(db.session.execute(
            select(Errand.claimant_id, func.count(Errand.id)).where(Errand.status.in_(("claimed", "purchased")))
            .group_by(Errand.claimant_id)).all()))
        opted_in = set(db.session.scalars(select(UrgentOptIn.user_id)))
        vol1 = db.session.scalar(text("SELECT id FROM users WHERE username = 'vol1'"))
        for community_id, _n in self.communities:
            vols = self.holders[("volunteer", community_id)]
            for u in vols:
                if rng.random() < 0.2 and u not in opted_in:
                    self.add(UrgentOptIn, {"user_id": u, "created_at": self.history_start})
            homes = households.get(community_id)
            if not homes or not vols:
                continue
            # Half the volunteers take errands these days; the others are free for the storms.
            busy_vols = [u for u in vols if u != vol1][: len(vols) // 2] + [u for u in vols if u == vol1]
            for d in range(self.days_back + 1):
                day = self.first_day + timedelta(days=d + 1)
                lo = self._local(day, time(7))
                hi = min(now, self._local(day, time(21)))
                if hi <= lo:
                    continue
                for _i in range(spec.errands_per_day):
                    self._errand(community_id, homes, vols, busy_vols, active, self.between(lo, hi),
                                 Errand, ErrandEvent, ContactView)
            # And the ones on their way right now, so that every state is there at every level.
            for plan in ("claimed", "purchased", "delivered", "open"):
                for _i in range(spec.waiting if plan == "open" else max(1, spec.errands_per_day // 8)):
                    self._errand(community_id, homes, vols, busy_vols, active, None, Errand, ErrandEvent,
                                 ContactView, plan=plan)

    def _errand(self, community_id, homes, vols, busy_vols, active, filed_at, Errand, ErrandEvent,
                ContactView, plan: str | None = None) -> None:
        """One errand filed at `filed_at`, taken as far as its (random) pace allows by now; or, with
        `plan` ("claimed", "purchased", "delivered"), one that is in that state now."""
        rng, now = self.rng, self.now
        hid, k = rng.choice(homes)
        filer = (self.grid_member.get(k.grid_id) or self.secretary.get(community_id))
        r = rng.random()
        category = "daily" if r < 0.55 else "medicine" if r < 0.85 else "matter" if r < 0.93 else "other"
        urgent = rng.random() < (0.3 if category == "medicine" else 0.08)
        timeout = self.claim_timeout[urgent]
        if plan == "open":
            filed_at = now - timedelta(minutes=rng.uniform(5, 180))
        elif plan:
            later = now + timedelta(days=2)
            if plan == "claimed":
                planned = [now - timeout * rng.uniform(0.05, 0.8), later, later, later]
            elif plan == "purchased":
                purchased = now - timedelta(minutes=rng.uniform(2, 60))
                planned = [purchased - timeout * rng.uniform(0.1, 0.8), purchased, later, later]
            else:
                delivered = now - timedelta(minutes=rng.uniform(5, 600))
                purchased = delivered - timedelta(minutes=rng.uniform(10, 90))
                planned = [purchased - timeout * rng.uniform(0.1, 0.8), purchased, delivered, later]
            filed_at = planned[0] - timedelta(minutes=rng.uniform(5, 180))
        items = rng.sample(ERRAND_ITEMS[category], k=min(len(ERRAND_ITEMS[category]), rng.randint(1, 4)))
        needed_by = filed_at + timedelta(hours=rng.uniform(1.5, 4) if urgent else rng.uniform(6, 36))
        estimate = rng.randint(10, 300) * 100 if category != "matter" else None
        errand_id = self.ids(Errand)
        row = {"id": errand_id, "household_id": hid, "compound_id": k.id, "grid_id": k.grid_id,
               "community_id": community_id, "category": category, "items": "\n".join(items),
               "estimated_cost_cents": estimate, "needed_by_at": needed_by, "urgent": urgent,
               "notes": "放门口，电话联系" if rng.random() < 0.2 else "", "pay_on_delivery": rng.random() < 0.7,
               "status": "open", "filed_by_id": filer, "filed_at": filed_at, "opened_at": filed_at,
               "claimant_id": None, "last_claimant_id": None, "claimed_at": None, "first_claimed_at": None,
               "claim_expires_at": None, "purchased_at": None, "actual_cost_cents": None, "receipt_photo": None,
               "delivered_at": None, "delivery_note": "", "delivery_photo": None, "confirmed_at": None,
               "confirmed_by_id": None, "money_settled": False, "cancelled_at": None, "cancelled_by_id": None,
               "cancel_reason": "", "urgent_alerted_at": None, "overdue_notified_at": None,
               "unconfirmed_reminded_at": None}
        events = [(filer, "filed", "", filed_at)]
        age = now - filed_at
        link = f"/errands/{errand_id}"
        notes = []  # (users, kind, title, key, at)
        views = []  # the claimant was shown the address (written after the errand)
        waiting = plan == "open"
        if waiting:
            pass
        elif plan:
            claim_at, purchase_at, deliver_at, confirm_at = planned
            claimant = rng.choice([u for u in busy_vols if active[u] < self.claim_room] or busy_vols)
        elif rng.random() < 0.05:  # cancelled by staff, sometimes after a claim
            at = self.between(filed_at + timedelta(minutes=10), min(now, filed_at + timedelta(hours=6)))
            if rng.random() < 0.4:
                claimant = rng.choice(vols)
                claimed = self.between(filed_at, at)
                row.update(claimant_id=claimant, claimed_at=claimed, first_claimed_at=claimed)
                events.append((claimant, "claimed", "", claimed))
            row.update(status="cancelled", cancelled_at=at, cancelled_by_id=filer,
                       cancel_reason="居民已自行解决")
            events.append((filer, "cancelled", "居民已自行解决", at))
            waiting = True  # (done with, rather)
        elif rng.random() < (0.65 if age < timedelta(hours=48) else 0.04):
            waiting = True  # still waiting for a volunteer
        else:
            claim_at = filed_at + timedelta(minutes=rng.uniform(3, min(360, max(4, age.total_seconds() / 60))))
            if rng.random() < 0.06:  # an earlier claim given back or expired
                first = rng.choice(vols)
                first_at = self.between(filed_at, claim_at)
                gave_back = rng.random() < 0.5
                back_at = min(claim_at, first_at + (timedelta(minutes=rng.uniform(5, 60)) if gave_back else timeout))
                events += [(first, "claimed", "", first_at),
                           (first, "released", "临时有事", back_at) if gave_back else
                           (None, "expired", self.display.get(first, ""), back_at)]
                row.update(first_claimed_at=first_at, last_claimant_id=first, opened_at=back_at)
                claim_at = max(claim_at, back_at + timedelta(minutes=1))
            purchase_at = claim_at + timeout * rng.uniform(0.15, 0.85)  # before the claim would expire
            deliver_at = purchase_at + timedelta(minutes=rng.uniform(10, 90))
            confirm_at = deliver_at + timedelta(hours=rng.uniform(0.2, 12) if rng.random() < 0.95
                                                else rng.uniform(26, 60))
            if purchase_at > now or deliver_at > now:
                candidates = [u for u in busy_vols if active[u] < self.claim_room]
                claimant = rng.choice(candidates) if candidates else None
            else:
                claimant = rng.choice(vols)
        if not waiting:
            if claimant is None or claim_at > now:
                pass  # nobody free: it waits
            else:
                cost = (estimate or 0) + rng.randint(-500, 500) if estimate else 0
                cost = max(0, cost)
                row.update(status="claimed", claimant_id=claimant, claimed_at=claim_at,
                           first_claimed_at=row["first_claimed_at"] or claim_at, claim_expires_at=claim_at + timeout)
                events.append((claimant, "claimed", "", claim_at))
                notes.append(([filer], "errand_update", f"代办 #{errand_id} 已被{self.display.get(claimant, '')}认领",
                              f"errand-claimed:{errand_id}:{claim_at.isoformat()}", claim_at))
                views.append({"id": self.ids(ContactView), "errand_id": errand_id, "household_id": hid,
                              "user_id": claimant, "viewed_at": claim_at + timedelta(minutes=1), "ip": "10.0.0.1"})
                if purchase_at <= now:
                    row.update(status="purchased", purchased_at=purchase_at, actual_cost_cents=cost,
                               claim_expires_at=None)
                    events.append((claimant, "purchased", f"{cost / 100:.2f}", purchase_at))
                if deliver_at <= now and row["status"] == "purchased":
                    row.update(status="delivered", delivered_at=deliver_at, delivery_note="已送达")
                    events.append((claimant, "delivered", "已送达", deliver_at))
                    notes.append(([filer], "errand_update", f"代办 #{errand_id} 已送达",
                                  f"errand-delivered:{errand_id}", deliver_at))
                    if deliver_at + self.unconfirmed_after <= min(now, confirm_at):
                        row["unconfirmed_reminded_at"] = deliver_at + self.unconfirmed_after + timedelta(minutes=2)
                        notes.append(([filer], "errand_reminder", f"请确认代办 #{errand_id}",
                                      f"errand-unconfirmed:{errand_id}", row["unconfirmed_reminded_at"]))
                if confirm_at <= now and row["status"] == "delivered":
                    row.update(status="confirmed", confirmed_at=confirm_at, confirmed_by_id=filer, money_settled=True)
                    events.append((filer, "confirmed", "", confirm_at))
                    notes.append(([claimant], "errand_update", f"代办 #{errand_id} 已确认，谢谢",
                                  f"errand-confirmed:{errand_id}", confirm_at))
                if row["status"] in ("claimed", "purchased"):
                    active[claimant] += 1
        # The sweeps' markers, as the jobs would have left them.
        done_at = row["delivered_at"] or row["cancelled_at"]
        if needed_by + timedelta(minutes=2) <= now and (done_at is None or done_at > needed_by):
            row["overdue_notified_at"] = needed_by + timedelta(minutes=2)
            notes.append(([filer, self.grid_member.get(k.grid_id)], "errand_reminder",
                          f"代办 #{errand_id} 已超过需要时间", f"errand-overdue:{errand_id}",
                          row["overdue_notified_at"]))
        if urgent:
            waited_until = row["claimed_at"] or row["cancelled_at"] or now
            if waited_until - row["opened_at"] > self.urgent_after:
                row["urgent_alerted_at"] = row["opened_at"] + self.urgent_after + timedelta(minutes=1)
                notes.append(([self.grid_member.get(k.grid_id)], "errand_urgent", f"紧急代办 #{errand_id} 仍无人认领",
                              f"errand-urgent-unclaimed:{errand_id}:{row['opened_at'].isoformat()}",
                              row["urgent_alerted_at"]))
        self.add(Errand, row)
        for view in views:
            self.add(ContactView, view)
        for actor, action, note, at in sorted(events, key=lambda e: e[3]):
            self.add(ErrandEvent, {"id": self.ids(ErrandEvent), "errand_id": errand_id, "actor_id": actor,
                                   "action": action, "note": note, "created_at": at})
        for users, kind, title, key, at in notes:
            self.notify(users, kind, title, "", key, link, at, urgent=kind == "errand_urgent",
                        sms=kind == "errand_urgent")

    # supervision: inspections, findings, items in every state and level, events, interviews, circulars

    def supervision(self) -> None:
        from gridapp.supervision import services as sv
        from gridapp.supervision.models import (
            Circular,
            Finding,
            Inspection,
            Interview,
            ItemComment,
            ItemEvent,
            RectificationItem,
            circular_items,
            inspection_participants,
            interview_items,
        )

        spec, rng, now = self.spec, self.rng, self.now
        sup = self.supervisors or [None]
        unit_community = {}
        for k in self.compounds:
            if k.work_unit_id and k.work_unit_id not in unit_community:
                unit_community[k.work_unit_id] = k.community_id
        compounds_of = defaultdict(list)
        for k in self.compounds:
            compounds_of[k.community_id].append(k)
        cps_of = defaultdict(list)
        for cp in self.checkpoints:
            cps_of[cp.community_id].append(cp)
        from gridapp.duty.models import Checkpoint
        from gridapp.grid.models import WorkUnit

        cp_units = dict(db.session.execute(select(Checkpoint.id, Checkpoint.work_unit_id)).all())
        unit_names = dict(db.session.execute(select(WorkUnit.id, WorkUnit.name)).all())
        units_here = defaultdict(list)
        for u, c in sorted(unit_community.items()):
            units_here[c].append(u)

        def first(role, scope):
            ids = self.holders.get((role, scope))
            return ids[0] if ids else None

        items = []  # (id, status, level, community_id, owner)
        n_item = 0
        for community_id, community_name in self.communities:
            count = int(round(spec.inspections_per_day * self.days_back))
            for _i in range(count):
                planned = self.between(self.history_start + timedelta(days=1), now - timedelta(minutes=30))
                r = rng.random()
                if r < 0.55:
                    k = rng.choice(compounds_of[community_id])
                    target = ("compound", k.id, k.name, community_id,
                              self.manager_of(k.property_company_id) if k.property_company_id else
                              first("building_head", k.id) or self.grid_member.get(k.grid_id))
                elif r < 0.75 and cps_of[community_id]:
                    cp = rng.choice(cps_of[community_id])
                    unit = cp_units.get(cp.id)
                    owner = (first("unit_contact", unit) if unit else None) or (
                        self.grid_member.get(self.compound_by_id[cp.compound_id].grid_id) if cp.compound_id else
                        None) or self.secretary.get(community_id)
                    target = ("checkpoint", cp.id, cp.name, community_id, owner)
                elif r < 0.85 and unit_community:
                    unit = rng.choice(units_here.get(community_id) or sorted(unit_community))
                    target = ("work_unit", unit, unit_names[unit], unit_community[unit], first("unit_contact", unit))
                else:
                    target = ("community", community_id, community_name, community_id,
                              self.secretary.get(community_id))
                inspection_id = self.ids(Inspection)
                kind = rng.choice(("routine", "routine", "unannounced", "follow_up"))
                self.add(Inspection, {"id": inspection_id, "kind": kind, "planned_at": planned,
                                      "target_type": target[0], "target_id": target[1], "target_name": target[2],
                                      "community_id": target[3], "participants": "督查组", "summary": "",
                                      "created_by_id": sup[0], "created_at": planned - timedelta(hours=2)})
                for u in sup:
                    if u:
                        self.add(inspection_participants, {"inspection_id": inspection_id, "user_id": u})
                for _f in range(rng.choice((1, 1, 2, 3))):
                    items.append(self._item(n_item, inspection_id, planned, target, sup, Finding, RectificationItem,
                                            ItemEvent, ItemComment, sv))
                    n_item += 1
        self.flush()
        # Interviews (约谈) about overdue items, and circulars (通报) on a few items each, twice a week.
        late = [i for i in items if i[2] > 0]
        weeks = self.days_back / 7
        n_interviews = max(1, round(3 * weeks * len(self.communities) / TOWN_COMMUNITIES))
        for j in range(n_interviews):
            pick = late[j % len(late)] if late else items[j % len(items)]
            held = self.today - timedelta(days=rng.randint(0, self.days_back - 1))
            interview_id = self.ids(Interview)
            person = pick[4]
            self.add(Interview, {"id": interview_id, "person_name": self.display.get(person, "责任人"),
                                 "person_id": person, "interviewer": "督查组", "reason": "整改逾期，约谈提醒",
                                 "held_on": held, "created_by_id": sup[0],
                                 "created_at": self._local(held, time(10))})
            self.add(interview_items, {"interview_id": interview_id, "item_id": pick[0]})
        number = (db.session.scalar(select(func.max(Circular.number))) or 0)
        n_circulars = max(1, round(4 * weeks * len(self.communities) / TOWN_COMMUNITIES))
        for j in range(n_circulars):
            number += 1
            issued = self.first_day + timedelta(days=j * self.days_back // n_circulars)
            circular_id = self.ids(Circular)
            title = f"关于督办整改情况的通报（第{number}期）"
            self.add(Circular, {"id": circular_id, "number": number, "title": title,
                                "body": "各社区、各单位：\n" + title + "。", "issued_on": issued,
                                "created_by_id": sup[0], "created_at": self._local(issued, time(16))})
            for pick in rng.sample(items, k=min(3, len(items))):
                self.add(circular_items, {"circular_id": circular_id, "item_id": pick[0]})

    def _item(self, n, inspection_id, planned, target, sup, Finding, RectificationItem, ItemEvent, ItemComment, sv):
        rng, now = self.rng, self.now
        ttype, tid, tname, community_id, owner = target
        issued = planned + timedelta(minutes=rng.uniform(20, 90))
        issued = min(issued, now - timedelta(minutes=5))
        severity = ("minor", "major", "critical")[n % 3] if n < 6 else rng.choice(
            ("minor", "minor", "major", "major", "major", "critical"))
        category = rng.choice(list(SUPERVISION_NOTES))
        due_hours = sv.DUE_HOURS[severity]
        # What the owner did: acknowledge after a while, submit, then the team verifies or rejects.
        outcome = ("verified", "submitted", "acknowledged", "issued", "rejected", "late")[n] if n < 6 else None
        if outcome is None:
            r = rng.random()
            outcome = ("verified" if r < 0.62 else "submitted" if r < 0.7 else "acknowledged" if r < 0.78 else
                       "issued" if r < 0.86 else "rejected" if r < 0.93 else "late")
        finding_id, item_id = self.ids(Finding), self.ids(RectificationItem)
        checker = sup[n % len(sup)]
        self.add(Finding, {"id": finding_id, "inspection_id": inspection_id, "category": category,
                           "severity": severity, "description": f"督查发现：{SUPERVISION_NOTES[category]}，限期整改",
                           "recorded_by_id": sup[0], "recorded_at": issued})
        row = {"id": item_id, "finding_id": finding_id, "target_type": ttype, "target_id": tid,
               "target_name": tname, "community_id": community_id, "category": category, "severity": severity,
               "description": f"督查发现：{SUPERVISION_NOTES[category]}，限期整改", "owner_id": owner,
               "status": "issued", "issued_at": issued, **sv.clock(severity, issued), "escalation_level": 0,
               "level1_at": None, "level2_at": None, "acknowledged_at": None, "submitted_at": None,
               "submitted_by_id": None, "evidence": "", "verified_at": None, "verified_by_id": None,
               "reject_reason": ""}
        events = [(sup[0], "issued", "", issued)]
        link = f"/supervision/items/{item_id}"
        notes = [([owner], "supervision_item", f"整改事项 #{item_id} 已交办给您", f"supervision-issued:{item_id}",
                  issued, severity == "critical", False)]
        due = timedelta(hours=due_hours)
        # The times of the steps; "late" items are acted on only after their due time.
        slow = outcome == "late" or rng.random() < 0.25
        ack = issued + due * rng.uniform(0.05, 0.3)
        submit = ack + due * (rng.uniform(0.9, 2.5) if slow else rng.uniform(0.2, 0.6))
        check = submit + timedelta(hours=rng.uniform(1, 20))
        end_of_clock = now  # when the clock (of the current due time) stopped
        if outcome == "issued" or ack > now:
            ack = None
        if ack:
            row.update(status="acknowledged", acknowledged_at=ack)
            events.append((owner, "acknowledged", "", ack))
            if outcome in ("verified", "submitted", "rejected", "late") and submit <= now:
                row.update(status="submitted", submitted_at=submit, submitted_by_id=owner,
                           evidence="已整改，附整改说明")
                events.append((owner, "submitted", "已整改，附整改说明", submit))
                end_of_clock = submit
                if outcome in ("verified", "late") and check <= now:
                    row.update(status="verified", verified_at=check, verified_by_id=checker)
                    events.append((checker, "verified", "", check))
                elif outcome == "rejected" and check <= now:
                    events.append((checker, "rejected", "整改不彻底，请重新整改", check))
                    self._escalations(row, events, notes, issued, submit, item_id)
                    row.update(status="rejected", reject_reason="整改不彻底，请重新整改", submitted_at=None,
                               **sv.clock(severity, check))
                    notes.append(([owner], "supervision_item", f"整改事项 #{item_id} 被退回",
                                  f"supervision-rejected:{item_id}:{row['due_at'].isoformat()}", check, False, False))
                    self._escalations(row, events, notes, check, now, item_id)
                    end_of_clock = None
        if end_of_clock is not None:
            self._escalations(row, events, notes, issued, end_of_clock, item_id)
        self.add(RectificationItem, row)
        if rng.random() < 0.2:
            self.add(ItemComment, {"id": self.ids(ItemComment), "item_id": item_id, "author_id": owner or sup[0],
                                   "body": "已安排专人整改，请督查组复核。", "created_at": min(now, issued + due / 2)})
        for actor, action, note, at in sorted(events, key=lambda e: e[3]):
            self.add(ItemEvent, {"id": self.ids(ItemEvent), "item_id": item_id, "actor_id": actor, "action": action,
                                 "note": note, "created_at": at})
        for users, kind, title, key, at, urgent, sms in notes:
            self.notify(users, kind, title, f"{tname}：{SUPERVISION_NOTES[category]}", key, link, at,
                        urgent=urgent, sms=sms)
        return (item_id, row["status"], row["escalation_level"], community_id, owner)

    def _escalations(self, row, events, notes, start, end, item_id) -> None:
        """What the reminder and escalation sweeps did while the clock ran from `start` to `end`."""
        item_due = row["due_at"]
        if row["warn_at"] <= end and row["warn_at"] < item_due and row["warned_at"] is None:
            row["warned_at"] = row["warn_at"] + timedelta(minutes=2)
            notes.append(([row["owner_id"]], "supervision_reminder", f"整改事项 #{item_id} 即将到期",
                          f"supervision-warn:{item_id}:{item_due.isoformat()}", row["warned_at"],
                          row["severity"] == "critical", True))
        if item_due <= end:
            row["due_notified_at"] = item_due + timedelta(minutes=2)
            notes.append(([row["owner_id"]], "supervision_reminder", f"整改事项 #{item_id} 已到期",
                          f"supervision-due:{item_id}:{item_due.isoformat()}", row["due_notified_at"], True, True))
            if row["escalation_level"] < 1:
                row.update(escalation_level=1, level1_at=item_due + timedelta(minutes=2))
                events.append((None, "escalated", "1", row["level1_at"]))
                notes.append(([self.secretary.get(row["community_id"])] if row["community_id"] else self.leaders,
                              "supervision_escalation", f"逾期：整改事项 #{item_id} 升级至您（第1级）",
                              f"supervision-escalation:{item_id}:1", row["level1_at"],
                              row["severity"] == "critical", True))
        if row["escalation_level"] == 1 and row["level2_due_at"] <= end:
            row.update(escalation_level=2, level2_at=row["level2_due_at"] + timedelta(minutes=2))
            events.append((None, "escalated", "2", row["level2_at"]))
            notes.append((self.leaders, "supervision_escalation", f"逾期：整改事项 #{item_id} 升级至您（第2级）",
                          f"supervision-escalation:{item_id}:2", row["level2_at"], row["severity"] == "critical",
                          True))
