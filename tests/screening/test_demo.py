"""The demo town's screening: a town-wide campaign half done, kept running whatever day the demo is
opened; a community's earlier campaign finished and closed."""
from datetime import timedelta

from sqlalchemy import func, select

from gridapp.demo import liven, seed
from gridapp.extensions import db
from gridapp.people.models import Person
from gridapp.screening import services
from gridapp.screening.demo import EARLIER_CAMPAIGN, TOWN_CAMPAIGN
from gridapp.screening.models import ScreeningCampaign, ScreeningVisit
from gridapp.timeutil import town_today


def test_the_demo_campaign_is_half_done_and_kept_running(app, clock):
    clock.town("2026-11-25 10:00")
    seed()
    db.session.commit()
    town = db.session.scalars(select(ScreeningCampaign).where(ScreeningCampaign.name == TOWN_CAMPAIGN)).one()
    counts = services.campaign_counts(town)
    assert counts.total == 320 and 140 <= counts.total - counts.pending <= 160
    assert counts.visited and counts.revisit and counts.refused and counts.returnees
    assert db.session.scalar(select(func.count(Person.id)).where(Person.from_outside.is_(True))) >= counts.returnees
    earlier = db.session.scalars(select(ScreeningCampaign).where(ScreeningCampaign.name == EARLIER_CAMPAIGN)).one()
    assert earlier.status == "closed" and services.campaign_counts(earlier).done
    # Seeding again adds nothing.
    seed()
    assert db.session.scalar(select(func.count(ScreeningVisit.id))) == 320 + services.campaign_counts(earlier).total
    # Opened a week later, the campaign still runs today, half done as it was.
    clock.town("2026-12-02 09:00")
    assert liven()["screening"]["moved"] is True
    town = db.session.get(ScreeningCampaign, town.id)
    assert town.starts_on <= town_today() and town.ends_on == town_today() + timedelta(days=3)
    assert services.campaign_counts(town).pending == counts.pending
    assert liven()["screening"] == {"moved": False}
