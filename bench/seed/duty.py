"""Duty of a benchmark dataset: the county's extra checkpoints, shifts from the first day of the
history to DAYS_AHEAD ahead, the sign-ups of three teams taking turns (check-ins, withdrawals,
no-shows), and the gap, reminder and no-show notices the sweeps sent."""
from collections import defaultdict
from datetime import timedelta

from sqlalchemy import and_, func, select, update

from bench.seed.core import TOWN_COMMUNITIES
from bench.seed.grid import STREETS
from bench.seed.notifications import Notices
from gridapp.duty import keys
from gridapp.duty import services as duty
from gridapp.duty.models import ACTIVE_SIGNUP, Checkpoint, Shift, Signup
from gridapp.extensions import db
from gridapp.timeutil import parse_daily_ranges

DEMO_CHECKPOINTS = 107  # per four communities, as in the field report


class DutyPhase(Notices):
    """Checkpoints (county), shifts from 30 days back to 14 ahead, sign-ups, notices."""

    def duty(self) -> None:
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
        # (shift id, user): every sign-up there is, whatever its state: one a person per shift (the demo
        # town's withdrawals and no-shows included, which depend on the hour it was made at).
        signed = set()
        for shift_id, user_id, status, starts_at in db.session.execute(
                select(Signup.shift_id, Signup.user_id, Signup.status, Shift.starts_at)
                .join(Shift, Shift.id == Signup.shift_id)):
            signed.add((shift_id, user_id))
            if status in ACTIVE_SIGNUP:
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
                chosen = [u for u in free[:want] if u not in on and (shift["id"], u) not in signed]
                del free[:want]
                for u in chosen:
                    busy.add((u, starts))
                    signed.add((shift["id"], u))
                    signups.append((shift, u, "active"))
                if rng.random() < 0.04 and spare and (shift["id"], spare[-1]) not in signed:
                    signed.add((shift["id"], spare[-1]))  # someone who withdrew in time
                    signups.append((shift, spare.pop(), "withdrawn"))
                shift["filled_py"] = len(on) + len(chosen)
                shifts.append(shift)
        for shift in shifts:
            if shift.pop("new"):
                row = {k: v for k, v in shift.items() if k not in ("cp", "filled_py")}
                self.add(Shift, row)
        self.flush(Shift.__table__)
        noshow = self._signups(signups)
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
                        f"已报名 {filled} 人，至少需要 {least} 人。", keys.shift_gap(shift_id, 1),
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

    def _signups(self, signups) -> list:
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
                            keys.shift_reminder(row["id"]), "/duty/mine", row["reminded_at"], sms=True)
        # The no-show sweep listed these shifts for the staff to confirm.
        for shift in {s["id"]: s for s, _u, _k in signups if s["id"] in noshow_shifts}.values():
            cp, day = shift["cp"], shift["starts_at"].astimezone(self.zone).date()
            self.notify(self._grid_staff(cp), "duty_no_show", f"请确认缺岗：{cp.name} {day.isoformat()}",
                        "有人未签到，请在排班表上标记。", keys.shift_noshow(shift["id"]),
                        f"/duty/roster?day={day.isoformat()}", shift["ends_at"] + timedelta(minutes=5))
        return sorted(noshow_shifts)
