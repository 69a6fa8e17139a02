"""A campaign's coverage table draws each place's row once per process for its figures
(gridapp/core/fragments.py, screening.views.coverage_rows): a visit recorded shows on every viewer's
very next request; the rows kept are those drawn fresh, for every narrowing and in either language."""
import pytest

from gridapp.core.fragments import store
from tests.fragments import assert_kept_rows_are_fresh, viewers
from tests.screening.helpers import NOW_TEXT, open_campaign, record, visit_of

VIEWERS = ("leader", "secretary1", "gridder1", "sup1")


@pytest.fixture
def campaign(world, clock):
    clock.town(NOW_TEXT)
    return open_campaign(world.leader)


def _cells(html: str, kind: str, place_id: int) -> str:
    start = html.index(f'id="coverage-{kind}-{place_id}"')
    return html[start:html.index("</tr>", start)]


def test_a_visit_shows_on_every_viewers_next_request(world, campaign, make_client):
    clients = viewers(make_client, *VIEWERS)
    page = f"/screening/{campaign.id}?community={world.c1.id}"
    for c in clients:
        html = c.get(page).get_data(as_text=True)
        assert "<td>0/2</td>" in _cells(html, "grid", world.g1.id)
        assert "<td>0/2</td>" in _cells(html, "compound", world.k1.id)
        assert "<td>0/" in _cells(html, "community", world.c1.id)
    assert len(store()) > 0
    record(visit_of(campaign, world.h1), world.head1, "seen")
    record(visit_of(campaign, world.h2), world.head1, "nobody_home")
    for c in clients:
        html = c.get(page).get_data(as_text=True)
        grid = _cells(html, "grid", world.g1.id)
        assert "<td>1/2</td><td>0</td><td>1</td><td>0</td>" in grid, grid
        assert "<td>1/" in _cells(html, "community", world.c1.id)  # of 3, or of 2 for the grid member


def test_the_rows_kept_are_the_rows_drawn_fresh(app, world, campaign, make_client):
    record(visit_of(campaign, world.h1), world.head1, "seen")
    record(visit_of(campaign, world.h4), world.gm3, "returnees")
    english, = viewers(make_client, "leader")
    english.post("/lang", {"lang": "en"})
    pages = [f"/screening/{campaign.id}", f"/screening/{campaign.id}?community={world.c1.id}",
             f"/screening/{campaign.id}?grid={world.g1.id}", f"/screening/{campaign.id}?compound={world.k3.id}"]
    assert 'class="coverage-compound"' in english.get(pages[1]).get_data(as_text=True)
    assert_kept_rows_are_fresh(app, [*viewers(make_client, *VIEWERS), english], pages)
