"""The demo roster: the field report's 107 checkpoints with their shifts and some people, once."""
from sqlalchemy import func, select

from gridapp.duty.demo import seed_duty
from gridapp.duty.models import Checkpoint, Shift, Signup
from gridapp.extensions import db


def test_seed_duty_builds_107_checkpoints_once(world, make_client):
    result = seed_duty()
    db.session.commit()
    assert result["checkpoints"] == 107
    kinds = dict(db.session.execute(select(Checkpoint.kind, func.count()).group_by(Checkpoint.kind)).all())
    assert kinds == {"vanguard": 53, "gate": 54}
    assert db.session.scalar(select(func.count()).select_from(Checkpoint)
                             .where(Checkpoint.work_unit_id.is_not(None))) == 54
    assert db.session.scalar(select(func.count(Shift.id))) >= 107 * 3 * 13
    assert result["signups"] + result["past"] + result["on_duty_now"] == db.session.scalar(
        select(func.count(Signup.id)))
    assert result["signups"] > 0 and result["past"] > 0
    assert seed_duty() == {"skipped": True}
    c = make_client()
    c.login("vol1")
    assert "党员先锋岗" in c.get("/duty/", follow_redirects=True).get_data(as_text=True)
