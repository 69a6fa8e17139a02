"""notify(): inbox and outbox rows, dedupe, preferences, quiet hours, which robots hear a notice;
the outbox's claim / sent / failed transitions."""
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from gridapp.extensions import db
from gridapp.notifications import services
from gridapp.notifications.channels import dingtalk_signed_url
from gridapp.notifications.models import (
    GroupWebhook,
    Notification,
    NotificationPreference,
    NotificationSetting,
    OutboxMessage,
)
from tests.notifications.group import a_group_text

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at_local(hour, minute=0, day=10):
    return datetime(2026, 3, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


@pytest.fixture
def mail_on(app):
    app.config["MAIL_SERVER"] = "127.0.0.1"  # rows only; nothing is sent in these tests


def _count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_inbox_and_email_rows_once_per_dedupe_key(app, world, mail_on):
    world.vol1.email = "vol1@example.org"
    noon = at_local(12)
    for _ in range(3):
        services.notify([world.vol1, world.vol1], "system", "停水通知", "明天停水", dedupe_key="water:1", now=noon)
        db.session.commit()
    assert _count(Notification) == 1
    rows = db.session.scalars(select(OutboxMessage)).all()
    assert [(r.channel, r.address, r.status) for r in rows] == [("email", "vol1@example.org", "pending")]


def test_no_email_row_without_address_or_when_mail_is_off(app, world):
    world.vol1.email = "vol1@example.org"
    services.notify([world.vol1, world.vol1], "system", "t", dedupe_key="k", now=at_local(12))
    db.session.commit()
    assert _count(Notification) == 1 and _count(OutboxMessage) == 0  # MAIL_SERVER unset


def test_disabled_users_are_not_notified(app, world, mail_on):
    world.vol1.active = False
    services.notify([world.vol1], "system", "t", dedupe_key="k", now=at_local(12))
    assert _count(Notification) == 0


def test_preferences_switch_channels_per_kind(app, world, mail_on):
    app.config["SMS_GATEWAY_URL"] = "http://127.0.0.1:9/sms"
    world.vol1.email, world.vol1.phone = "vol1@example.org", "13900000001"
    db.session.add(NotificationPreference(user_id=world.vol1.id, kind="system", channel="email", enabled=False))
    db.session.add(NotificationPreference(user_id=world.vol1.id, kind="system", channel="sms", enabled=True))
    services.notify([world.vol1], "system", "t", dedupe_key="k", now=at_local(12))
    db.session.commit()
    assert [r.channel for r in db.session.scalars(select(OutboxMessage))] == ["sms"]


def test_quiet_hours_hold_non_urgent_until_morning(app, world, mail_on):
    world.vol1.email = "vol1@example.org"
    late = at_local(23, 30)
    services.notify([world.vol1], "system", "normal", dedupe_key="n", now=late)
    services.notify([world.vol1], "urgent", "urgent", dedupe_key="u", now=late)
    db.session.commit()
    rows = {r.subject: r for r in db.session.scalars(select(OutboxMessage))}
    assert rows["normal"].not_before == at_local(7, 0, day=11)
    assert rows["urgent"].not_before == late
    # The inbox entry is there at once, quiet hours or not.
    assert _count(Notification) == 2


def test_personal_quiet_hours(app, world, mail_on):
    world.vol1.email = "vol1@example.org"
    db.session.add(NotificationSetting(user_id=world.vol1.id, quiet_start=time(12, 0), quiet_end=time(14, 0)))
    services.notify([world.vol1], "system", "lunch", dedupe_key="l", now=at_local(12, 30))
    services.notify([world.vol1], "system", "late", dedupe_key="x", now=at_local(23, 30))
    db.session.commit()
    rows = {r.subject: r for r in db.session.scalars(select(OutboxMessage))}
    assert rows["lunch"].not_before == at_local(14, 0)
    assert rows["late"].not_before == at_local(23, 30)


def test_grid_webhooks_hear_grid_notices_only(app, world):
    db.session.add_all([
        GroupWebhook(grid_id=world.g1.id, provider="wecom", name="一格", url="https://a.example/1"),
        GroupWebhook(grid_id=world.g2.id, provider="wecom", name="二格", url="https://a.example/2"),
        GroupWebhook(grid_id=world.g1.id, provider="wecom", name="停用", url="https://a.example/3", active=False),
    ])
    db.session.commit()
    services.notify([], "system", "t", dedupe_key="k", places=[world.g1], group_text=a_group_text(), now=at_local(12))
    names = [r.webhook.name for r in db.session.scalars(select(OutboxMessage))]
    assert names == ["一格"]


def test_dingtalk_signature_matches_the_documented_example():
    # DingTalk signs "timestamp\nsecret" with HMAC-SHA256 (key: the secret), base64, URL-encoded.
    url = dingtalk_signed_url("https://oapi.dingtalk.com/robot/send?access_token=t", "SECxyz", now_ms=1577836800000)
    assert url.startswith("https://oapi.dingtalk.com/robot/send?access_token=t&timestamp=1577836800000&sign=")
    import base64
    import hashlib
    import hmac
    from urllib.parse import parse_qs, urlsplit

    sign = parse_qs(urlsplit(url).query)["sign"][0]
    expected = hmac.new(b"SECxyz", b"1577836800000\nSECxyz", hashlib.sha256).digest()
    assert base64.b64decode(sign) == expected


def _one_row(app, world):
    world.vol1.email = "vol1@example.org"
    services.notify([world.vol1], "system", "t", dedupe_key="k", now=at_local(12))
    db.session.commit()
    return db.session.scalars(select(OutboxMessage)).one().id


def test_a_row_is_claimed_once(app, world, mail_on):
    row_id = _one_row(app, world)
    first = services.claim(row_id)
    assert first is not None
    assert services.claim(row_id) is None
    assert services.mark_sent(row_id, first.token)
    assert services.claim(row_id) is None
    assert db.session.get(OutboxMessage, row_id).status == "sent"


def test_a_silent_claim_is_taken_over_after_the_lease(app, world, mail_on):
    row_id = _one_row(app, world)
    stale_token = services.claim(row_id).token
    later = datetime.now(UTC) + timedelta(seconds=app.config["OUTBOX_LEASE_SECONDS"] + 1)
    token = services.claim(row_id, now=later).token
    assert token != stale_token
    assert not services.mark_sent(row_id, stale_token)  # the old worker cannot finish it
    assert services.mark_sent(row_id, token)


def test_failures_back_off_then_fail_for_good(app, world, mail_on):
    row_id = _one_row(app, world)
    backoff = app.config["OUTBOX_BACKOFF_SECONDS"]
    now = datetime.now(UTC)
    for delay in backoff:
        token = services.claim(row_id, now=now).token
        assert services.record_failure(row_id, token, "SMTP: refused", now=now) == "pending"
        row = db.session.get(OutboxMessage, row_id)
        assert row.not_before == now + timedelta(seconds=delay)
        assert services.claim(row_id, now=now) is None  # not due yet
        now = row.not_before
    token = services.claim(row_id, now=now).token
    assert services.record_failure(row_id, token, "SMTP: refused", now=now) == "failed"
    row = db.session.get(OutboxMessage, row_id)
    assert row.attempts == len(backoff) + 1 and row.last_error == "SMTP: refused"
    assert services.due_outbox_ids(now + timedelta(days=1)) == []
