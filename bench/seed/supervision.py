"""Supervision of a benchmark dataset: inspections and their findings, rectification items in every
state and at every escalation level with their events, comments and the reminder and escalation
notices the sweeps sent; interviews (约谈) about late items and circulars (通报) twice a week."""
from collections import defaultdict
from datetime import time, timedelta

from sqlalchemy import func, select

from bench.seed.core import TOWN_COMMUNITIES
from bench.seed.notifications import Notices
from gridapp.duty.models import Checkpoint
from gridapp.extensions import db
from gridapp.grid.models import WorkUnit
from gridapp.supervision import keys
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

SUPERVISION_NOTES = {
    "checkpoint_unstaffed": "卡口值守人员脱岗", "no_temperature_check": "未落实测温登记",
    "registration_incomplete": "出入登记不全", "disinfection_missed": "消毒记录缺失",
    "sanitation": "垃圾清运不及时", "other": "宣传告示未张贴",
}


class SupervisionPhase(Notices):
    """Inspections, findings, items in every state and level, events, interviews, circulars."""

    def supervision(self) -> None:
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
                    items.append(self._item(n_item, inspection_id, planned, target, sup))
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

    def _item(self, n, inspection_id, planned, target, sup):
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
        notes = [([owner], "supervision_item", f"整改事项 #{item_id} 已交办给您", keys.supervision_issued(item_id),
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
                                  keys.supervision_rejected(item_id, row["due_at"]), check, False, False))
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
                          keys.supervision_warn(item_id, item_due), row["warned_at"],
                          row["severity"] == "critical", True))
        if item_due <= end:
            row["due_notified_at"] = item_due + timedelta(minutes=2)
            notes.append(([row["owner_id"]], "supervision_reminder", f"整改事项 #{item_id} 已到期",
                          keys.supervision_due(item_id, item_due), row["due_notified_at"], True, True))
            if row["escalation_level"] < 1:
                row.update(escalation_level=1, level1_at=item_due + timedelta(minutes=2))
                events.append((None, "escalated", "1", row["level1_at"]))
                notes.append(([self.secretary.get(row["community_id"])] if row["community_id"] else self.leaders,
                              "supervision_escalation", f"逾期：整改事项 #{item_id} 升级至您（第1级）",
                              keys.supervision_escalation(item_id, 1), row["level1_at"],
                              row["severity"] == "critical", True))
        if row["escalation_level"] == 1 and row["level2_due_at"] <= end:
            row.update(escalation_level=2, level2_at=row["level2_due_at"] + timedelta(minutes=2))
            events.append((None, "escalated", "2", row["level2_at"]))
            notes.append((self.leaders, "supervision_escalation", f"逾期：整改事项 #{item_id} 升级至您（第2级）",
                          keys.supervision_escalation(item_id, 2), row["level2_at"], row["severity"] == "critical",
                          True))
