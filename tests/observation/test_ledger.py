"""The community's ledger of people under home observation, and its Excel export: personal columns only
when asked for with a reason and the password again, every export recorded; refused outside."""
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from gridapp.extensions import db
from gridapp.observation import services
from gridapp.privacy.models import AccessRecord
from gridapp.timeutil import pin_clock
from tests.exports import PERSONAL_REASON, cells_with, confirmed, personal, workbook
from tests.observation.factories import T0, start

H = timedelta(hours=1)


@pytest.fixture(autouse=True)
def _clock():
    yield
    pin_clock(None)


def _as(make_client, username):
    c = make_client()
    c.login(username)
    return c


def test_the_ledger_lists_the_communitys_people_and_is_refused_outside(make_client, world):
    obs = start(world)
    at = T0 + 3 * H
    pin_clock(at)
    services.record_check(services.current_check(obs, at), world.head1, {"temperature": Decimal("37.8")},
                          "phone", now=at)
    db.session.commit()
    for username in ("secretary2", "gridder1", "head1", "vol1", "sup1"):
        assert _as(make_client, username).get(f"/observation/ledger/{world.c1.id}").status_code == 403, username
        assert _as(make_client, username).get(f"/observation/ledger/{world.c1.id}.xlsx").status_code == 403
    sec = _as(make_client, "secretary1")
    assert f"/observation/ledger/{world.c1.id}" in sec.get("/observation/").text
    page = sec.get(f"/observation/ledger/{world.c1.id}")
    assert page.status_code == 200 and "王小明" in page.text and "37.8" in page.text
    assert _as(make_client, "leader").get(f"/observation/ledger/{world.c1.id}").status_code == 200

    plain = workbook(sec.get(f"/observation/ledger/{world.c1.id}.xlsx"))
    assert not cells_with(plain, "王小明") and cells_with(plain, "阳光小区")
    assert sec.get(personal(f"/observation/ledger/{world.c1.id}.xlsx")).status_code != 200  # password first
    full = workbook(confirmed(sec).get(personal(f"/observation/ledger/{world.c1.id}.xlsx")))
    assert cells_with(full, "王小明") and cells_with(full, "13909390001") and cells_with(full, 37.8)
    db.session.expire_all()
    exports = db.session.scalars(select(AccessRecord).where(AccessRecord.what == "export:observation")
                                 .order_by(AccessRecord.id)).all()
    assert [(e.personal, e.reason, e.rows) for e in exports] == [(False, "", 1), (True, PERSONAL_REASON, 1)]
