"""Disinfection of a benchmark dataset: points and risk tiers, a slot per point × window × day with
its round, written a day at a time as the five-minute sweep makes them; the misses with the notices
the sweep sent, the flags of three days running, and the days' tallies."""
from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta

from sqlalchemy import delete, func, select, update

from bench.seed.notifications import Notices
from gridapp.disinfection import keys
from gridapp.disinfection import services as dis
from gridapp.disinfection.models import (
    CompoundRisk,
    DisinfectionFlag,
    DisinfectionPoint,
    DisinfectionRound,
    DisinfectionSlot,
)
from gridapp.extensions import db
from gridapp.notifications.models import Notification, OutboxMessage

PUBLIC_PLACES = [("惠民超市", "shop", "门店"), ("仁和大药房", "shop", "门店"), ("农贸市场", "activity_area", "市场"),
                 ("公共厕所", "public_toilet", "厕所"), ("文化广场", "activity_area", "广场"),
                 ("粮油店", "shop", "门店"), ("便民菜店", "shop", "门店"), ("卫生室", "other", "诊室")]
DISINFECTANTS = ["84消毒液 1:100", "含氯消毒剂 500mg/L", "75%酒精", "过氧乙酸 0.2%"]


class DisinfectionPhase(Notices):
    """Points, risk tiers, a slot per point × window × day, rounds, flags, notices."""

    def disinfection(self) -> None:
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
                            place = keys.missed_place(p.compound_id, p.id)
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
        self._flags(points, miss_days, miss_time)
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
                        keys.disinfection_missed(place, day, label), "/disinfection/",
                        self._window_end(day, label), urgent=True, sms=True)
        for (compound_id, day), n in compound_misses.items():
            if n < 3:
                continue
            k = self.compound_by_id[compound_id]
            self.notify([self.secretary.get(k.community_id)], "disinfection_compound",
                        f"{k.name} {day.isoformat()} 漏消 {n} 次", "请查看消杀合规看板。",
                        keys.disinfection_compound(compound_id, day),
                        f"/disinfection/board/compounds/{compound_id}", self._window_end(day, "21:00-21:00"))

    def _window_end(self, day: date, label: str) -> datetime:
        hh, mm = label[-5:].split(":")
        if hh == "24":
            return self._local(day + timedelta(days=1), time(0)) + timedelta(minutes=31)
        return self._local(day, time(int(hh), int(mm))) + timedelta(minutes=31)

    def _flags(self, points, miss_days, miss_time) -> None:
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
                            "请督促责任方整改。", keys.disinfection_flag(point_id, day), "/disinfection/board", at)
