"""The ERRANDS_* settings: read by gridapp/config.py from the environment (defaults otherwise), and
obeyed by the claim, the sweeps and the privacy window."""
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from gridapp.config import load_config
from gridapp.errands import services
from gridapp.errands.models import Errand
from gridapp.errands.policy import DEFAULTS
from gridapp.extensions import db
from gridapp.notifications.models import Notification
from gridapp.policy import can
from gridapp.timeutil import utcnow
from jobs.errands import sweep_errands
from tests.errands.factories import H, add_volunteers, claimed, delivered, make_errand
from tests.errands.helpers import logged_in

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
M = timedelta(minutes=1)
SETTINGS = {"ERRANDS_MAX_ACTIVE_CLAIMS": ("3", "5"), "ERRANDS_CLAIM_MINUTES": ("120", "90"),
            "ERRANDS_URGENT_CLAIM_MINUTES": ("30", "20"), "ERRANDS_URGENT_ALERT_MINUTES": ("15", "5"),
            "ERRANDS_UNCONFIRMED_REMINDER_HOURS": ("24", "12"), "ERRANDS_CONTACT_DAYS": ("7", "3")}


@pytest.fixture
def w(world):
    return add_volunteers(world)


def test_config_reads_the_errand_settings_from_the_environment(monkeypatch, tmp_path: Path):
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SECRET_KEY", "x")
    defaults = load_config(tmp_path)
    assert {n: defaults[n] for n in SETTINGS} == {n: int(d) for n, (d, _v) in SETTINGS.items()} == DEFAULTS
    for name, (_default, value) in SETTINGS.items():
        monkeypatch.setenv(name, value)
    cfg = load_config(tmp_path)
    assert {n: cfg[n] for n in SETTINGS} == {n: int(v) for n, (_d, v) in SETTINGS.items()}


def test_the_claim_timeouts_follow_the_settings(app, w):
    app.config.update(ERRANDS_CLAIM_MINUTES=45, ERRANDS_URGENT_CLAIM_MINUTES=10)
    normal = claimed(w, w.vol1, now=T0)
    urgent = claimed(w, w.vol2, now=T0, urgent=True)
    assert (normal.claim_expires_at, urgent.claim_expires_at) == (T0 + 45 * M, T0 + 10 * M)
    assert sweep_errands((T0 + 10 * M).isoformat())["expired"] == 1
    assert sweep_errands((T0 + 45 * M).isoformat())["expired"] == 1


def test_the_sweeps_follow_the_settings(app, w):
    app.config.update(ERRANDS_URGENT_ALERT_MINUTES=5, ERRANDS_UNCONFIRMED_REMINDER_HOURS=2)
    urgent = make_errand(w, urgent=True, now=T0)
    done = delivered(w, w.vol2, now=T0)
    assert sweep_errands((T0 + 4 * M).isoformat())["urgent_alerts"] == 0
    assert sweep_errands((T0 + 5 * M).isoformat())["urgent_alerts"] == 1
    assert sweep_errands((T0 + 2 * H - M).isoformat())["unconfirmed"] == 0
    assert sweep_errands((T0 + 2 * H).isoformat())["unconfirmed"] == 1
    told = set(db.session.scalars(select(Notification.dedupe_key)))
    urgent_bodies = db.session.scalars(select(Notification.body).where(Notification.kind == "errand_urgent")).all()
    assert urgent_bodies and all(body.startswith(f"#{urgent.id} ") for body in urgent_bodies)
    assert f"errand-unconfirmed:{done.id}" in told


def test_the_privacy_window_follows_the_setting(app, make_client, w):
    app.config["ERRANDS_CONTACT_DAYS"] = 2
    errand = delivered(w, w.vol1)
    services.confirm(errand, w.head1, money_settled=True)
    db.session.commit()
    db.session.execute(update(Errand).where(Errand.id == errand.id)
                       .values(confirmed_at=utcnow() - timedelta(days=2, minutes=1)))
    db.session.commit()
    db.session.expire_all()
    row = db.session.get(Errand, errand.id)
    assert not can(w.vol1, "view_contact", row) and can(w.head1, "view_contact", row)
    html = logged_in(make_client, "vol1").get(f"/errands/{errand.id}").get_data(as_text=True)
    assert 'id="errand-contact-gone"' in html and "more than 2 days ago" in html and "张三" not in html
    app.config["ERRANDS_CONTACT_DAYS"] = 3
    assert can(w.vol1, "view_contact", row)
