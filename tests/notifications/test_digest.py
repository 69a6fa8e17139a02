"""Digests instead of floods: the first sweep of a fresh demo town at 00:16 leaves each secretary and
grid member one notice per kind, and text messages go out at night only for shifts running now
(or starting within the urgent lead); the rest waits for the morning, merged; an hourly cap; the
group robots get one message per sweep with place and numbers only."""
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from gridapp.auth.models import User
from gridapp.demo import seed
from gridapp.extensions import db
from gridapp.notifications.digest import Digest
from gridapp.notifications.models import GroupWebhook, Notification, OutboxMessage
from jobs.duty import sweep_duty
from jobs.periodic import PERIODIC_JOBS
from tests.notifications.servers import HTTPPeer
from tests.workers import run_burst_worker

SWEEPS = ("remind-rectification", "escalate-rectification", "sweep-disinfection", "sweep-duty", "sweep-errands")


def _run_sweeps(at):
    for job in PERIODIC_JOBS:
        if job.name in SWEEPS:
            job.func(at=at.isoformat())


def _per_person_and_kind(after_id: int, prefixes=("secretary", "gridder")) -> Counter:
    """Notices written after `after_id` (by the sweeps, not by the demo's own events), per person and kind."""
    db.session.expire_all()
    rows = db.session.execute(select(User.username, Notification.kind, func.count())
                              .join(User, User.id == Notification.user_id).where(Notification.id > after_id)
                              .group_by(User.username, Notification.kind)).all()
    return Counter({(u, k): n for u, k, n in rows if u.startswith(prefixes)})


def test_a_fresh_demo_town_swept_at_midnight_gets_one_notice_per_kind_and_few_texts(app, clock):
    with HTTPPeer(answer={"ok": True}) as gateway:
        app.config["SMS_GATEWAY_URL"] = gateway.url + "/send?to={phone}"
        now = clock.town("2026-11-26 00:16")
        seed()
        db.session.commit()
        before = db.session.scalar(select(func.coalesce(func.max(Notification.id), 0)))
        _run_sweeps(now)
        db.session.commit()
        counts = _per_person_and_kind(before)
        per_person = Counter()
        for (username, _kind), n in counts.items():
            per_person[username] += n
        print("notices of the first sweeps, most per person:", per_person.most_common(3))
        assert counts, "the demo town has gaps at midnight"
        assert max(counts.values()) == 1, counts.most_common(3)
        secretary1 = db.session.scalars(select(User).where(User.username == "secretary1")).one()
        gap = db.session.scalars(select(Notification).where(Notification.user_id == secretary1.id,
                                                            Notification.kind == "duty_gap")).one()
        assert len(gap.body.splitlines()) > 20  # the shifts of the next 24 h, one line each
        # Text messages now: the shifts running now or starting within two hours, nothing else.
        texts = db.session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "sms")).all()
        sent_now = [t for t in texts if t.not_before <= now]
        waiting = [t for t in texts if t.not_before > now]
        assert sent_now and waiting
        for text in sent_now:
            # The demo's one fever in home observation is urgent by design: quiet hours never hold it.
            assert text.urgent and text.kind in ("duty_gap", "errand_urgent", "observation_fever")
            if text.kind == "duty_gap":
                for line in text.body.splitlines():
                    assert any(f" {h}:00-" in line for h in ("00", "01", "02")), line
        for text in waiting:  # 07:00 in the town
            assert (text.not_before - now) == timedelta(hours=6, minutes=44)
        run_burst_worker(app)
    per_phone = Counter(r["query"]["to"][0] for r in gateway.requests)
    assert len(gateway.requests) == len(sent_now)
    assert max(per_phone.values()) <= 3  # at most one per kind with urgent items (gaps, urgent errands, fevers)


def test_texts_for_the_morning_wait_as_one_message_and_the_hourly_cap_holds(app, world, clock):
    from tests.duty.factories import make_checkpoint

    app.config["SMS_GATEWAY_URL"] = "http://127.0.0.1:9/send"
    world.gm1.phone = "13800001111"
    db.session.commit()
    clock.town("2026-11-25 20:00")
    make_checkpoint(world.c1, world.k1, min_people=1, now=clock.now)
    # 23:00: quiet hours. The running 16:00-24:00 shift is urgent; the others wait for 07:00.
    sweep_duty(at=clock.town("2026-11-25 23:00").isoformat())
    rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.user_id == world.gm1.id)
                              .order_by(OutboxMessage.id)).all()
    assert [(r.urgent, r.not_before <= clock.now) for r in rows] == [(True, True), (False, False)]
    morning = rows[1]
    assert len(morning.body.splitlines()) == 2  # tomorrow 00:00-08:00, 08:00-16:00
    # 23:05 and 04:00: new gaps join the waiting message; no new text.
    sweep_duty(at=clock.town("2026-11-26 00:05").isoformat())
    sweep_duty(at=clock.town("2026-11-26 04:00").isoformat())
    db.session.expire_all()
    rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.user_id == world.gm1.id)).all()
    waiting = [r for r in rows if not r.urgent]
    assert len(waiting) == 1 and len(waiting[0].body.splitlines()) >= 3
    # The cap: at most NOTIFY_EXTERNAL_PER_HOUR new texts per person, kind and hour.
    app.config["NOTIFY_EXTERNAL_PER_HOUR"] = 1
    digest = Digest("duty_gap", title=lambda n, u: f"{n}", link="/", more=lambda n: f"{n}", now=clock.now)
    digest.add([world.gm1], "东门 urgent 1", urgent=True)
    digest.send()
    digest = Digest("duty_gap", title=lambda n, u: f"{n}", link="/", more=lambda n: f"{n}",
                    now=clock.now + timedelta(minutes=5))
    digest.add([world.gm1], "东门 urgent 2", urgent=True)
    digest.send()
    db.session.commit()
    urgent_rows = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.user_id == world.gm1.id, OutboxMessage.urgent.is_(True),
        OutboxMessage.created_at >= clock.now)).all()
    assert [r.body for r in urgent_rows] == ["东门 urgent 1"]
    inbox = db.session.scalars(select(Notification).where(Notification.user_id == world.gm1.id,
                                                          Notification.read_at.is_(None),
                                                          Notification.kind == "duty_gap")).all()
    assert len(inbox) == 1 and "东门 urgent 2" in inbox[0].body  # the inbox still carries it


def test_a_group_robot_gets_one_message_per_sweep_with_place_and_numbers_only(app, world, clock):
    from tests.duty.factories import make_checkpoint

    db.session.add(GroupWebhook(community_id=world.c1.id, provider="wecom", name="城关群",
                                url="http://127.0.0.1:9/hook", active=True))
    db.session.commit()
    clock.town("2026-11-25 09:00")
    make_checkpoint(world.c1, world.k1, min_people=1, now=clock.now)
    make_checkpoint(world.c1, world.k1, min_people=1, name="南门检查点", now=clock.now)
    sweep_duty(at=clock.now.isoformat())
    robots = db.session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "webhook")).all()
    assert len(robots) == 1
    *lines, link = robots[0].body.splitlines()
    assert len(lines) == 8 and robots[0].urgent  # 2 checkpoints × 4 shifts; the running ones urgent
    assert all(("东门检查点" in line or "南门检查点" in line) for line in lines)
    assert robots[0].subject == "缺人的值班班次：共 8 条" and link == "/duty/roster"


@pytest.mark.parametrize("read_first", [False, True])
def test_an_unread_digest_is_replaced_a_read_one_stays(world, clock, read_first):
    clock.town("2026-11-25 09:00")
    for i, line in enumerate(["第一条", "第二条"]):
        if i and read_first:
            for n in db.session.scalars(select(Notification)):
                n.read_at = clock.now
        digest = Digest("duty_gap", title=lambda n, u: f"缺人 {n}", link="/", more=lambda n: f"{n}",
                        now=clock.now + timedelta(minutes=i))
        digest.add([world.gm1, world.sec1], line)
        digest.send()
        db.session.commit()
    notes = db.session.scalars(select(Notification).where(Notification.user_id == world.gm1.id)
                               .order_by(Notification.id)).all()
    if read_first:
        assert [(n.title, n.body) for n in notes] == [("第一条", "第一条"), ("第二条", "第二条")]
    else:
        assert [(n.title, n.body) for n in notes] == [("缺人 2", "第二条\n第一条")]


def test_the_inbox_lists_a_digests_items_and_folds_the_long_tail(world, make_client, clock):
    clock.town("2026-11-25 09:00")
    digest = Digest("duty_gap", title=lambda n, u: f"缺人班次：{n} 个", link="/duty/roster", more=lambda n: f"{n}",
                    now=clock.now)
    for i in range(8):
        digest.add([world.gm1], f"东门检查点 班次{i}")
    digest.send()
    db.session.commit()
    c = make_client()
    c.login("gridder1")
    html = c.get("/notifications/").get_data(as_text=True)
    assert "缺人班次：8 个" in html
    shown, folded = html.split("<details>", 1)
    assert all(f"<li>东门检查点 班次{i}</li>" in shown for i in range(5))
    assert all(f"<li>东门检查点 班次{i}</li>" in folded for i in range(5, 8))
    assert "另外 3 条" in folded
