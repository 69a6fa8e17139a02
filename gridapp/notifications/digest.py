"""Digests: what one sweep found, told as one notice per person and kind instead of one per item.

A sweep that finds 80 shifts short of people used to leave a grid member 80 notices (and, with SMS
on, 80 text messages at midnight). A Digest collects the sweep's items, then send() writes:

- **Inbox**: one notice per person listing their items, urgent ones first. An earlier digest of
  the same kind the person has not read yet is folded into it (its lines kept after the new ones)
  and removed, so unread digests never stack.
- **E-mail and SMS**: the urgent items go out at once (whatever the hour); the others wait for the
  end of the person's quiet hours, and while they wait, later sweeps' items are added to the same
  waiting message (one morning message, not one per sweep). At most NOTIFY_EXTERNAL_PER_HOUR new
  messages per person, kind and channel in an hour; past that, the inbox alone carries it.
- **Group robots**: one message per robot, with the items' group lines: GroupTexts of one line each,
  built from whitelisted fields (gridapp/notifications/group.py), never the people's lines.

Idempotence stays with the sweeps: each item is claimed once by a conditional UPDATE before it is
added here, so a second sweep finds nothing new to tell.
"""
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from gridapp.extensions import db
from gridapp.grid.models import Community, Grid
from gridapp.notifications import keys
from gridapp.notifications.group import GroupText, site_url
from gridapp.notifications.kinds import get_kind
from gridapp.notifications.models import USER_CHANNELS, GroupWebhook, NoticeMark, Notification, OutboxMessage
from gridapp.notifications.services import (
    DEFAULT_QUIET,
    NotifyResult,
    _channels_for,
    _inbox_insert,
    _outbox_insert,
    _quiet_hours_for,
    channel_enabled,
    deliver_not_before,
)
from gridapp.timeutil import utcnow

MAX_LINES = 40  # lines of one notice; the rest is counted in one more line
PREFIX = "digest:"
# A robot's message of several items: the kind's name and their number; the items left out.
GROUP_TITLE = _l("%(kind)s: %(n)d")
GROUP_MORE = _l("… and %(n)d more")


def is_digest_key(dedupe_key: str) -> bool:
    return dedupe_key.startswith(PREFIX)


@dataclass
class _Item:
    line: str
    urgent: bool
    group_line: GroupText | None
    webhook_places: tuple
    once: str | None = None


@dataclass
class Digest:
    """Collect with add(), then send() once, inside the sweep's transaction.

    `title(n, urgent)` words the notice for n items of which `urgent` are urgent; `more(n)` the
    line that counts the items left out of a long notice."""

    kind: str
    title: object
    link: str
    more: object
    now: datetime = field(default_factory=utcnow)
    _people: dict = field(default_factory=dict)  # user id -> (user, [items])
    _items: list = field(default_factory=list)

    def add(self, recipients, line: str, *, urgent: bool = False, places=(), group_line: GroupText | None = None,
            once: str | None = None) -> None:
        """One item for these people (and these places' group robots, with group_line: a GroupText of
        one line and no link of its own, the digest's link closing the robot's message). With
        `once`, the item is told by the first digest that carries that key, never again."""
        if group_line is not None:
            if not isinstance(group_line, GroupText):
                raise TypeError("group_line is a GroupText (gridapp.notifications.group): whitelisted fields only")
            if len(group_line.lines) != 1 or group_line.link:
                raise ValueError("a digest's group line is one line without a link (the digest's link closes it)")
        item = _Item(line, urgent, group_line, tuple(places), once)
        self._items.append(item)
        for user in recipients:
            if user.active:
                self._people.setdefault(user.id, (user, []))[1].append(item)

    def __len__(self) -> int:
        return len(self._items)

    # --- writing ------------------------------------------------------------------------------

    def send(self) -> NotifyResult:
        result = NotifyResult()
        self._keep_first_told()
        if not self._items:
            return result
        token = secrets.token_hex(6)
        event_key = f"{PREFIX}{self.kind}:{self.now.strftime('%Y%m%dT%H%M%S')}:{token}"
        self._inbox(event_key, result)
        self._external(event_key, result)
        self._robots(event_key, result)
        return result

    def _keep_first_told(self) -> None:
        """Claim the items' `once` keys in one statement; drop the items another digest told."""
        wanted = {i.once for i in self._items if i.once}
        if not wanted:
            return
        dialect = db.session.get_bind().dialect.name
        insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(NoticeMark)
        won = set(db.session.scalars(insert.on_conflict_do_nothing(index_elements=["key"])
                                     .returning(NoticeMark.key),
                                     [{"key": k, "created_at": self.now} for k in sorted(wanted)]).all())
        lost = {id(i) for i in self._items if i.once and i.once not in won}
        if not lost:
            return
        self._items = [i for i in self._items if id(i) not in lost]
        for uid in list(self._people):
            user, items = self._people[uid]
            items = [i for i in items if id(i) not in lost]
            if items:
                self._people[uid] = (user, items)
            else:
                del self._people[uid]

    def _lines(self, items) -> list[str]:
        ordered = [i for i in items if i.urgent] + [i for i in items if not i.urgent]
        return list(dict.fromkeys(i.line for i in ordered))

    def _title(self, lines: list[str], urgent: int) -> str:
        """The notice's title: its one item itself, or the kind's count of them."""
        return (lines[0] if len(lines) == 1 else str(self.title(len(lines), urgent)))[:200]

    def _cap(self, lines: list[str]) -> str:
        if len(lines) <= MAX_LINES:
            return "\n".join(lines)
        return "\n".join([*lines[:MAX_LINES], "… " + str(self.more(len(lines) - MAX_LINES))])

    def _inbox(self, event_key: str, result: NotifyResult) -> None:
        if not self._people:
            return
        earlier: dict[int, list] = {}
        for nid, uid, body, urgent in db.session.execute(
                select(Notification.id, Notification.user_id, Notification.body, Notification.urgent)
                .where(Notification.user_id.in_(self._people), Notification.kind == self.kind,
                       Notification.read_at.is_(None), Notification.dedupe_key.startswith(PREFIX, autoescape=True))
                .order_by(Notification.id.desc())):
            earlier.setdefault(uid, []).append((nid, body, urgent))
        rows = []
        for uid, (_user, items) in self._people.items():
            lines = self._lines(items)
            urgent_n = sum(1 for i in items if i.urgent)
            was_urgent = False
            for _nid, body, urgent in earlier.get(uid, []):
                was_urgent |= urgent
                lines += [line for line in body.splitlines() if line and line not in lines
                          and not line.startswith("…")]
            urgent_any = urgent_n > 0 or was_urgent
            rows.append({"user_id": uid, "kind": self.kind, "title": self._title(lines, urgent_n),
                         "body": self._cap(lines), "link": self.link, "urgent": urgent_any,
                         "dedupe_key": event_key, "created_at": self.now})
        replaced = [nid for notices in earlier.values() for nid, _b, _u in notices]
        if replaced:
            db.session.execute(delete(Notification).where(Notification.id.in_(replaced),
                                                          Notification.read_at.is_(None))
                               .execution_options(synchronize_session=False))
        dialect = db.session.get_bind().dialect.name
        result.inbox = len(db.session.execute(_inbox_insert(dialect), rows).all())

    def _external(self, event_key: str, result: NotifyResult) -> None:
        switched_on = [c for c in USER_CHANNELS if channel_enabled(c)]
        if not switched_on or not self._people:
            return
        kind = get_kind(self.kind)
        users = [user for user, _items in self._people.values()]
        channels = _channels_for(users, kind)
        quiet = _quiet_hours_for([u.id for u in users])
        cap = current_app.config.get("NOTIFY_EXTERNAL_PER_HOUR", 4)
        sent_lately = dict(((uid, ch), n) for uid, ch, n in db.session.execute(
            select(OutboxMessage.user_id, OutboxMessage.channel, func.count())
            .where(OutboxMessage.user_id.in_(self._people), OutboxMessage.kind == self.kind,
                   OutboxMessage.created_at > self.now - timedelta(hours=1))
            .group_by(OutboxMessage.user_id, OutboxMessage.channel)))
        waiting = {(uid, ch): (oid, body) for oid, uid, ch, body in db.session.execute(
            select(OutboxMessage.id, OutboxMessage.user_id, OutboxMessage.channel, OutboxMessage.body)
            .where(OutboxMessage.user_id.in_(self._people), OutboxMessage.kind == self.kind,
                   OutboxMessage.status == "pending", OutboxMessage.not_before > self.now,
                   OutboxMessage.dedupe_key.startswith(PREFIX, autoescape=True)))}
        rows = []
        for uid, (user, items) in self._people.items():
            urgent_items = [i for i in items if i.urgent]
            later_items = [i for i in items if not i.urgent]
            for channel in switched_on:
                address = user.email if channel == "email" else user.phone
                if channel not in channels[uid] or not address:
                    continue
                parts = []
                if urgent_items:
                    parts.append((True, urgent_items, self.now))
                if later_items:
                    parts.append((False, later_items, deliver_not_before(self.now, False, quiet[uid])))
                for urgent, part, not_before in parts:
                    lines = self._lines(part)
                    if not_before > self.now and (uid, channel) in waiting:
                        if self._add_to_waiting(waiting[(uid, channel)], lines):
                            continue
                    if sent_lately.get((uid, channel), 0) >= cap:
                        continue  # the inbox alone carries it
                    sent_lately[(uid, channel)] = sent_lately.get((uid, channel), 0) + 1
                    rows.append({"channel": channel, "user_id": uid, "webhook_id": None, "address": address,
                                 "subject": self._title(lines, len(lines) if urgent else 0),
                                 "body": self._cap(lines), "urgent": urgent, "not_before": not_before,
                                 "dedupe_key": keys.to_person(f"{event_key}:{'now' if urgent else 'later'}",
                                                              channel, uid)})
        self._write_outbox(rows, result)

    def _add_to_waiting(self, waiting, lines: list[str]) -> bool:
        """Add lines to a message still waiting for the morning; False if it left meanwhile."""
        oid, body = waiting
        merged = body.splitlines() + [line for line in lines if line not in body.splitlines()]
        merged = [line for line in merged if not line.startswith("…")]
        done = db.session.execute(
            update(OutboxMessage).where(OutboxMessage.id == oid, OutboxMessage.status == "pending",
                                        OutboxMessage.not_before > self.now)
            .values(body=self._cap(merged), subject=self._title(merged, 0))
            .execution_options(synchronize_session=False)).rowcount
        return done == 1

    def _robots(self, event_key: str, result: NotifyResult) -> None:
        items = [i for i in self._items if i.webhook_places and i.group_line]
        if not items:
            return
        community_ids = {p.id for i in items for p in i.webhook_places if isinstance(p, Community)}
        grid_ids = {p.id for i in items for p in i.webhook_places if isinstance(p, Grid)}
        robots = db.session.execute(select(GroupWebhook.id, GroupWebhook.community_id, GroupWebhook.grid_id).where(
            GroupWebhook.active.is_(True),
            or_(GroupWebhook.community_id.in_(community_ids or [-1]),
                GroupWebhook.grid_id.in_(grid_ids or [-1])))).all()
        rows = []
        for webhook_id, community_id, grid_id in robots:
            mine = [i for i in items if any(
                (isinstance(p, Community) and p.id == community_id) or (isinstance(p, Grid) and p.id == grid_id)
                for p in i.webhook_places)]
            if not mine:
                continue
            urgent = any(i.urgent for i in mine)
            ordered = [i for i in mine if i.urgent] + [i for i in mine if not i.urgent]
            subject, body = self._group_message(list(dict.fromkeys(i.group_line.text for i in ordered)))
            rows.append({"channel": "webhook", "user_id": None, "webhook_id": webhook_id, "address": "",
                         "subject": subject, "body": body, "urgent": urgent,
                         "not_before": deliver_not_before(self.now, urgent, DEFAULT_QUIET),
                         "dedupe_key": keys.to_webhook(event_key, webhook_id)})
        self._write_outbox(rows, result)

    def _group_message(self, lines: list[str]) -> tuple[str, str]:
        """A robot's subject and body: one item is its own subject; several are counted under the
        kind's name and listed. Every part is a GroupText, then the digest's link."""
        link = [site_url(self.link)] if self.link else []
        if len(lines) == 1:
            return lines[0], "\n".join(link)
        subject = GroupText(GROUP_TITLE, kind=get_kind(self.kind).label, n=len(lines)).subject
        shown = lines[:MAX_LINES]
        if len(lines) > MAX_LINES:
            shown.append(GroupText(GROUP_MORE, n=len(lines) - MAX_LINES).text)
        return subject, "\n".join([*shown, *link])

    def _write_outbox(self, rows: list[dict], result: NotifyResult) -> None:
        if not rows:
            return
        for row in rows:
            row.update(kind=self.kind, status="pending", attempts=0, last_error="", created_at=self.now)
        dialect = db.session.get_bind().dialect.name
        for outbox_id, not_before in db.session.execute(_outbox_insert(dialect), rows).all():
            result.outbox_ids.append(outbox_id)
            if not_before <= self.now:
                db.session.info.setdefault("outbox_to_enqueue", []).append(outbox_id)
