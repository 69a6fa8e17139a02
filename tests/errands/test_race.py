"""The claim race, with real threads on the suite's database (SQLite or PostgreSQL): exactly one
winner among 50, the others told who has it; and the limit of active claims holds under load."""
import threading

from sqlalchemy import func, select

from gridapp.auth.models import User
from gridapp.core.rules import RuleError
from gridapp.errands import services
from gridapp.errands.models import Errand, ErrandEvent
from gridapp.extensions import db
from tests.conftest import Client
from tests.errands.factories import make_errand
from tests.factories import make_user

N = 50


def racers(world, n=N):
    return [make_user(f"racer{i}", ("volunteer", world.c1), display_name=f"跑腿{i}") for i in range(n)]


def run_threads(app, targets):
    """Run each callable in its own thread and app context, all released at once."""
    barrier = threading.Barrier(len(targets))
    results = [None] * len(targets)

    def run(i, fn):
        with app.app_context():
            try:
                results[i] = fn(barrier)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(targets)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    return results


def claim_in_thread(user_id, errand_id):
    def fn(barrier):
        user = db.session.get(User, user_id)
        errand = db.session.get(Errand, errand_id)
        db.session.commit()  # SQLite: never hold the write lock while waiting at the barrier
        barrier.wait()
        try:
            services.claim(errand, user)
            db.session.commit()
            return ("won", user.display_name)
        except RuleError as exc:
            db.session.rollback()
            return ("refused", str(exc))
    return fn


def test_fifty_simultaneous_claims_have_exactly_one_winner(app, world):
    people = racers(world)
    errand = make_errand(world)
    ids, errand_id = [p.id for p in people], errand.id
    db.session.commit()

    results = run_threads(app, [claim_in_thread(uid, errand_id) for uid in ids])

    winners = [name for outcome, name in results if outcome == "won"]
    assert len(winners) == 1, results
    refusals = [msg for outcome, msg in results if outcome == "refused"]
    assert len(refusals) == N - 1
    assert set(refusals) == {f"Already taken by {winners[0]}."}
    db.session.expire_all()
    row = db.session.get(Errand, errand_id)
    winner = db.session.scalars(select(User).where(User.display_name == winners[0])).one()
    assert (row.status, row.claimant_id) == ("claimed", winner.id)
    assert db.session.scalar(select(func.count(ErrandEvent.id)).where(
        ErrandEvent.errand_id == errand_id, ErrandEvent.action == "claimed")) == 1


def test_one_volunteer_claiming_six_errands_at_once_gets_three(app, world):
    errands = [make_errand(world) for _ in range(6)]
    vol_id, errand_ids = world.vol1.id, [e.id for e in errands]
    db.session.commit()

    results = run_threads(app, [claim_in_thread(vol_id, eid) for eid in errand_ids])

    assert sorted(outcome for outcome, _msg in results) == ["refused"] * 3 + ["won"] * 3, results
    assert {msg for outcome, msg in results if outcome == "refused"} == {
        "You already hold 3 active errands; deliver or release one first."}
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Errand.id)).where(Errand.claimant_id == vol_id)) == 3


def test_fifty_simultaneous_claims_over_http(app, world):
    """The same race through the claim endpoint: one success, the others told who has it."""
    people = racers(world)
    errand = make_errand(world)
    errand_id = errand.id
    clients = []
    for p in people:
        c = Client(app)
        c.login(p.username)
        c.token()
        clients.append(c)

    def post(c):
        def fn(barrier):
            barrier.wait()
            resp = c.htmx_post(f"/errands/{errand_id}/claim", {"from": "board"})
            return resp.status_code, resp.get_data(as_text=True), resp.headers.get("HX-Trigger", "")
        return fn

    results = run_threads(app, [post(c) for c in clients])
    assert {code for code, _html, _trig in results} == {200, 409}  # one winner, the others a conflict
    won = [html for _code, html, trig in results if '"success"' in trig]
    assert len(won) == 1 and "Open it: address and phone" in won[0]
    db.session.expire_all()
    winner = db.session.get(Errand, errand_id).claimant
    lost = [html for _code, html, trig in results if '"error"' in trig]
    assert len(lost) == N - 1
    assert all(f"Already taken by {winner.display_name}." in html for html in lost)
