"""Home observation's pages: who may open and change what (every route refused to someone), a check in
a few taps, and the personal link (no account; expired, revoked, someone else's or wrong → 404)."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from gridapp.extensions import db
from gridapp.notifications.models import OutboxMessage
from gridapp.observation import services
from gridapp.observation.models import FeverFollowUp, Observation, ObservationCheck
from gridapp.privacy.models import AccessRecord
from gridapp.timeutil import pin_clock
from tests.observation.factories import T0, make_person, start

H = timedelta(hours=1)


@pytest.fixture(autouse=True)
def _clock():
    yield
    pin_clock(None)


def _as(make_client, username):
    c = make_client()
    c.login(username)
    return c


def _obs(obs_id):
    db.session.expire_all()
    return db.session.get(Observation, obs_id)


def test_staff_start_an_observation_for_a_person_and_others_are_refused(make_client, world):
    pin_clock(T0)
    person = make_person(world)
    for username in ("gridder3", "vol1", "pm1", "leader"):
        c = _as(make_client, username)
        assert c.get(f"/observation/people/{person.id}/start").status_code == 403, username
        assert c.post(f"/observation/people/{person.id}/start", {"days": "14"}).status_code == 403, username
    head = _as(make_client, "head1")
    page = head.get(f"/observation/people/{person.id}/start")
    assert page.status_code == 200 and re.search(r'name="days"[^>]*value="14"', page.text)
    resp = head.post(f"/observation/people/{person.id}/start", {"days": "14", "reason": "外地返乡",
                                                                "building_head_id": str(world.head1.id),
                                                                "grid_member_id": str(world.gm1.id)})
    assert resp.status_code == 303
    (obs,) = db.session.scalars(select(Observation)).all()
    assert obs.reason == "外地返乡" and obs.started_by_id == world.head1.id
    again = head.post(f"/observation/people/{person.id}/start", {"days": "14"})
    assert again.status_code == 200 and len(db.session.scalars(select(Observation)).all()) == 1


def test_the_observation_page_is_seen_by_its_staff_only_and_the_look_recorded(make_client, world):
    obs = start(world)
    for username in ("gridder3", "secretary2", "vol1", "pm1", "sup1"):
        assert _as(make_client, username).get(f"/observation/{obs.id}").status_code == 403, username
    for username in ("head1", "gridder1", "secretary1", "leader", "admin"):
        page = _as(make_client, username).get(f"/observation/{obs.id}")
        assert page.status_code == 200 and "王小明" in page.text, username
    assert db.session.scalars(select(AccessRecord.what).where(AccessRecord.what == "observation")).all()
    assert _as(make_client, "vol1").get("/observation/").status_code == 403
    listing = _as(make_client, "gridder1").get("/observation/")
    assert listing.status_code == 200 and "王小明" in listing.text
    assert "王小明" not in _as(make_client, "gridder3").get("/observation/").text


def test_the_building_head_records_a_check_in_a_few_taps_the_secretary_may_not(make_client, world):
    obs = start(world)
    pin_clock(T0 + 2 * H)
    sec = _as(make_client, "secretary1")
    assert sec.post(f"/observation/{obs.id}/check", {"temperature": "36.5", "method": "phone"}).status_code == 403
    head = _as(make_client, "head1")
    page = head.get(f"/observation/{obs.id}")
    assert 'name="temperature"' in page.text
    bad = head.post(f"/observation/{obs.id}/check", {"temperature": "43", "method": "in_person"})
    assert bad.status_code == 422
    resp = head.post(f"/observation/{obs.id}/check", {"temperature": "36.5", "method": "in_person"})
    assert resp.status_code == 303
    db.session.expire_all()
    done = db.session.scalars(select(ObservationCheck).where(ObservationCheck.status == "done")).all()
    assert [(c.slot, c.method, c.done_by_id) for c in done] == [("08:00", "in_person", world.head1.id)]


def test_extend_close_and_follow_ups_are_refused_to_outsiders(make_client, world):
    obs = start(world)
    pin_clock(T0 + 2 * H)
    check = services.current_check(obs, T0 + 2 * H)
    services.record_check(check, world.head1, {"temperature": "38.0"}, "in_person", now=T0 + 2 * H)
    db.session.commit()
    followup = db.session.scalars(select(FeverFollowUp)).one()
    outsider = _as(make_client, "gridder3")
    for url, data in ((f"/observation/{obs.id}/extend", {"ends_on": "2026-12-20", "reason": "x"}),
                      (f"/observation/{obs.id}/close", {"action": "lose", "reason": "x"}),
                      (f"/observation/{obs.id}/link", {}), (f"/observation/{obs.id}/link/revoke", {}),
                      (f"/observation/followups/{followup.id}/called", {}),
                      (f"/observation/followups/{followup.id}/close", {"outcome": "resolved"})):
        assert outsider.post(url, data).status_code == 403, url
    head = _as(make_client, "head1")
    assert head.post(f"/observation/followups/{followup.id}/called", {}).status_code == 403
    assert head.post(f"/observation/followups/{followup.id}/close", {"outcome": "resolved"}).status_code == 403
    gm = _as(make_client, "gridder1")
    # "Called" is a step on the way: the follow-up stays open, and a second call is told who called.
    assert gm.post(f"/observation/followups/{followup.id}/called", {"note": "体温复测37.0"}).status_code == 303
    page = gm.get(f"/observation/{obs.id}")
    assert "待随访" in page.text and "体温复测37.0" in page.text and f"followups/{followup.id}/called" not in page.text
    sec = _as(make_client, "secretary1")
    again = sec.post(f"/observation/followups/{followup.id}/called", {}, headers={"HX-Request": "true"})
    assert again.status_code == 409 and "Gridder1" in again.text
    # The old "called" is no way to close; a wrong outcome shows the form again with its message.
    wrong = gm.post(f"/observation/followups/{followup.id}/close", {"outcome": "called"})
    assert wrong.status_code == 422 and db.session.get(FeverFollowUp, followup.id).closed_at is None
    assert gm.post(f"/observation/followups/{followup.id}/close", {"outcome": "referred"}).status_code == 303
    assert gm.post(f"/observation/{obs.id}/extend", {"ends_on": "2026-12-20", "reason": ""}).status_code == 422
    assert gm.post(f"/observation/{obs.id}/extend", {"ends_on": "2026-12-20", "reason": "同住人阳性"}
                   ).status_code == 303
    assert _obs(obs.id).ends_on.isoformat() == "2026-12-20"
    assert head.post(f"/observation/{obs.id}/close", {"action": "end_early", "reason": "转集中隔离"}).status_code == 303
    assert _obs(obs.id).status == "ended_early"
    assert head.post(f"/observation/{obs.id}/close", {"action": "lose", "reason": "x"}).status_code == 303  # refused
    assert _obs(obs.id).status == "ended_early"


def _link(make_client, obs, app):
    app.config["SMS_GATEWAY_URL"] = "http://127.0.0.1:9/sms"
    gm = _as(make_client, "gridder1")
    page = gm.post(f"/observation/{obs.id}/link")
    assert page.status_code == 200
    return re.search(r"/observation/self/([0-9A-Z-]+)", page.text).group(1)


def test_the_personal_link_records_a_self_report_and_is_sent_by_sms_never_stored(make_client, client, world, app):
    obs = start(world)
    pin_clock(T0 + 2 * H)
    token = _link(make_client, obs, app)
    assert token.replace("-", "") not in (_obs(obs.id).link_hash or "")
    (sms,) = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "observation_link")).all()
    assert sms.address == "13909390001" and token in sms.body and sms.user_id is None
    page = client.get(f"/observation/self/{token}")
    assert page.status_code == 200 and 'name="temperature"' in page.text and "<script" not in page.text.split(
        "<body")[1].split("</form>")[0]
    assert page.headers["Referrer-Policy"] == "no-referrer"
    resp = client.post(f"/observation/self/{token}", {"temperature": "36.4"})
    assert resp.status_code == 200 and "已收到" in resp.text or "recorded" in resp.text
    db.session.expire_all()
    (done,) = db.session.scalars(select(ObservationCheck).where(ObservationCheck.status == "done")).all()
    assert (done.method, done.done_by_id, str(done.temperature)) == ("self", None, "36.4")


def test_the_personal_link_answers_404_when_wrong_revoked_expired_or_someone_elses(make_client, client, world, app):
    obs = start(world)
    other = start(world, person=make_person(world, name="李二", phone="13909390002"))
    pin_clock(T0 + 2 * H)
    token = _link(make_client, obs, app)
    assert client.get("/observation/self/AAAA-BBBB-CCCC-DDDD-EEEE-FFFF").status_code == 404
    assert client.get("/observation/self/x").status_code == 404
    # Someone else's: the token opens its own observation only, never another's.
    page = client.get(f"/observation/self/{token}")
    assert "李二" not in page.text
    gm = _as(make_client, "gridder1")
    assert gm.post(f"/observation/{obs.id}/link/revoke").status_code == 303
    revoked = client.get(f"/observation/self/{token}")
    fresh = _link(make_client, other, app)
    pin_clock(T0 + 15 * 24 * H)  # past the last day: expired with the observation
    expired = client.get(f"/observation/self/{fresh}")
    assert revoked.status_code == expired.status_code == 404
    def plain(text, secret):  # the page without the link's token and the form token (signed with the time)
        return re.sub(r'(name="csrf_token"[^>]*value=|"X-CSRFToken": )"[^"]*"', "", text.replace(secret, "T"))

    assert plain(revoked.text, token) == plain(expired.text, fresh)  # nothing says why


def test_the_link_path_is_redacted_from_logs():
    from gridapp.core.redact import redact

    assert redact("GET /observation/self/ABCD-EFGH HTTP/1.1") == "GET /observation/self/*** HTTP/1.1"
