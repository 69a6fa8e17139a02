"""The demo errands: every state, with timelines that match, run by the town's own people, once."""
from collections import Counter

from sqlalchemy import func, select

from gridapp.errands.demo import seed_errands
from gridapp.errands.models import ACTIVE_CLAIM_STATES, Errand, ErrandEvent, UrgentOptIn
from gridapp.extensions import db
from tests.errands.factories import add_volunteers
from tests.errands.helpers import logged_in

# The events an errand's timeline ends with, for each state it is left in.
LAST_EVENT = {"open": {"filed", "released"}, "claimed": {"claimed"}, "purchased": {"purchased"},
              "delivered": {"delivered"}, "confirmed": {"confirmed"}, "cancelled": {"cancelled"}}
# The steps an errand must have been through to be in this state.
NEEDED = {"claimed": {"filed", "claimed"}, "purchased": {"filed", "claimed", "purchased"},
          "delivered": {"filed", "claimed", "purchased", "delivered"},
          "confirmed": {"filed", "claimed", "purchased", "delivered", "confirmed"},
          "open": {"filed"}, "cancelled": {"filed", "cancelled"}}


def test_seed_errands_tells_every_state_once(world, make_client):
    w = add_volunteers(world)
    result = seed_errands()
    db.session.commit()
    assert result["lead"] == "vol2" and result["errands"] > 10
    errands = db.session.scalars(select(Errand).order_by(Errand.id)).all()
    mine = [e for e in errands if e.community_id == w.c1.id]  # vol2 serves c1 here
    states = Counter(e.status for e in mine)
    assert set(states) == {"open", "claimed", "purchased", "delivered", "confirmed", "cancelled"}
    assert any(e.urgent and e.status == "open" for e in mine)
    assert any(not e.urgent and e.status == "open" for e in mine)
    by_vol2 = {e.status for e in mine if e.claimant_id == w.vol2.id}
    assert {"claimed", "purchased", "delivered", "confirmed"} <= by_vol2
    assert sum(e.claimant_id == w.vol2.id and e.status in ACTIVE_CLAIM_STATES for e in errands) <= 3
    assert {e.community_id for e in errands} == {w.c1.id, w.c2.id}  # every community with volunteers
    events = {}
    for ev in db.session.scalars(select(ErrandEvent).order_by(ErrandEvent.created_at, ErrandEvent.id)):
        events.setdefault(ev.errand_id, []).append(ev)
    for e in errands:
        trail = events[e.id]
        actions = [ev.action for ev in trail]
        assert actions[0] == "filed" and actions[-1] in LAST_EVENT[e.status], (e.status, actions)
        assert NEEDED[e.status] <= set(actions), (e.status, actions)
        assert [ev.created_at for ev in trail] == sorted(ev.created_at for ev in trail)
        assert len(e.item_lines) >= 1 and e.filed_at < e.needed_by_at
        if e.status != "cancelled":  # a cancelled claim keeps its claimant, who was told
            assert (e.claimant_id is not None) == (e.status != "open")
        if e.status in ("purchased", "delivered", "confirmed"):
            assert e.actual_cost_cents and e.purchased_at > e.claimed_at
        if e.status == "confirmed":
            assert e.money_settled and e.confirmed_at > e.delivered_at > e.purchased_at
        if e.status == "cancelled":
            assert e.cancel_reason and e.cancelled_by_id == e.filed_by_id
    assert db.session.get(UrgentOptIn, w.vol2.id) is not None

    assert seed_errands() == {"skipped": True}
    assert db.session.scalar(select(func.count(Errand.id))) == len(errands)

    # The pages show it: vol2's board and own errands, the address of the errand they hold.
    vol2 = logged_in(make_client, "vol2")
    board = vol2.get("/errands/").get_data(as_text=True)
    assert 'id="my-claims"' in board and board.count('class="errand-card"') == states["open"]
    held = next(e for e in mine if e.status == "claimed")
    assert held.compound.address in vol2.get(f"/errands/{held.id}").get_data(as_text=True)
    staff = logged_in(make_client, "secretary1").get("/errands/staff?list=awaiting").get_data(as_text=True)
    delivered = next(e for e in mine if e.status == "delivered")
    assert f'id="staff-errand-{delivered.id}"' in staff


def test_flask_seed_demo_runs_it_in_the_demo_town(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    from gridapp.auth.models import User
    from gridapp.grid.models import Community

    vol2 = db.session.scalars(select(User).where(User.username == "vol2")).one()
    held = db.session.scalars(select(Errand).where(Errand.claimant_id == vol2.id)).all()
    assert {e.status for e in held} >= {"claimed", "purchased", "delivered", "confirmed"}
    assert {db.session.get(Community, e.community_id).name for e in held} == {"北街社区"}
    total = db.session.scalar(select(func.count(Errand.id)))
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert db.session.scalar(select(func.count(Errand.id))) == total
