"""Errands of a benchmark dataset: errands for housebound households every day of the history, in
every state, with their timelines, the address views of their claimants, the sweeps' markers and
the notices of each step; and the ones on their way now, for the claim storm."""
from collections import Counter, defaultdict
from datetime import time, timedelta

from sqlalchemy import func, select, text

from bench.seed.notifications import Notices
from gridapp.errands import keys
from gridapp.errands import services as es
from gridapp.errands.models import ContactView, Errand, ErrandEvent, UrgentOptIn
from gridapp.extensions import db
from gridapp.grid.models import Household

ERRAND_ITEMS = {
    "daily": ["大米 1袋", "食用油 1桶", "鸡蛋 2斤", "牛奶 2盒", "青菜 3斤", "挂面 2把", "卫生纸 1提", "面粉 1袋",
              "水果 3斤", "猪肉 2斤", "酱油 1瓶", "馒头 10个"],
    "medicine": ["降压药 1盒", "感冒药 1盒", "胰岛素 2支", "速效救心丸 1瓶", "降糖药 1盒", "布洛芬 1盒"],
    "matter": ["代缴电费", "代取快递", "代办医保报销", "代缴燃气费"],
    "other": ["口罩 1包", "体温计 1支", "电池 4节"],
}


class ErrandsPhase(Notices):
    """30 days of errands for housebound households, in every state, with their timelines."""

    def errands(self) -> None:
        spec, rng, now = self.spec, self.rng, self.now
        households = defaultdict(list)
        for hid, compound_id in db.session.execute(select(Household.id, Household.compound_id)
                                                   .where(Household.housebound.is_(True))):
            k = self.compound_by_id[compound_id]
            households[k.community_id].append((hid, k))
        # The errand settings (gridapp/config.py) the history must agree with.
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
                    self._errand(community_id, homes, vols, busy_vols, active, self.between(lo, hi))
            # And the ones on their way right now, so that every state is there at every level.
            for plan in ("claimed", "purchased", "delivered", "open"):
                for _i in range(spec.waiting if plan == "open" else max(1, spec.errands_per_day // 8)):
                    self._errand(community_id, homes, vols, busy_vols, active, None, plan=plan)

    def _errand(self, community_id, homes, vols, busy_vols, active, filed_at, plan: str | None = None) -> None:
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
                              keys.errand_claimed(errand_id, claim_at), claim_at))
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
                                  keys.errand_delivered(errand_id), deliver_at))
                    if deliver_at + self.unconfirmed_after <= min(now, confirm_at):
                        row["unconfirmed_reminded_at"] = deliver_at + self.unconfirmed_after + timedelta(minutes=2)
                        notes.append(([filer], "errand_reminder", f"请确认代办 #{errand_id}",
                                      keys.errand_unconfirmed(errand_id), row["unconfirmed_reminded_at"]))
                if confirm_at <= now and row["status"] == "delivered":
                    row.update(status="confirmed", confirmed_at=confirm_at, confirmed_by_id=filer, money_settled=True)
                    events.append((filer, "confirmed", "", confirm_at))
                    notes.append(([claimant], "errand_update", f"代办 #{errand_id} 已确认，谢谢",
                                  keys.errand_confirmed(errand_id), confirm_at))
                if row["status"] in ("claimed", "purchased"):
                    active[claimant] += 1
        # The sweeps' markers, as the jobs would have left them.
        done_at = row["delivered_at"] or row["cancelled_at"]
        if needed_by + timedelta(minutes=2) <= now and (done_at is None or done_at > needed_by):
            row["overdue_notified_at"] = needed_by + timedelta(minutes=2)
            notes.append(([filer, self.grid_member.get(k.grid_id)], "errand_reminder",
                          f"代办 #{errand_id} 已超过需要时间", keys.errand_overdue(errand_id),
                          row["overdue_notified_at"]))
        if urgent:
            waited_until = row["claimed_at"] or row["cancelled_at"] or now
            if waited_until - row["opened_at"] > self.urgent_after:
                row["urgent_alerted_at"] = row["opened_at"] + self.urgent_after + timedelta(minutes=1)
                notes.append(([self.grid_member.get(k.grid_id)], "errand_urgent", f"紧急代办 #{errand_id} 仍无人认领",
                              keys.errand_urgent_unclaimed(errand_id, row["opened_at"]),
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
