"""Home observation of a benchmark dataset: about one household in 130 across the town has one or two
people back from outside under their 14 days of observation (started on each of the last 14 days),
and about one in 250 had one that ended in the last weeks (most at their last day, a few early or
lost to follow-up). Every check time of every day so far has its check, as the sweep made them:
recorded (in person, by phone, or by the person's link), a few missed (pending, the ladder run to
its top), today's later ones pending. A few recent checks had a fever or a symptom, each with its
follow-up: those of yesterday and today still open, the older ones closed.

The rows are written as the services and the sweep would have left them at the dataset's `now`:
no active observation is past its last day, every check time of each day has its check (the
observations started early in the morning), the missed ones are at the ladder's top, and the pending
ones are not due yet: the observation sweep picks up where the history ends, and an hour later it
still has nothing new to chase. `households.observation_until` is derived: the latest last day of the household's active
observations, else NULL (for every household, the demo's included)."""
from datetime import time, timedelta

from sqlalchemy import func, select, update

from bench.seed.core import Builder
from gridapp.demo import person_name
from gridapp.extensions import db
from gridapp.grid.models import Household
from gridapp.observation import services
from gridapp.observation.models import FeverFollowUp, Observation, ObservationCheck
from gridapp.people.models import Person

ACTIVE_SHARE = 1 / 130  # households with someone under observation now
ENDED_SHARE = 1 / 250  # households with an observation that ended in the last weeks
MISSED_SHARE = 0.04  # checks nobody recorded
FEVER_SHARE = 0.05  # observations with a fever or a symptom on a recent check
PLACES = ["武汉市", "北京市", "上海市", "广州市", "西安市", "兰州市", "成都市", "深圳市", "天津市", "重庆市"]


def _celsius(tenths: int) -> float:
    """A temperature as the bulk writers take it (SQLite's driver takes no Decimal): 36.5, never 36.499…"""
    return round(tenths / 10, 1)


class ObservationPhase(Builder):
    """People back from outside, their observations, checks and fever follow-ups."""

    def observation(self) -> None:
        rng, today = self.rng, self.today
        days = services.observation_days()
        times = services.check_times()
        top_rung = max(services.LADDER_ROLES)
        households = db.session.execute(select(Household.id, Household.compound_id).order_by(Household.id)).all()
        counts = {"people": 0, "active": 0, "ended": 0, "checks": 0, "followups": 0, "open_followups": 0}
        for household_id, compound_id in households:
            r = rng.random()
            if r < ACTIVE_SHARE:
                for _i in range(2 if rng.random() < 0.3 else 1):
                    starts_on = today - timedelta(days=rng.randrange(days))
                    self._observe(household_id, compound_id, starts_on, days, "active", times, top_rung, counts)
            elif r < ACTIVE_SHARE + ENDED_SHARE:
                starts_on = today - timedelta(days=days + rng.randint(1, 14))
                status = rng.choices(["ended", "ended_early", "lost"], [0.85, 0.1, 0.05])[0]
                self._observe(household_id, compound_id, starts_on, days, status, times, top_rung, counts)
        self.flush()
        self._derive_observation_until()
        self.progress(f"observation: {counts['people']} people, {counts['active']} under observation, "
                      f"{counts['ended']} ended, {counts['checks']} checks, {counts['followups']} follow-ups "
                      f"({counts['open_followups']} open)")

    def _observe(self, household_id, compound_id, starts_on, days, status, times, top_rung, counts) -> None:
        rng, now, today = self.rng, self.now, self.today
        compound = self.compound_by_id[compound_id]
        member = self.grid_member.get(compound.grid_id)
        heads = self.holders.get(("building_head", compound_id)) or []
        head = heads[0] if heads else None
        person_id = self.ids(Person)
        # Started before the first check time's reminder: the sweep makes every check time of each day.
        started_at = min(self._local(starts_on, self._clock(7, 8)), now)
        self.add(Person, {"id": person_id, "household_id": household_id, "name": person_name(rng),
                          "relation": rng.choice(["child", "spouse", "relative", "tenant"]), "sex": rng.choice("mf"),
                          "birth_year": rng.randint(1950, 2006), "phone": f"139{rng.randint(10000000, 99999999)}",
                          "from_outside": True, "came_from": rng.choice(PLACES), "arrived_on": starts_on,
                          "travel_mode": rng.choice(["train", "plane", "coach", "car"]), "notes": "",
                          "created_at": started_at, "updated_at": started_at})
        ends_on = starts_on + timedelta(days=days - 1)
        last_day = today
        ended_at = ended_by = None
        reason = "外地返乡，居家留观14天"
        if status != "active":
            if status == "ended":
                last_day = ends_on
                ended_at = self._local(ends_on + timedelta(days=1), self._clock(0, 1))
            else:  # ended early or lost on a day of its 14
                last_day = starts_on + timedelta(days=rng.randrange(1, days - 1))
                ended_at = self._local(last_day, self._clock(15, 18))
                ended_by = member
                reason = "核酸检测阴性，提前解除" if status == "ended_early" else "人员已离开本地，联系不上"
        obs_id = self.ids(Observation)
        self.add(Observation, {"id": obs_id, "person_id": person_id, "compound_id": compound_id,
                               "starts_on": starts_on, "ends_on": ends_on, "status": status, "reason": reason,
                               "building_head_id": head, "grid_member_id": member, "started_by_id": member or head,
                               "started_at": started_at, "ended_at": ended_at, "ended_by_id": ended_by,
                               "link_hash": None, "link_created_at": None})
        counts["people"] += 1
        counts["active" if status == "active" else "ended"] += 1
        # A fever on one of the last checks of a few observations under way, on an older one for the ended.
        fever_day = None
        if rng.random() < FEVER_SHARE * (1 if status == "active" else 2):
            back = rng.randint(0, min(2 if status == "active" else 5, (last_day - starts_on).days))
            fever_day = last_day - timedelta(days=back)
        day = starts_on
        while day <= last_day:
            for at in times:
                due = services.check_due_at(day, at)
                if status != "active" and ended_at is not None and due > ended_at:
                    continue
                row = {"id": self.ids(ObservationCheck), "observation_id": obs_id, "day": day,
                       "slot": f"{at:%H:%M}", "due_at": due, "status": "pending", "done_at": None,
                       "done_by_id": None, "method": "", "temperature": None, "cough": False, "fever": False,
                       "fatigue": False, "other": False, "other_text": "", "reminder_level": 0}
                if due > now:
                    pass  # later today: pending, nobody reminded yet
                elif due <= now - services.ladder_delay(top_rung) and rng.random() < MISSED_SHARE:
                    row["reminder_level"] = top_rung  # missed: the ladder ran to the secretary
                else:
                    method = rng.choices(["in_person", "phone", "self"], [0.4, 0.35, 0.25])[0]
                    done_at = min(max(due + timedelta(minutes=rng.randint(-20, 50)), started_at), now)
                    row.update(status="done", done_at=done_at, method=method,
                               done_by_id=None if method == "self" else (head or member),
                               temperature=_celsius(360 + rng.randint(0, 9)))
                    if day == fever_day:
                        fever_day = None  # one follow-up per observation
                        row.update(temperature=_celsius(374 + rng.randint(0, 14)), fever=True,
                                   cough=rng.random() < 0.5)
                        self._followup(obs_id, row["id"], done_at, member, last_day, counts)
                self.add(ObservationCheck, row)
                counts["checks"] += 1
            day += timedelta(days=1)

    def _followup(self, obs_id, check_id, opened_at, member, last_day, counts) -> None:
        """Open when the fever was yesterday or today; closed a few hours after otherwise."""
        row = {"id": self.ids(FeverFollowUp), "observation_id": obs_id, "check_id": check_id,
               "opened_at": opened_at, "outcome": "", "note": "", "closed_at": None, "closed_by_id": None}
        if opened_at.astimezone(self.zone).date() < self.today - timedelta(days=1):
            row.update(outcome=self.rng.choice(["called", "referred", "resolved"]), note="已电话联系",
                       closed_at=opened_at + timedelta(hours=self.rng.randint(1, 6)), closed_by_id=member)
        else:
            counts["open_followups"] += 1
        counts["followups"] += 1
        self.add(FeverFollowUp, row)

    def _clock(self, first_hour: int, last_hour: int) -> time:
        return time(self.rng.randint(first_hour, last_hour), self.rng.randrange(60))

    def _derive_observation_until(self) -> None:
        """The latest last day of the household's active observations, else NULL: one UPDATE."""
        latest = (select(func.max(Observation.ends_on)).join(Person, Person.id == Observation.person_id)
                  .where(Person.household_id == Household.id, Observation.status == "active")
                  .correlate(Household).scalar_subquery())
        observed = (select(Person.household_id).join(Observation, Observation.person_id == Person.id)
                    .where(Observation.status == "active"))
        db.session.execute(update(Household).where(Household.observation_until.isnot(None) | Household.id.in_(observed))
                           .values(observation_until=latest).execution_options(synchronize_session=False))
