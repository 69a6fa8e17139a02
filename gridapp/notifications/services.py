"""The rules of notifying: who hears what on which channel, quiet hours, dedupe, the
outbox's claim / sent / failed transitions, and what the relay must pick up again.

notify() only writes rows, in the caller's transaction. The outbox ids it created are
enqueued on RQ after that transaction commits (see _enqueue_after_commit); a periodic
relay enqueues whatever is still due, which covers a Redis outage or a lost job.
"""
import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from functools import cache

from flask import current_app
from sqlalchemy import and_, bindparam, case, event, func, literal, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from gridapp.audit.services import record
from gridapp.auth.models import User
from gridapp.extensions import db
from gridapp.grid.models import Community, Grid
from gridapp.notifications import keys
from gridapp.notifications.destinations import AddressRefused, check_webhook_url
from gridapp.notifications.dispatch import enqueue_deliveries
from gridapp.notifications.group import GroupText
from gridapp.notifications.kinds import get_kind, preference_kinds, secret_kinds
from gridapp.notifications.models import (
    USER_CHANNELS,
    GroupWebhook,
    Notification,
    NotificationPreference,
    NotificationSetting,
    OutboxMessage,
)
from gridapp.policy import webhook_clauses
from gridapp.timeutil import town_zone, utcnow

log = logging.getLogger(__name__)

DEFAULT_QUIET = (time(22, 0), time(7, 0))


@dataclass
class NotifyResult:
    inbox: int = 0
    outbox_ids: list = field(default_factory=list)


# --- channels that are switched on ------------------------------------------------------

def channel_enabled(channel: str) -> bool:
    cfg = current_app.config
    if channel == "email":
        return bool(cfg.get("MAIL_SERVER"))
    if channel == "sms":
        return bool(cfg.get("SMS_GATEWAY_URL"))
    return channel == "webhook"


# --- quiet hours -------------------------------------------------------------------------

def in_quiet_hours(moment: datetime, quiet: tuple[time, time]) -> bool:
    local = moment.astimezone(town_zone()).time()
    start, end = quiet
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def quiet_hours_end(moment: datetime, quiet: tuple[time, time]) -> datetime:
    """The first instant after `moment` at which the quiet hours are over (UTC)."""
    zone = town_zone()
    local = moment.astimezone(zone)
    end = datetime.combine(local.date(), quiet[1], tzinfo=zone)
    if end <= local:
        end += timedelta(days=1)
    return end.astimezone(moment.tzinfo)


def deliver_not_before(moment: datetime, urgent: bool, quiet: tuple[time, time]) -> datetime:
    if urgent or not in_quiet_hours(moment, quiet):
        return moment
    return quiet_hours_end(moment, quiet)


# --- group robots -------------------------------------------------------------------------

def validate_webhook_url(url: str) -> str | None:
    """An error message, or None when the URL may be saved: https to a public address, or a
    host of WEBHOOK_ALLOWED_HOSTS (see gridapp.notifications.destinations)."""
    from flask_babel import gettext as _

    try:
        check_webhook_url(url)
    except AddressRefused as exc:
        if exc.reason == "scheme":
            return _("Robot webhooks must use https://.")
        if exc.reason == "private":
            return _("This address points to this server or to a private network; "
                     "a group robot must be reachable on the internet.")
        return _("This is not a valid address.")
    return None


# --- writing notifications -------------------------------------------------------------

@cache
def _inbox_insert(dialect: str):
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (insert(Notification).on_conflict_do_nothing(index_elements=["user_id", "dedupe_key"])
            .returning(Notification.id))


@cache
def _outbox_insert(dialect: str):
    # One cached statement for any number of rows (SQLAlchemy batches them as
    # "insertmanyvalues" within the database's parameter limits).
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (insert(OutboxMessage).on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(OutboxMessage.id, OutboxMessage.not_before))


def _channels_for(users, kind) -> dict[int, set[str]]:
    """Each user's external channels for this kind: the kind's defaults, then their choices."""
    chosen = {u.id: set(kind.channels) for u in users}
    if not chosen:
        return chosen
    rows = db.session.execute(
        select(NotificationPreference.user_id, NotificationPreference.channel, NotificationPreference.enabled)
        .where(NotificationPreference.user_id.in_(chosen), NotificationPreference.kind == kind.name)
    )
    for user_id, channel, enabled in rows:
        (chosen[user_id].add if enabled else chosen[user_id].discard)(channel)
    return chosen


def _quiet_hours_for(user_ids) -> dict[int, tuple[time, time]]:
    quiet = {uid: DEFAULT_QUIET for uid in user_ids}
    if quiet:
        for uid, start, end in db.session.execute(
            select(NotificationSetting.user_id, NotificationSetting.quiet_start, NotificationSetting.quiet_end)
            .where(NotificationSetting.user_id.in_(quiet))
        ):
            quiet[uid] = (start, end)
    return quiet


def _webhook_ids_for(places) -> list[int]:
    community_ids = [p.id for p in places if isinstance(p, Community)]
    grid_ids = [p.id for p in places if isinstance(p, Grid)]
    if not community_ids and not grid_ids:
        return []
    return list(db.session.scalars(select(GroupWebhook.id).where(
        GroupWebhook.active.is_(True),
        or_(GroupWebhook.community_id.in_(community_ids), GroupWebhook.grid_id.in_(grid_ids)),
    )))


def notify(recipients, kind: str, title: str, body: str = "", *, dedupe_key: str, link: str = "",
           urgent: bool | None = None, places=(), group_text: GroupText | None = None,
           webhooks=None, now: datetime | None = None) -> NotifyResult:
    """Tell these people (and the group robots of these places, or the given robots) this,
    exactly once per dedupe_key, inside the caller's transaction. Returns what was new.

    The robots get `group_text` alone (gridapp/notifications/group.py: whitelisted fields only),
    never the title or body written for the people; without one they get nothing."""
    if group_text is not None and not isinstance(group_text, GroupText):
        raise TypeError("group_text is a GroupText (gridapp.notifications.group), built from whitelisted fields")
    k = get_kind(kind)
    if k.secret:
        raise ValueError(f"{kind!r} carries a secret: send it with send_to_person()")
    urgent = k.urgent if urgent is None else urgent
    now = now or utcnow()
    users = [u for u in {u.id: u for u in recipients}.values() if u.active]
    result = NotifyResult()
    dialect = db.session.get_bind().dialect.name

    if users:
        rows = [{"user_id": u.id, "kind": kind, "title": title[:200], "body": body, "link": link,
                 "urgent": urgent, "dedupe_key": dedupe_key, "created_at": now} for u in users]
        result.inbox = len(db.session.execute(_inbox_insert(dialect), rows).all())

    outbox = []
    switched_on = [c for c in USER_CHANNELS if channel_enabled(c)]
    channels = _channels_for(users, k) if switched_on else {}
    quiet = _quiet_hours_for([u.id for u in users]) if switched_on else {}
    for u in users if switched_on else ():
        for channel in switched_on:
            if channel not in channels[u.id]:
                continue
            address = u.email if channel == "email" else u.phone
            if not address:
                continue
            outbox.append({"channel": channel, "user_id": u.id, "webhook_id": None, "address": address,
                           "subject": title[:200], "body": body,
                           "dedupe_key": keys.to_person(dedupe_key, channel, u.id),
                           "not_before": deliver_not_before(now, urgent, quiet[u.id])})
    if group_text is not None:
        webhook_ids = [wh.id for wh in webhooks] if webhooks is not None else _webhook_ids_for(places)
        for webhook_id in webhook_ids:
            outbox.append({"channel": "webhook", "user_id": None, "webhook_id": webhook_id, "address": "",
                           "subject": group_text.subject, "body": group_text.body,
                           "dedupe_key": keys.to_webhook(dedupe_key, webhook_id),
                           "not_before": deliver_not_before(now, urgent, DEFAULT_QUIET)})
    if outbox:
        for row in outbox:
            row.update(kind=kind, urgent=urgent, status="pending", attempts=0, last_error="", created_at=now)
        for outbox_id, not_before in db.session.execute(_outbox_insert(dialect), outbox).all():
            result.outbox_ids.append(outbox_id)
            if not_before <= now:
                db.session.info.setdefault("outbox_to_enqueue", []).append(outbox_id)
    return result


def send_to_person(user, kind: str, subject: str, body: str, *, dedupe_key: str,
                   now: datetime | None = None) -> list[str]:
    """A message of a secret kind (an invitation link) to one person, inside the caller's
    transaction: one outbox row per channel of the kind that is switched on and for which the
    person has an address (e-mail, phone). Whatever their preferences (they may have none yet) and
    the hour (someone is waiting for it); no inbox entry (they may not be able to log in, and the
    inbox would keep the secret). The text is erased from the outbox once sent (mark_sent) or
    withdrawn (withdraw_from_person). Returns the channels it goes out on, exactly once per
    dedupe_key."""
    k = get_kind(kind)
    if not k.secret:
        raise ValueError(f"{kind!r} is an ordinary notice: send it with notify()")
    now = now or utcnow()
    rows = []
    for channel in USER_CHANNELS:
        address = user.email if channel == "email" else user.phone
        if channel in k.channels and channel_enabled(channel) and address:
            rows.append({"channel": channel, "user_id": user.id, "webhook_id": None, "address": address,
                         "kind": kind, "subject": subject[:200], "body": body, "urgent": True, "status": "pending",
                         "attempts": 0, "last_error": "", "created_at": now, "not_before": now,
                         "dedupe_key": keys.to_person(dedupe_key, channel, user.id)})
    if not rows:
        return []
    dialect = db.session.get_bind().dialect.name
    for outbox_id, _not_before in db.session.execute(_outbox_insert(dialect), rows).all():
        db.session.info.setdefault("outbox_to_enqueue", []).append(outbox_id)
    return [row["channel"] for row in rows]


def send_to_phone(phone: str, kind: str, subject: str, body: str, *, dedupe_key: str,
                  now: datetime | None = None) -> list[str]:
    """A text message of a secret kind to a phone number that belongs to no account (a resident's
    personal link), inside the caller's transaction, exactly once per dedupe_key; erased from the
    outbox once sent, like send_to_person's. Returns ["sms"], or [] when SMS is off or no phone."""
    k = get_kind(kind)
    if not k.secret:
        raise ValueError(f"{kind!r} is an ordinary notice: send it with notify()")
    if "sms" not in k.channels or not channel_enabled("sms") or not phone:
        return []
    now = now or utcnow()
    row = {"channel": "sms", "user_id": None, "webhook_id": None, "address": phone, "kind": kind,
           "subject": subject[:200], "body": body, "urgent": True, "status": "pending", "attempts": 0,
           "last_error": "", "created_at": now, "not_before": now, "dedupe_key": f"{dedupe_key}:sms:phone"}
    dialect = db.session.get_bind().dialect.name
    for outbox_id, _not_before in db.session.execute(_outbox_insert(dialect), [row]).all():
        db.session.info.setdefault("outbox_to_enqueue", []).append(outbox_id)
    return ["sms"]


WITHDRAWN = "withdrawn: the message was no longer valid"


def withdraw_from_person(dedupe_key: str, user_id: int) -> int:
    """The rows that take the message `dedupe_key` to this person: any not sent yet is not sent
    (failed, "withdrawn"; a worker sending it right now can no longer mark it sent), and the text
    of every one is erased. Returns how many were still to be sent."""
    row_keys = [keys.to_person(dedupe_key, channel, user_id) for channel in USER_CHANNELS]
    unsent = db.session.execute(
        update(OutboxMessage).where(OutboxMessage.dedupe_key.in_(row_keys),
                                    OutboxMessage.status.in_(("pending", "sending")))
        .values(status="failed", last_error=WITHDRAWN, claim_token=None, body="")
        .execution_options(synchronize_session=False)).rowcount
    db.session.execute(update(OutboxMessage).where(OutboxMessage.dedupe_key.in_(row_keys), OutboxMessage.body != "")
                       .values(body="").execution_options(synchronize_session=False))
    return unsent


def deliveries_to_person(dedupe_key: str, user_id: int) -> dict[str, OutboxMessage]:
    """{channel: outbox row} of the message `dedupe_key` to this person (one statement)."""
    row_keys = [keys.to_person(dedupe_key, channel, user_id) for channel in USER_CHANNELS]
    return {row.channel: row for row in db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.dedupe_key.in_(row_keys)).order_by(OutboxMessage.channel))}


@event.listens_for(Session, "after_commit")
def _enqueue_after_commit(session):
    ids = session.info.pop("outbox_to_enqueue", None)
    if ids:
        enqueue_deliveries(ids)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session):
    session.info.pop("outbox_to_enqueue", None)


# --- the outbox's transitions -------------------------------------------------------------

def _lease() -> timedelta:
    return timedelta(seconds=current_app.config["OUTBOX_LEASE_SECONDS"])


def max_attempts() -> int:
    """A delivery is tried once, then once after each pause of OUTBOX_BACKOFF_SECONDS."""
    return len(current_app.config["OUTBOX_BACKOFF_SECONDS"]) + 1


def _reclaimable(now):
    """Due and waiting, or claimed by a worker that has been silent longer than the lease
    (and has attempts left: see fail_abandoned)."""
    return or_(
        and_(OutboxMessage.status == "pending", OutboxMessage.not_before <= now),
        and_(OutboxMessage.status == "sending", OutboxMessage.claimed_at < now - _lease(),
             OutboxMessage.attempts < max_attempts()),
    )


@dataclass(frozen=True)
class Delivery:
    """What a worker needs to send one claimed row, read inside the claim's transaction so
    that nothing touches the database (or holds SQLite's lock) while the channel is slow."""

    id: int
    token: str
    channel: str
    address: str
    subject: str
    body: str
    webhook_url: str | None = None
    webhook_provider: str | None = None
    webhook_secret: str = ""
    webhook_active: bool = False


@cache
def _claim_statement():
    """The claim, built once: one conditional UPDATE that also reads the row and its robot.
    Built with bind parameters, so a delivery costs no statement construction."""
    def webhook(column):  # the row's robot, read in the same statement as the claim
        return select(column).where(GroupWebhook.id == OutboxMessage.webhook_id).scalar_subquery()

    return (
        update(OutboxMessage)
        .where(OutboxMessage.id == bindparam("outbox_id"), or_(
            and_(OutboxMessage.status == "pending", OutboxMessage.not_before <= bindparam("now")),
            and_(OutboxMessage.status == "sending", OutboxMessage.claimed_at < bindparam("stale_before"),
                 OutboxMessage.attempts < bindparam("max_attempts")),
        ))
        .values(status="sending", claimed_at=bindparam("now"), claim_token=bindparam("token"),
                attempts=OutboxMessage.attempts + 1)
        .returning(OutboxMessage.channel, OutboxMessage.address, OutboxMessage.subject, OutboxMessage.body,
                   webhook(GroupWebhook.url), webhook(GroupWebhook.provider), webhook(GroupWebhook.secret),
                   webhook(GroupWebhook.active))
        .execution_options(synchronize_session=False)
    )


@cache
def _sent_statement(secret: tuple[str, ...]):
    """The sent mark, built once per set of secret kinds (whose text it erases)."""
    body = case((OutboxMessage.kind.in_(secret), literal("")), else_=OutboxMessage.body) if secret else None
    return (
        update(OutboxMessage)
        .where(OutboxMessage.id == bindparam("outbox_id"), OutboxMessage.claim_token == bindparam("token"),
               OutboxMessage.status == "sending")
        .values(status="sent", sent_at=bindparam("now"), last_error="", **({"body": body} if secret else {}))
        .execution_options(synchronize_session=False)
    )


def _no_wait_for_flush() -> None:
    """On PostgreSQL, commit the outbox's own transitions without waiting for the WAL flush
    (SET LOCAL: this transaction only). A database crash can then forget the last fraction
    of a second of claims and sent marks, which sends those notices again: the same outcome
    as a worker dying between sending and marking, which the lease already covers. It is
    never weaker than at-least-once, and it spares every delivery two disk flushes."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL synchronous_commit TO OFF"))


def claim(outbox_id: int, now: datetime | None = None) -> Delivery | None:
    """Take the row for sending with one conditional UPDATE; None if someone else has it,
    it is not due yet, or it is already sent or failed. Commits the claim. The condition is
    _reclaimable()'s, written with bind parameters."""
    now = now or utcnow()
    token = secrets.token_hex(8)
    _no_wait_for_flush()
    won = db.session.execute(_claim_statement(), {
        "outbox_id": outbox_id, "now": now, "stale_before": now - _lease(), "token": token,
        "max_attempts": max_attempts(),
    }).first()
    db.session.commit()
    if won is None:
        return None
    channel, address, subject, body, url, provider, secret, active = won
    return Delivery(outbox_id, token, channel, address, subject, body, url, provider, secret or "", bool(active))


def mark_sent(outbox_id: int, token: str, now: datetime | None = None) -> bool:
    _no_wait_for_flush()
    done = db.session.execute(_sent_statement(secret_kinds()), {
        "outbox_id": outbox_id, "token": token, "now": now or utcnow(),
    }).rowcount
    db.session.commit()
    return done == 1


def record_failure(outbox_id: int, token: str, error: str, now: datetime | None = None) -> str:
    """Back to pending with a backoff, or failed after the last try. Returns the new status."""
    now = now or utcnow()
    backoff = current_app.config["OUTBOX_BACKOFF_SECONDS"]
    row = db.session.get(OutboxMessage, outbox_id, populate_existing=True)
    if row is None or row.claim_token != token or row.status != "sending":
        return row.status if row else "missing"
    if row.attempts >= max_attempts():
        row.status = "failed"
    else:
        row.status = "pending"
        row.not_before = now + timedelta(seconds=backoff[row.attempts - 1])
    row.last_error = error[:2000]
    db.session.commit()
    return row.status


ABANDONED = "the worker stopped during the last attempt (no answer within the lease)"


def fail_abandoned(now: datetime | None = None) -> int:
    """Rows whose worker went silent (killed, out of memory) during their last allowed attempt
    become failed, so that a notice that brings its worker down is not tried for ever."""
    now = now or utcnow()
    done = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == "sending", OutboxMessage.claimed_at < now - _lease(),
               OutboxMessage.attempts >= max_attempts())
        .values(status="failed", last_error=ABANDONED, claim_token=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return done


def due_outbox_ids(now: datetime | None = None, limit: int = 1000) -> list[int]:
    now = now or utcnow()
    return list(db.session.scalars(
        select(OutboxMessage.id).where(_reclaimable(now)).order_by(OutboxMessage.id).limit(limit)
    ))


def retry_failed(admin, outbox_id: int) -> OutboxMessage | None:
    """An admin sends a failed delivery again: fresh attempts, due now."""

    row = db.session.get(OutboxMessage, outbox_id)
    if row is None or row.status != "failed":
        return None
    row.status, row.attempts, row.not_before, row.claim_token = "pending", 0, utcnow(), None
    db.session.info.setdefault("outbox_to_enqueue", []).append(row.id)
    record("outbox_retry", row, actor=admin, object_name=f"{row.channel} #{row.id}")
    return row


def outbox_counts() -> dict[str, int]:
    return dict(db.session.execute(
        select(OutboxMessage.status, func.count(OutboxMessage.id)).group_by(OutboxMessage.status)).all())


# --- the inbox ----------------------------------------------------------------------------

def unread_count(user) -> int:
    return db.session.scalar(select(func.count(Notification.id)).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))) or 0


def inbox_query(user):
    return select(Notification).where(Notification.user_id == user.id).order_by(Notification.id.desc())


def mark_read(user, notification_id: int) -> Notification | None:
    n = db.session.get(Notification, notification_id)
    if n is None or n.user_id != user.id:
        return None
    if n.read_at is None:
        n.read_at = utcnow()
        user.unread_at_load = None
    return n


def mark_all_read(user) -> int:
    user.unread_at_load = None
    return db.session.execute(
        update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow()).execution_options(synchronize_session=False)
    ).rowcount


# --- preferences --------------------------------------------------------------------------

def kinds_for(user) -> list:
    """The kinds of notice this person chooses channels for: those one of their roles receives."""
    return preference_kinds(user.role_names())


def preferences_of(user) -> tuple[dict, tuple[time, time]]:
    """({(kind, channel): enabled}, quiet hours) for the person's kinds, with the kinds' defaults filled in."""

    prefs = {(k.name, c): c in k.channels for k in kinds_for(user) for c in USER_CHANNELS}
    for p in db.session.scalars(select(NotificationPreference).where(NotificationPreference.user_id == user.id)):
        prefs[(p.kind, p.channel)] = p.enabled
    setting = db.session.get(NotificationSetting, user.id)
    quiet = (setting.quiet_start, setting.quiet_end) if setting else DEFAULT_QUIET
    return prefs, quiet


def save_preferences(user, enabled: set[tuple[str, str]], quiet: tuple[time, time]) -> None:
    """The person's choices for their kinds (kinds_for); those of any other kind are left as they are."""
    existing = {(p.kind, p.channel): p for p in db.session.scalars(
        select(NotificationPreference).where(NotificationPreference.user_id == user.id))}
    for k in kinds_for(user):
        for c in USER_CHANNELS:
            on = (k.name, c) in enabled
            row = existing.get((k.name, c))
            if row is None:
                if on != (c in k.channels):
                    db.session.add(NotificationPreference(user_id=user.id, kind=k.name, channel=c, enabled=on))
            else:
                row.enabled = on
    setting = db.session.get(NotificationSetting, user.id)
    if setting is None:
        setting = NotificationSetting(user_id=user.id)
        db.session.add(setting)
    setting.quiet_start, setting.quiet_end = quiet


# --- group webhooks -----------------------------------------------------------------------

def add_webhook(actor, place, provider: str, name: str, url: str, secret: str = "") -> GroupWebhook:
    wh = GroupWebhook(provider=provider, name=name.strip(), url=url.strip(), secret=(secret or "").strip(),
                      community_id=place.id if isinstance(place, Community) else None,
                      grid_id=place.id if isinstance(place, Grid) else None)
    db.session.add(wh)
    db.session.flush()
    record("webhook_added", wh, actor=actor, summary=f"{provider} for {type(place).__name__} #{place.id}")
    return wh


def remove_webhook(actor, wh: GroupWebhook) -> None:
    record("webhook_removed", wh, actor=actor)
    db.session.execute(update(OutboxMessage).where(OutboxMessage.webhook_id == wh.id,
                                                   OutboxMessage.status.in_(("pending", "sending")))
                       .values(status="failed", last_error="webhook removed"))
    db.session.delete(wh)


def webhook_places(user) -> tuple[list[Community], list[Grid]]:
    """The communities and grids whose group robots this user may manage (policy.webhook_clauses),
    none without a statement for anyone who manages none."""
    clauses = webhook_clauses(user)
    if clauses is None:
        return [], []
    communities, grids = clauses
    return (db.session.scalars(select(Community).where(communities).order_by(Community.id)).all(),
            db.session.scalars(select(Grid).where(grids).order_by(Grid.community_id, Grid.id)).all())


def webhooks_of(communities, grids) -> list[GroupWebhook]:
    """The group robots of these communities and grids, oldest first (no statement without places)."""
    if not communities and not grids:
        return []
    return db.session.scalars(select(GroupWebhook).where(or_(
        GroupWebhook.community_id.in_([c.id for c in communities]), GroupWebhook.grid_id.in_([g.id for g in grids])))
        .order_by(GroupWebhook.id)).all()


def webhook_place(wh: GroupWebhook):
    return db.session.get(Community, wh.community_id) if wh.community_id else db.session.get(Grid, wh.grid_id)


def users_by_ids(ids) -> list[User]:
    return list(db.session.scalars(select(User).where(User.id.in_(list(ids)))))
