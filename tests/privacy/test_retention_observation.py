"""Home observation records — the observation, its daily checks (temperatures, symptoms), its fever
follow-ups — go RETENTION_OBSERVATION_DAYS after the observation ended, never while a follow-up is
open; the audit trail of an observation holds no reason or outcome."""
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from gridapp.audit.models import AuditEvent
from gridapp.extensions import db
from gridapp.observation import services
from gridapp.observation.models import FeverFollowUp, Observation, ObservationCheck
from gridapp.privacy import retention
from gridapp.timeutil import pin_clock
from tests.observation.factories import T0, make_person, start


def _count(model, *where):
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _with_fever(world, name, phone):
    obs = start(world, person=make_person(world, name=name, phone=phone))
    check = services.current_check(obs, now=T0 + timedelta(hours=2))
    services.record_check(check, world.head1, {"temperature": Decimal("38.2"), "cough": True}, "in_person",
                          now=T0 + timedelta(hours=2))
    db.session.commit()
    return obs


def test_observation_records_go_after_their_retention_and_never_with_a_follow_up_open(app, world):
    old = _with_fever(world, "王一", "13900000011")
    followup = db.session.scalars(select(FeverFollowUp).where(FeverFollowUp.observation_id == old.id)).one()
    services.close_followup(followup, world.gm1, "resolved", "退烧了", now=T0 + timedelta(hours=5))
    services.close_observation(old, world.gm1, "end_early", "送医住院", now=T0 + timedelta(hours=6))
    still_open = _with_fever(world, "王二", "13900000012")
    services.close_observation(still_open, world.gm1, "lose", "联系不上", now=T0 + timedelta(hours=6))
    recent = start(world, person=make_person(world, name="王三", phone="13900000013"))
    services.close_observation(recent, world.gm1, "end_early", "提前解除", now=T0 + timedelta(days=10))
    db.session.commit()
    ids = (old.id, still_open.id, recent.id)
    assert _count(ObservationCheck, ObservationCheck.observation_id == old.id) > 0

    for event in db.session.scalars(select(AuditEvent).where(AuditEvent.object_type.in_(("Observation",
                                                                                          "FeverFollowUp")))):
        for secret in ("送医住院", "联系不上", "提前解除", "退烧", "resolved", "38.2"):
            assert secret not in event.summary, (event.action, event.summary)

    days = app.config["RETENTION_OBSERVATION_DAYS"]
    now = T0 + timedelta(hours=6, days=days, minutes=1)
    pin_clock(now)
    counts = retention.purge_expired(now)
    assert counts["observation_records"] == 1
    db.session.expire_all()
    assert db.session.get(Observation, ids[0]) is None
    assert _count(ObservationCheck, ObservationCheck.observation_id == ids[0]) == 0
    assert _count(FeverFollowUp, FeverFollowUp.observation_id == ids[0]) == 0
    assert db.session.get(Observation, ids[1]) is not None  # its fever follow-up is still open
    assert db.session.get(Observation, ids[2]) is not None  # ended 10 days later: still inside
    assert retention.purge_expired(now)["observation_records"] == 0
    pin_clock(None)
