"""The numbers of a day, for the town and every community at once, as they stood at a cut-off
instant. Every figure is read from timestamps no later than the cut-off, so computing the same
day with the same cut-off later gives the same numbers (whatever happened after it).

One statement per kind of figure, grouped by community: the town's figures are the sum of its
communities' (plus what belongs to no community, such as a finding at a town office)."""
from collections import defaultdict
from datetime import date, datetime

from sqlalchemy import and_, case, distinct, func, or_, select

from gridapp.disinfection.models import DisinfectionPoint, DisinfectionSlot
from gridapp.disinfection.services import grace
from gridapp.duty.models import Checkpoint, Shift, Signup
from gridapp.errands.models import Errand
from gridapp.extensions import db
from gridapp.grid.models import Compound, Grid, Household
from gridapp.observation.models import FeverFollowUp, Observation
from gridapp.screening.models import DONE, ScreeningCampaign, ScreeningVisit
from gridapp.supervision import services as supervision
from gridapp.supervision.models import Finding, Inspection, RectificationItem
from gridapp.timeutil import town_days

# Every figure of a report, in the order the tables show them (the template's placeholders).
FIGURES = (
    "duty_checkpoints", "duty_shifts", "duty_staffed", "duty_short", "duty_empty", "duty_volunteers", "duty_hours",
    "errands_filed", "errands_delivered", "errands_open",
    "rounds_due", "rounds_done", "rounds_missed", "rounds_open", "rounds_rate",
    "findings", "items_issued", "items_rectified", "items_overdue", "items_escalated",
    "interviews", "circulars",
    "observation_active", "observation_fevers", "observation_ended",
    "screening_visited", "screening_returnees", "screening_revisit", "screening_done", "screening_households",
)
TOWN = None  # the key of the town's own figures in the result of day_figures()


def _sum(cond):
    return func.sum(case((cond, 1), else_=0))


def _blank() -> dict:
    return {name: 0 for name in FIGURES}


def day_figures(day: date, cutoff: datetime, community_ids) -> dict:
    """{community id: figures, TOWN: figures} for `day` as it stood at `cutoff`."""
    start, end = town_days(day, day)
    until = min(cutoff, end)
    out: dict = defaultdict(_blank)
    for cid in community_ids:
        out[cid] = _blank()

    # Duty: the day's shifts (not cancelled), filled as they were at the cut-off.
    held = (select(Signup.shift_id, func.count().label("n"))
            .where(Signup.signed_up_at <= cutoff, or_(Signup.ended_at.is_(None), Signup.ended_at > cutoff))
            .group_by(Signup.shift_id).subquery())
    people = func.coalesce(held.c.n, 0)
    for cid, checkpoints, shifts, staffed, short, empty in db.session.execute(
            select(Checkpoint.community_id, func.count(distinct(Checkpoint.id)), func.count(Shift.id),
                   _sum(people >= Shift.min_people), _sum(and_(people > 0, people < Shift.min_people)),
                   _sum(people == 0))
            .select_from(Shift).join(Checkpoint, Checkpoint.id == Shift.checkpoint_id)
            .outerjoin(held, held.c.shift_id == Shift.id)
            .where(Shift.day == day, Shift.status != "cancelled").group_by(Checkpoint.community_id)):
        out[cid].update(duty_checkpoints=checkpoints, duty_shifts=shifts, duty_staffed=int(staffed or 0),
                        duty_short=int(short or 0), duty_empty=int(empty or 0))
    # Who came (checked in by the cut-off) and the hours they served (the shifts' scheduled length).
    served: dict = defaultdict(lambda: [set(), 0.0])
    for cid, user_id, starts, ends in db.session.execute(
            select(Checkpoint.community_id, Signup.user_id, Shift.starts_at, Shift.ends_at)
            .select_from(Signup).join(Shift, Shift.id == Signup.shift_id)
            .join(Checkpoint, Checkpoint.id == Shift.checkpoint_id)
            .where(Shift.day == day, Signup.checked_in_at.isnot(None), Signup.checked_in_at <= cutoff)):
        served[cid][0].add(user_id)
        served[cid][1] += (ends - starts).total_seconds() / 3600
    for cid, (users, hours) in served.items():
        out[cid].update(duty_volunteers=len(users), duty_hours=round(hours, 1))
    town_volunteers = len(set().union(*(users for users, _h in served.values()))) if served else 0

    # Errands: filed and delivered that day, and those still open at the cut-off.
    for cid, filed, delivered, still_open in db.session.execute(
            select(Errand.community_id, _sum(Errand.filed_at >= start),
                   _sum(and_(Errand.delivered_at >= start, Errand.delivered_at <= until)),
                   _sum(and_(or_(Errand.delivered_at.is_(None), Errand.delivered_at > cutoff),
                             or_(Errand.cancelled_at.is_(None), Errand.cancelled_at > cutoff))))
            .where(Errand.filed_at <= until).group_by(Errand.community_id)):
        out[cid].update(errands_filed=int(filed or 0), errands_delivered=int(delivered or 0),
                        errands_open=int(still_open or 0))

    # Disinfection: the windows that had closed (with their grace) by the cut-off: done or missed;
    # and those still open then.
    closed = DisinfectionSlot.ends_at <= cutoff - grace()
    done = and_(DisinfectionSlot.done_at.isnot(None), DisinfectionSlot.done_at <= cutoff)
    for cid, due, done_n, missed, open_n in db.session.execute(
            select(DisinfectionPoint.community_id, _sum(closed), _sum(and_(closed, done)),
                   _sum(and_(closed, ~done)), _sum(and_(~closed, DisinfectionSlot.starts_at <= cutoff)))
            .select_from(DisinfectionSlot).join(DisinfectionPoint, DisinfectionPoint.id == DisinfectionSlot.point_id)
            .where(DisinfectionSlot.day == day).group_by(DisinfectionPoint.community_id)):
        out[cid].update(rounds_due=int(due or 0), rounds_done=int(done_n or 0), rounds_missed=int(missed or 0),
                        rounds_open=int(open_n or 0))

    # Supervision: findings recorded, items issued, verified, overdue (due and not verified by the
    # cut-off) and escalated that day.
    for cid, n in db.session.execute(
            select(Inspection.community_id, func.count(Finding.id))
            .join(Inspection, Inspection.id == Finding.inspection_id)
            .where(Finding.recorded_at >= start, Finding.recorded_at <= until).group_by(Inspection.community_id)):
        out[cid]["findings"] = n
    item = RectificationItem
    not_verified = or_(item.verified_at.is_(None), item.verified_at > cutoff)
    for cid, issued, verified, overdue, escalated in db.session.execute(
            select(item.community_id, _sum(item.issued_at >= start),
                   _sum(and_(item.verified_at >= start, item.verified_at <= until)),
                   _sum(and_(item.due_at <= cutoff, not_verified)),
                   _sum(or_(and_(item.level1_at >= start, item.level1_at <= until),
                            and_(item.level2_at >= start, item.level2_at <= until))))
            .where(item.issued_at <= until).group_by(item.community_id)):
        out[cid].update(items_issued=int(issued or 0), items_rectified=int(verified or 0),
                        items_overdue=int(overdue or 0), items_escalated=int(escalated or 0))

    # Screening (排查): in the campaigns running that day, the households visited and the returnees
    # found that day; up to the cut-off, those visited (refused included) and those whose visit found
    # nobody home and who were not visited since; and all of their households.
    visit = ScreeningVisit
    done_by_cutoff = and_(visit.status.in_(DONE), visit.visited_at <= cutoff)
    today_ = and_(visit.visited_at >= start, visit.visited_at <= until)
    for cid, visited, returnees, revisit, done_n, households in db.session.execute(
            select(Grid.community_id, _sum(and_(today_, visit.status.in_(("seen", "returnees")))),
                   func.sum(case((and_(today_, visit.status == "returnees"), visit.returnees), else_=0)),
                   _sum(and_(visit.first_attempt_at <= cutoff, ~done_by_cutoff)), _sum(done_by_cutoff),
                   func.count(visit.id))
            .select_from(visit).join(ScreeningCampaign, ScreeningCampaign.id == visit.campaign_id)
            .join(Household, Household.id == visit.household_id)
            .join(Compound, Compound.id == Household.compound_id).join(Grid, Grid.id == Compound.grid_id)
            .where(ScreeningCampaign.starts_on <= day, ScreeningCampaign.ends_on >= day,
                   ScreeningCampaign.created_at <= cutoff,
                   or_(ScreeningCampaign.closed_at.is_(None), ScreeningCampaign.closed_at >= start),
                   visit.created_at <= cutoff)
            .group_by(Grid.community_id)):
        out[cid].update(screening_visited=int(visited or 0), screening_returnees=int(returnees or 0),
                        screening_revisit=int(revisit or 0), screening_done=int(done_n or 0),
                        screening_households=int(households or 0))
    # Home observation: under observation at the cut-off, fevers or symptoms reported that day, and
    # observations that ended (after their last day, early, or lost) that day.
    obs = Observation
    ended_by_cutoff = and_(obs.ended_at.isnot(None), obs.ended_at <= cutoff)
    for cid, active, ended in db.session.execute(
            select(Grid.community_id, _sum(and_(obs.starts_on <= day, ~ended_by_cutoff)),
                   _sum(and_(obs.ended_at >= start, obs.ended_at <= until)))
            .select_from(obs).join(Compound, Compound.id == obs.compound_id).join(Grid, Grid.id == Compound.grid_id)
            .where(obs.started_at <= until).group_by(Grid.community_id)):
        out[cid].update(observation_active=int(active or 0), observation_ended=int(ended or 0))
    for cid, n in db.session.execute(
            select(Grid.community_id, func.count(FeverFollowUp.id)).select_from(FeverFollowUp)
            .join(obs, obs.id == FeverFollowUp.observation_id).join(Compound, Compound.id == obs.compound_id)
            .join(Grid, Grid.id == Compound.grid_id)
            .where(FeverFollowUp.opened_at >= start, FeverFollowUp.opened_at <= until).group_by(Grid.community_id)):
        out[cid]["observation_fevers"] = n

    town = _blank()
    for figures in out.values():
        for name in FIGURES:
            town[name] += figures[name]
    town["duty_volunteers"] = town_volunteers  # a person on duty in two communities counts once
    town["duty_hours"] = round(town["duty_hours"], 1)
    # The tally of the day (interviews held and circulars issued that day).
    for cid in [TOWN, *community_ids]:
        t = supervision.tally(day, day, None if cid is TOWN else [cid])
        target = town if cid is TOWN else out[cid]
        target.update(interviews=t["interviews"], circulars=t["circulars"])
    result = {cid: out[cid] for cid in community_ids}
    result[TOWN] = town
    for figures in result.values():
        figures["rounds_rate"] = (round(100 * figures["rounds_done"] / figures["rounds_due"])
                                  if figures["rounds_due"] else None)
    return result
