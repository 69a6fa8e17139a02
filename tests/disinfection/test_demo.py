"""The demo points: every compound and community gets points, a week of history, once."""
from sqlalchemy import func, select

from gridapp.disinfection.demo import seed_disinfection
from gridapp.disinfection.models import DisinfectionPoint, DisinfectionSlot
from gridapp.extensions import db


def test_seed_disinfection_is_idempotent_and_fills_the_board(world, make_client):
    result = seed_disinfection()
    db.session.commit()
    assert result["points"] == db.session.scalar(select(func.count(DisinfectionPoint.id))) > 10
    garbage = db.session.scalars(select(DisinfectionPoint).where(DisinfectionPoint.task == "garbage")).all()
    assert len(garbage) == 3  # one per compound
    statuses = dict(db.session.execute(select(DisinfectionSlot.status, func.count())
                                       .group_by(DisinfectionSlot.status)).all())
    assert statuses["done"] > statuses["missed"] > 0
    # The history starts no run of three days with misses: the first sweep raises no finding.
    from gridapp.disinfection import services
    from gridapp.supervision.models import RectificationItem

    assert services.raise_flags()["flags"] == 0
    assert db.session.scalar(select(func.count(RectificationItem.id))) == 0
    assert seed_disinfection() == {"skipped": True}
    c = make_client()
    c.login("leader")
    html = c.get("/disinfection/board").get_data(as_text=True)
    assert "红嘴鸥物业" in html and "compliance-chart" in html
