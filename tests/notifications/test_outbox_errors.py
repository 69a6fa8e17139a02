"""A delivery that fails in any way (not only a channel's refusal) is recorded on its outbox
row, backs off, and ends failed after its last attempt, visible on /admin/jobs; its error
never carries the settings' passwords, keys or tokens. Nothing here leaves loopback: every
mistyped setting fails before a connection is made."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from gridapp.extensions import db
from gridapp.jobs_runtime import redis_connection
from gridapp.notifications import services
from gridapp.notifications.models import OutboxMessage
from gridapp.timeutil import utcnow
from jobs.notifications import deliver_outbox, relay_outbox
from tests.workers import run_burst_worker


def _sms_rows(world, *users):
    for i, user in enumerate(users):
        user.phone = f"1390000{i:04d}"
    db.session.commit()
    services.notify(list(users), "urgent", "集合", "19:00 东门集合", dedupe_key="sms-setting")
    db.session.commit()
    return db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.user_id)).all()


def test_a_mistyped_sms_gateway_setting_ends_failed_with_its_error(app, world, make_client):
    """A real worker: the gateway URL names a placeholder that does not exist, so formatting it
    raises KeyError (not a DeliveryError). The row records it and backs off; on its last attempt
    it is failed, and an admin sees it with its error."""
    app.config["SMS_GATEWAY_URL"] = "https://gw.example/send?to={phone}&msg={message}"
    first, last = _sms_rows(world, world.vol1, world.head1)
    last.attempts = len(app.config["OUTBOX_BACKOFF_SECONDS"])  # this is its last try
    db.session.commit()
    done = run_burst_worker(app)
    assert done.returncode == 0, done.stderr[-3000:]
    db.session.expire_all()
    first, last = db.session.get(OutboxMessage, first.id), db.session.get(OutboxMessage, last.id)
    assert (first.status, first.attempts, first.last_error) == ("pending", 1, "KeyError: 'message'")
    assert first.not_before > utcnow() + timedelta(seconds=20)  # backs off like any failure
    assert (last.status, last.last_error) == ("failed", "KeyError: 'message'")
    admin = make_client()
    admin.login("admin")
    page = admin.get("/admin/jobs/").get_data(as_text=True)
    row_html = page[page.index(f'id="outbox-{last.id}"'):]
    assert "KeyError: &#39;message&#39;" in row_html[:2000]


@pytest.mark.parametrize("setting,value,error", [
    ("SMS_GATEWAY_URL", "{", "ValueError: Single '{' encountered in format string"),
    ("SMS_GATEWAY_URL", "https://gw.example/send?to={phone}&text={txt}", "KeyError: 'txt'"),
    ("SMS_GATEWAY_URL", "htp://gw.example/send", "cannot reach gw.example: Not supported URL scheme htp"),
    ("SMS_GATEWAY_URL", "not a url {phone}", "cannot reach the gateway: Failed to parse"),
    ("MAIL_SERVER", "smtp..example", "UnicodeError: "),
])
def test_every_failure_is_recorded_and_attempts_are_capped(app, world, setting, value, error):
    """The job itself, called as the worker does: each attempt records the error; after the
    last one the row is failed and further jobs leave it alone."""
    app.config[setting] = value
    if setting == "MAIL_SERVER":
        world.vol1.email = "vol1@example.org"
    row = _sms_rows(world, world.vol1)[0]
    attempts = services.max_attempts()
    for attempt in range(1, attempts + 1):
        with pytest.raises(Exception):  # noqa: B017 (re-raised for RQ's retry, whatever it is)
            deliver_outbox(row.id)
        db.session.expire_all()
        row = db.session.get(OutboxMessage, row.id)
        assert row.attempts == attempt and row.last_error.startswith(error), row.last_error
        assert row.status == ("failed" if attempt == attempts else "pending")
        row.not_before = utcnow() - timedelta(seconds=1)  # the backoff has passed
        db.session.commit()
    assert deliver_outbox(row.id) == "skipped"
    assert db.session.get(OutboxMessage, row.id).attempts == attempts


def test_no_password_key_or_token_in_the_recorded_error(app, world):
    app.config.update(SMS_GATEWAY_URL="https://gw-user:s3cret-pw@gw.example:99999/send?apikey=K3Y-123&to={phone}",
                      SMS_GATEWAY_USER="gw-user", SMS_GATEWAY_PASSWORD="s3cret-pw")
    row = _sms_rows(world, world.vol1)[0]
    with pytest.raises(Exception):  # noqa: B017
        deliver_outbox(row.id)
    db.session.expire_all()
    error = db.session.get(OutboxMessage, row.id).last_error
    assert error.startswith("cannot reach gw.example: Failed to parse: https://***@gw.example:99999/send?***")
    assert "s3cret" not in error and "K3Y" not in error


def test_a_row_whose_worker_died_on_its_last_attempt_is_failed_not_retried(app, world):
    """A worker killed while sending (out of memory, SIGKILL) leaves its row `sending`; after the
    lease the relay sends it again, but not beyond the last attempt: then it is failed."""
    app.config["SMS_GATEWAY_URL"] = "https://gw.example/send?to={phone}"
    spent, retried = _sms_rows(world, world.vol1, world.head1)
    long_ago = utcnow() - timedelta(seconds=app.config["OUTBOX_LEASE_SECONDS"] + 60)
    for row, attempts in ((spent, services.max_attempts()), (retried, 2)):
        row.status, row.attempts, row.claimed_at, row.claim_token = "sending", attempts, long_ago, "gone"
    db.session.commit()
    redis_connection().flushdb()  # the jobs that sent them are gone with their worker
    assert relay_outbox() == 1  # the one with attempts left
    db.session.expire_all()
    spent, retried = db.session.get(OutboxMessage, spent.id), db.session.get(OutboxMessage, retried.id)
    assert spent.status == "failed" and spent.last_error == services.ABANDONED
    assert retried.status == "sending" and services.due_outbox_ids() == [retried.id]
    assert services.claim(spent.id) is None
