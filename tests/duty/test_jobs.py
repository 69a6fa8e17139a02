"""The duty jobs with frozen time: reminders exactly once, gap alerts once per gap, no-shows listed
once, shifts generated idempotently; and the sweep run by a real RQ worker."""
from datetime import timedelta

from sqlalchemy import func, select

from gridapp.duty import services
from gridapp.duty.models import Shift
from gridapp.extensions import db
from gridapp.jobs_runtime import enqueue
from gridapp.notifications.models import Notification
from jobs.duty import generate_shifts, sweep_duty
from tests.duty.factories import DAY, T0, at, make_checkpoint, make_volunteers, shift_of
from tests.workers import run_burst_worker


def _notices(user, kind):
    db.session.expire_all()
    return db.session.scalars(select(Notification).where(Notification.user_id == user.id,
                                                         Notification.kind == kind)).all()


def test_generate_shifts_job_is_idempotent(world):
    cp = make_checkpoint(world.c1, world.k1)
    assert generate_shifts(at=T0.isoformat()) == {"shifts": 0}
    assert generate_shifts(at=(T0 + timedelta(days=2)).isoformat()) == {"shifts": 6}
    assert generate_shifts(at=(T0 + timedelta(days=2)).isoformat()) == {"shifts": 0}
    assert db.session.scalar(select(func.count(Shift.id)).where(Shift.checkpoint_id == cp.id)) == 16 * 3


def test_a_reminder_two_hours_before_exactly_once(world):
    cp = make_checkpoint(world.c1, world.k1)
    signup = services.sign_up(shift_of(cp, label="16:00-24:00"), world.vol1, now=T0)
    db.session.commit()
    sweep_duty(at=at(DAY, "13:59").isoformat())
    assert _notices(world.vol1, "duty_reminder") == []
    sweep_duty(at=at(DAY, "14:00").isoformat())
    sweep_duty(at=at(DAY, "14:05").isoformat())
    notes = _notices(world.vol1, "duty_reminder")
    assert len(notes) == 1
    assert notes[0].dedupe_key == f"shift-reminder:{signup.id}"
    assert "东门检查点" in notes[0].title


def test_a_withdrawn_person_gets_no_reminder(world):
    cp = make_checkpoint(world.c1, world.k1)
    tomorrow = DAY + timedelta(days=1)
    signup = services.sign_up(shift_of(cp, tomorrow), world.vol1, now=T0)
    services.withdraw(signup, world.vol1, now=T0)
    db.session.commit()
    sweep_duty(at=at(tomorrow, "07:00").isoformat())
    assert _notices(world.vol1, "duty_reminder") == []


def _read(user, kind):
    for n in _notices(user, kind):
        n.read_at = n.created_at
    db.session.commit()


def test_gap_alert_once_per_gap_and_again_after_refilling(world):
    cp = make_checkpoint(world.c1, world.k1, min_people=1)
    vol2, = make_volunteers(world.c1, 1)
    tomorrow = DAY + timedelta(days=1)
    # A day ahead: tomorrow's 08:00 shift is not yet within 24 h at 07:59 today.
    about = lambda u: [n for n in _notices(u, "duty_gap") if tomorrow.isoformat() + " 08:00" in n.body]  # noqa: E731
    sweep_duty(at=at(DAY, "07:59").isoformat())
    watched = shift_of(cp, tomorrow)
    assert about(world.gm1) == []
    sweep_duty(at=at(DAY, "08:00").isoformat())
    sweep_duty(at=at(DAY, "08:10").isoformat())
    assert len(about(world.gm1)) == 1 and len(about(world.sec1)) == 1
    assert about(world.gm1)[0].body.count(tomorrow.isoformat() + " 08:00") == 1
    assert about(world.gm3) == [] and about(world.sec2) == []
    _read(world.gm1, "duty_gap")
    _read(world.sec1, "duty_gap")
    # Filled to its minimum, then emptied: a new gap, told once more.
    services.sign_up(shift_of(cp, tomorrow), vol2, now=at(DAY, "08:20"))
    db.session.commit()
    sweep_duty(at=at(DAY, "08:30").isoformat())
    assert len(about(world.gm1)) == 1
    signup = services.load_signup(services.my_signups_on(vol2, [watched.id])[watched.id].id)
    services.remove(signup, world.gm1, "临时有事", now=at(DAY, "09:00"))
    db.session.commit()
    sweep_duty(at=at(DAY, "09:05").isoformat())
    sweep_duty(at=at(DAY, "09:10").isoformat())
    assert len(about(world.gm1)) == 2 and len(about(world.sec1)) == 2
    assert [n.read_at is None for n in about(world.gm1)].count(True) == 1


def test_a_sweep_tells_each_person_one_digest_and_replaces_an_unread_one(world):
    make_checkpoint(world.c1, world.k1, min_people=1)
    make_checkpoint(world.c1, world.k1, min_people=1, name="南门检查点")
    sweep_duty(at=at(DAY, "08:00").isoformat())
    first = _notices(world.gm1, "duty_gap")
    assert len(first) == 1 and first[0].urgent
    # Two checkpoints × (today 08:00 running, 16:00, tomorrow 00:00, 08:00): eight lines, the
    # running shifts (urgent) first.
    lines = first[0].body.splitlines()
    assert len(lines) == 8
    assert [("running now" in line) for line in lines] == [True, True] + [False] * 6
    assert first[0].title == "Shifts short of people: 8, 2 of them now or soon"
    # The next sweeps, while it is unread: still one notice, holding the new gaps too.
    sweep_duty(at=at(DAY, "08:05").isoformat())
    sweep_duty(at=at(DAY, "16:00").isoformat())  # tomorrow's 16:00 shifts come within 24 h
    notes = _notices(world.gm1, "duty_gap")
    assert len(notes) == 1 and len(notes[0].body.splitlines()) == 10
    assert notes[0].body.count("东门检查点") == 5 and notes[0].body.count("南门检查点") == 5


def test_ended_shifts_with_people_never_checked_in_are_listed_once(world):
    cp = make_checkpoint(world.c1, world.k1)
    services.sign_up(shift_of(cp), world.vol1, now=T0)
    db.session.commit()
    assert sweep_duty(at=at(DAY, "15:59").isoformat())["no_show_shifts"] == 0
    assert sweep_duty(at=at(DAY, "16:00").isoformat())["no_show_shifts"] == 1
    assert sweep_duty(at=at(DAY, "16:05").isoformat())["no_show_shifts"] == 0
    assert len(_notices(world.gm1, "duty_no_show")) == 1
    assert [s.user_id for s in services.to_confirm(world.gm1, at(DAY, "16:05"))] == [world.vol1.id]
    assert services.to_confirm(world.gm3, at(DAY, "16:05")) == []


def test_the_sweep_runs_on_a_real_worker(app, world):
    cp = make_checkpoint(world.c1, world.k1)
    services.sign_up(shift_of(cp, label="16:00-24:00"), world.vol1, now=T0)
    db.session.commit()
    moment = at(DAY, "14:30").isoformat()
    enqueue(sweep_duty, moment, job_id="test-sweep-duty-1", job_timeout=60)
    enqueue(sweep_duty, moment, job_id="test-sweep-duty-2", job_timeout=60)
    run_burst_worker(app)
    assert len(_notices(world.vol1, "duty_reminder")) == 1
