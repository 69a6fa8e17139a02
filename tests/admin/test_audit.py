"""The audit trail page: newest first, filters, local times, and what events carry."""
import re
from datetime import UTC, datetime

from gridapp.audit.models import AuditEvent
from gridapp.extensions import db
from tests.admin.helpers import events, logged_in


def _rows(html):
    body = html.split("<tbody>")[1].split("</tbody>")[0]
    return [re.findall(r"<td>(.*?)</td>", row, re.S) for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def _event(action, when, name, actor="someone", object_type="Community"):
    db.session.add(AuditEvent(action=action, created_at=when, object_type=object_type, object_id=7,
                              object_name=name, actor_name=actor, ip="10.0.0.9"))


def test_events_are_listed_newest_first_with_local_time_actor_object_and_ip(make_client, world):
    _event("place_updated", datetime(2024, 3, 1, 15, 30, tzinfo=UTC), "older")
    _event("place_updated", datetime(2024, 3, 1, 16, 30, tzinfo=UTC), "newer")
    db.session.commit()
    html = logged_in(make_client, "admin").get("/admin/audit?action=place_updated").get_data(as_text=True)
    rows = _rows(html)
    assert [r[3] for r in rows] == ["Community #7 newer", "Community #7 older"]
    # Stored in UTC, shown in the town's zone (UTC+8).
    assert rows[0][0] == "2024-03-02 00:30:00" and rows[1][0] == "2024-03-01 23:30:00"
    assert rows[0][1] == "someone" and rows[0][5] == "10.0.0.9"


def test_action_filter_shows_only_that_action(make_client, world):
    admin = logged_in(make_client, "admin")
    admin.post(f"/admin/users/{world.vol1.id}/active", {"active": "0"})
    admin.post(f"/admin/users/{world.pm1.id}/active", {"active": "0"})
    html = admin.get("/admin/audit?action=user_disabled").get_data(as_text=True)
    rows = _rows(html)
    assert {r[2] for r in rows} == {"Disabled an account"}  # words, not the code
    assert sorted(r[3] for r in rows) == [f"Account #{world.pm1.id} pm1", f"Account #{world.vol1.id} vol1"]
    assert "2 events" in html
    # The action select offers the actions on record, the chosen one selected.
    assert '<option selected value="user_disabled">Disabled an account</option>' in html
    assert '<option value="login">Logged in</option>' in html
    # Without the filter, the logins are there too.
    assert "Logged in" in {r[2] for r in _rows(admin.get("/admin/audit").get_data(as_text=True))}


def test_actor_and_object_type_filters(make_client, world):
    _event("x_done", datetime(2024, 5, 1, tzinfo=UTC), "a", actor="alice", object_type="Grid")
    _event("x_done", datetime(2024, 5, 1, tzinfo=UTC), "b", actor="bob", object_type="Grid")
    _event("x_done", datetime(2024, 5, 1, tzinfo=UTC), "c", actor="alice", object_type="Compound")
    db.session.commit()
    admin = logged_in(make_client, "admin")
    assert sorted(r[3].split()[-1] for r in _rows(admin.get("/admin/audit?actor=alice").get_data(as_text=True))) == [
        "a", "c"]
    rows = _rows(admin.get("/admin/audit?actor=alice&object_type=Grid").get_data(as_text=True))
    assert [r[3] for r in rows] == ["Grid #7 a"]


def test_date_range_is_in_the_towns_days(make_client, world):
    # 23:30 and 00:30 in the town are on different days, though the same UTC day.
    _event("d_test", datetime(2024, 3, 1, 15, 30, tzinfo=UTC), "first-of-march")
    _event("d_test", datetime(2024, 3, 1, 16, 30, tzinfo=UTC), "second-of-march")
    _event("d_test", datetime(2024, 3, 3, 15, 59, tzinfo=UTC), "third-late")
    _event("d_test", datetime(2024, 3, 3, 16, 0, tzinfo=UTC), "fourth-midnight")
    db.session.commit()
    admin = logged_in(make_client, "admin")

    def names(query):
        html = admin.get("/admin/audit?action=d_test&" + query).get_data(as_text=True)
        return sorted(r[3].split()[-1] for r in _rows(html))

    assert names("date_from=2024-03-02&date_to=2024-03-02") == ["second-of-march"]
    assert names("date_from=2024-03-02") == ["fourth-midnight", "second-of-march", "third-late"]
    assert names("date_to=2024-03-03") == ["first-of-march", "second-of-march", "third-late"]
    assert names("date_from=2024-03-01&date_to=2024-03-01") == ["first-of-march"]


def test_bad_filter_values_are_shown_and_ignored(make_client, world):
    _event("b_test", datetime(2024, 3, 1, tzinfo=UTC), "kept")
    db.session.commit()
    admin = logged_in(make_client, "admin")
    for query in ("date_from=yesterday", "date_to=2024-13-45", "date_from=0001-01-01", "date_to=9999-12-31",
                  "page=abc", "page=-4", "page=99999999999999999999", "action=" + "x" * 500):
        resp = admin.get("/admin/audit?" + query)
        assert resp.status_code == 200, query
    html = admin.get("/admin/audit?action=b_test&date_from=0001-01-01").get_data(as_text=True)
    assert "Enter a date between 2000 and 2100." in html
    assert [r[3] for r in _rows(html)] == ["Community #7 kept"]


def test_pager_keeps_the_filters(app, make_client, world):
    app.config["PAGE_SIZE"] = 2
    for i in range(5):
        _event("p_test", datetime(2024, 3, 1, tzinfo=UTC), f"e{i}")
    db.session.commit()
    html = logged_in(make_client, "admin").get("/admin/audit?action=p_test&date_from=2024-03-01").get_data(
        as_text=True)
    assert "Page 1 of 3" in html
    assert 'href="/admin/audit?page=2&amp;action=p_test&amp;date_from=2024-03-01"' in html


def test_logins_failed_logins_and_refusals_are_on_the_record(make_client, world):
    bad = make_client()
    bad.post("/login", {"username": "vol1", "password": "wrong-password-x"})
    vol1 = logged_in(make_client, "vol1")
    vol1.get("/admin/audit")
    recorded = [(e.action, e.actor_name, e.object_name, e.ip) for e in events()]
    assert ("login_failed", "vol1", "vol1", "127.0.0.1") in recorded
    assert ("login", "vol1", "vol1", "127.0.0.1") in recorded
    assert ("denied", "vol1", "", "127.0.0.1") in recorded
    html = logged_in(make_client, "leader").get("/admin/audit?action=denied").get_data(as_text=True)
    assert [(r[1], r[2], r[4]) for r in _rows(html)] == [("vol1", "Was refused an action", "view_audit")]


def test_the_trail_is_never_cached(make_client, world):
    resp = logged_in(make_client, "leader").get("/admin/audit")
    assert resp.headers["Cache-Control"] == "no-store"
