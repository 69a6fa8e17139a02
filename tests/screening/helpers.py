"""Screening test helpers: a campaign opened through the service, visits found by household."""
from datetime import date, timedelta

from sqlalchemy import select

from gridapp.extensions import db
from gridapp.screening import services
from gridapp.screening.models import ScreeningCampaign, ScreeningVisit
from gridapp.timeutil import town_today

NOW_TEXT = "2026-03-02 10:00"  # a Monday in the town
DAY = date(2026, 3, 2)


def open_campaign(actor, *, town_wide=True, places=(), starts_on=None, ends_on=None, name="第一轮入户排查",
                  record_items=True, record_present=True, commit=True) -> ScreeningCampaign:
    today = town_today()
    campaign = services.open_campaign(actor, {
        "name": name, "starts_on": starts_on or today, "ends_on": ends_on or today + timedelta(days=6),
        "town_wide": town_wide, "places": list(places), "record_items": record_items,
        "record_present": record_present})
    if commit:
        db.session.commit()
    return campaign


def visit_of(campaign, household) -> ScreeningVisit:
    db.session.expire_all()
    return db.session.scalars(select(ScreeningVisit).where(ScreeningVisit.campaign_id == campaign.id,
                                                           ScreeningVisit.household_id == household.id)).one()


def record(visit, actor, result="seen", commit=True, **values):
    values.setdefault("present", 3)
    if result == "returnees":
        values.setdefault("returnees", 1)
    if result == "nobody_home":
        values.setdefault("revisit_on", town_today() + timedelta(days=1))
    out = services.record_visit(visit, actor, {"result": result, **values}, None)
    if commit:
        db.session.commit()
    return out
