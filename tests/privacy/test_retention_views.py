"""/privacy/retention: the administrator and the town leader read how long each kind of personal data
is kept and what the last purges removed; everyone else is refused. An erased errand's page says so."""
import pytest

from gridapp.extensions import db
from gridapp.privacy import retention
from tests.admin.helpers import logged_in
from tests.privacy.retention_factories import D, T, closed_errand, notifications


@pytest.mark.parametrize("username", ["admin", "leader"])
def test_the_retention_page_shows_the_settings_and_the_last_purges(app, world, clock, make_client, username):
    app.config["RETENTION_NOTIFICATION_DAYS"] = 60
    notifications(world, T - 61 * D, n=3)
    clock.set(T)
    retention.nightly()
    c = logged_in(make_client, username, confirmed=False)
    resp = c.get("/privacy/retention")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert 'id="retention-errands"' in html and 'data-days="30"' in html  # RETENTION_ERRAND_DAYS
    assert "60 days" in html and "1095 days" in html and "after the item was verified" in html
    assert 'data-count="notifications">Inbox notices: 3<' in html
    assert "Nightly" in html
    assert 'href="/privacy/"' in html  # the menu's 个人信息, which lists it
    assert 'href="/privacy/retention"' in c.get("/privacy/").get_data(as_text=True)
    assert 'href="/privacy/emergency"' in html


@pytest.mark.parametrize("username", ["secretary1", "gridder1", "head1", "vol1", "sup1", "pm1", "nobody"])
def test_everyone_else_is_refused_the_retention_page(app, world, make_client, username):
    c = logged_in(make_client, username, confirmed=False)
    assert c.get("/privacy/retention").status_code == 403
    assert 'href="/privacy/"' not in c.get("/").get_data(as_text=True)
    assert c.get("/privacy/").status_code == 403


def test_logged_out_is_sent_to_log_in(app, client):
    resp = client.get("/privacy/retention")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_an_erased_errand_says_so_and_shows_no_contact(app, world, clock, make_client):
    errand = closed_errand(world, clock, T - 40 * D)
    clock.set(T)
    retention.nightly()
    db.session.commit()
    for username in ("head1", "admin"):
        html = logged_in(make_client, username, confirmed=False).get(f"/errands/{errand.id}").get_data(as_text=True)
        assert 'id="errand-erased"' in html and "erased on 2026-05-31" not in html
        assert "erased on 2026-06-01" in html
        assert 'id="errand-contact"' not in html and "13900000101" not in html and "布洛芬" not in html
        assert 'id="errand-photos"' not in html
    # The volunteer who ran it still opens it (no longer their contact to see, nor to record a look at).
    html = logged_in(make_client, "vol1", confirmed=False).get(f"/errands/{errand.id}").get_data(as_text=True)
    assert 'id="errand-erased"' in html and 'id="errand-contact"' not in html
    assert logged_in(make_client, "head1").get(f"/errands/{errand.id}/photos/receipt").status_code == 404
