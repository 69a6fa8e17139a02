"""The notices of the history: inbox rows and the SMS outbox rows of the kinds sent by SMS, with the
dedupe keys the services give them, so the jobs pick up where the history ends."""
from datetime import datetime, time, timedelta

from bench.seed.core import Builder
from gridapp.notifications import keys
from gridapp.notifications.models import Notification, OutboxMessage


class Notices(Builder):
    def notify(self, user_ids, kind: str, title: str, body: str, dedupe_key: str, link: str, at: datetime,
               urgent: bool = False, sms: bool = False) -> None:
        """Inbox rows (read when old) and, for kinds sent by SMS, outbox rows (mostly sent)."""
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
            row = {"id": self.ids(OutboxMessage), "dedupe_key": keys.to_person(dedupe_key, "sms", uid), "kind": kind,
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
