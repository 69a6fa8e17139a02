"""The finding form as a supervisor uses it on a phone, without JavaScript: a due time typed on it."""
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from gridapp.extensions import db
from gridapp.supervision.models import RectificationItem
from tests.grid.helpers import logged_in
from tests.supervision.factories import make_inspection

H = timedelta(hours=1)


def count(model):
    n = db.session.scalar(select(func.count()).select_from(model))
    db.session.commit()
    return n


def finding(**extra):
    return {"category": "sanitation", "severity": "minor", "description": "垃圾桶满溢未清运", **extra}


# --- a due time set on the finding ---------------------------------------------------------------

def test_a_due_time_typed_on_the_finding_is_the_items(make_client, world, clock):
    clock.town("2026-03-02 09:00")
    inspection = make_inspection(world)
    sup = logged_in(make_client, "sup1")
    page = sup.get(f"/supervision/inspections/{inspection.id}").get_data(as_text=True)
    # The phone's picker offers the next 30 days, in the town's time; the hint says so.
    assert 'min="2026-03-02T09:01"' in page and 'max="2026-04-01T09:00"' in page
    assert "整改期限（留空则按严重程度）" in page and "可设为从现在起 30 天内的任一时间。" in page
    resp = sup.post(f"/supervision/inspections/{inspection.id}/findings", finding(due_at="2026-03-02T17:30"))
    assert resp.status_code == 302
    item = db.session.scalars(select(RectificationItem)).one()
    assert item.due_at == datetime(2026, 3, 2, 9, 30, tzinfo=UTC)  # 17:30 in the town; minor would be 72 h
    db.session.commit()
    html = logged_in(make_client, "pm1").get(f"/supervision/items/{item.id}").get_data(as_text=True)
    assert '<dd id="item-due">2026-03-02 17:30</dd>' in html


def test_an_empty_due_time_is_the_severitys(make_client, world, clock):
    now = clock.town("2026-03-02 09:00")
    inspection = make_inspection(world)
    sup = logged_in(make_client, "sup1")
    resp = sup.post(f"/supervision/inspections/{inspection.id}/findings", finding(due_at=""))
    assert resp.status_code == 302
    assert db.session.scalars(select(RectificationItem.due_at)).one() == now + 72 * H


@pytest.mark.parametrize("typed,message", [
    ("2026-03-02T08:59", "整改期限必须晚于现在。"),
    ("2026-03-02T09:00", "整改期限必须晚于现在。"),
    ("2026-04-01T09:01", "整改期限最晚只能设在 30 天之后。"),
    ("2027-03-02T09:00", "整改期限最晚只能设在 30 天之后。"),
])
def test_a_due_time_past_or_too_far_shows_the_form_again_with_everything_typed(make_client, world, clock,
                                                                                 typed, message):
    clock.town("2026-03-02 09:00")
    inspection = make_inspection(world)
    sup = logged_in(make_client, "sup1")
    resp = sup.post(f"/supervision/inspections/{inspection.id}/findings", finding(
        due_at=typed, severity="critical", owner_id=str(world.head1.id), owner_for=""))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert f'<p class="error" id="due_at-err">{message}</p>' in html
    assert f'value="{typed}"' in html and "垃圾桶满溢未清运" in html
    assert ('<option selected value="sanitation">' in html and '<option selected value="critical">' in html
            and f'<option selected value="{world.head1.id}">' in html)
    assert count(RectificationItem) == 0


def test_only_the_supervision_team_records_a_finding_with_a_due_time(make_client, world, clock):
    clock.town("2026-03-02 09:00")
    inspection = make_inspection(world)
    for username in ("pm1", "leader", "secretary1", "vol1"):
        resp = logged_in(make_client, username).post(f"/supervision/inspections/{inspection.id}/findings",
                                                     finding(due_at="2026-03-02T17:30"))
        assert resp.status_code == 403, username
    assert count(RectificationItem) == 0
    assert logged_in(make_client, "leader").get("/supervision/inspections/new").status_code == 403
