"""Screening of a benchmark dataset: the demo town's running campaign grown over every household of
the dataset (the sweep's own INSERT … SELECT), and about half of those visited over the campaign's
first days — most all seen, some returnees found, some nobody home to visit again, a few refusals —
as the services would have recorded them (a few bulk UPDATEs, then the campaign's tallies counted
afresh)."""
from datetime import time, timedelta

from sqlalchemy import case, func, select, update

from gridapp.extensions import db
from gridapp.screening import services
from gridapp.screening.demo import TOWN_CAMPAIGN
from gridapp.screening.models import ScreeningCampaign, ScreeningVisit


class ScreeningPhase:
    def screening(self) -> None:
        campaign = db.session.scalars(select(ScreeningCampaign).where(
            ScreeningCampaign.name == TOWN_CAMPAIGN)).first()
        if campaign is None:
            return
        self.flush()
        before = db.session.scalar(select(func.max(ScreeningVisit.id))) or 0
        added = services.add_visits(campaign.id, now=self.now)
        v = ScreeningVisit
        result = case((v.id % 20 == 0, "returnees"), (v.id % 11 == 0, "nobody_home"), (v.id % 29 == 0, "refused"),
                      else_="seen")
        days = max(1, min(3, (self.today - campaign.starts_on).days))
        for d in range(days):
            when = min(self._local(campaign.starts_on + timedelta(days=d), time(10 + d)), self.now)
            db.session.execute(
                update(v).where(v.campaign_id == campaign.id, v.id > before, v.id % 2 == 0, v.id % days == d)
                .values(status=result, attempts=1, visited_at=when, first_attempt_at=when, recorded_at=when,
                        present=case((v.id % 11 == 0, None), else_=v.id % 4 + 1),
                        returnees=case((v.id % 20 == 0, 1), else_=0),
                        revisit_on=case((v.id % 20 == 0, None), (v.id % 11 == 0, campaign.ends_on), else_=None),
                        item_thermometer=True, item_disinfectant=True, item_leaflet=True, item_mask=True,
                        item_form=True)
                .execution_options(synchronize_session=False))
        services.recount(campaign.id)  # the bulk UPDATEs above went round the services' tallies
        self.progress(f"screening: {added} visits added to {campaign.name}, half of them visited")
