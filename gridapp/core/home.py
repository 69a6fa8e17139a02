"""What each person should do next, shown above the tiles of the home page: a panel per role they
hold, read from the features' services in a fixed number of statements whatever the town's size."""
from dataclasses import dataclass, field
from datetime import datetime

from gridapp import policy
from gridapp.announcements import services as announcements
from gridapp.disinfection import services as disinfection
from gridapp.duty import services as duty
from gridapp.errands import policy as errands_policy
from gridapp.errands import services as errands
from gridapp.screening import services as screening
from gridapp.supervision import policy as supervision_policy
from gridapp.supervision import services as supervision
from gridapp.timeutil import town_today, utcnow

# Who sees which panel: the roles whose next action it shows.
PANEL_ROLES = {
    "volunteer": {"volunteer"},  # my next shift, the errands I hold
    "rounds": {"property_manager"},  # today's disinfection rounds of the company's points
    "grid_staff": {"grid_member", "secretary"},  # errands waiting for a volunteer, shifts short of people
    "screening": {"building_head", "grid_member", "secretary"},  # households of mine still to visit
}
ITEMS_SHOWN = 3  # of my open rectification items, the ones due soonest
ANNOUNCEMENTS_SHOWN = 3  # of the announcements I have not read, the newest
GAP_HOURS = 24

# The words of the states the panels show, as their own pages say them.
LABELS = {"errand_status": errands_policy.STATUS_LABELS, "errand_category": errands.CATEGORY_LABELS,
          "item_status": supervision_policy.STATUS_LABELS, "item_category": supervision.CATEGORY_LABELS}


@dataclass
class Volunteer:
    signup: object | None  # the next sign-up, with its shift and checkpoint
    running: bool  # that shift is on now (进行中)
    errands: list  # claimed or bought, not yet delivered


@dataclass
class Rounds:
    due: int  # windows open now (or in their grace), not done
    missed: int  # windows closed today without a tick
    first: tuple | None  # (slot, state) of the round to do first, when one is due


@dataclass
class Items:
    total: int
    overdue: int
    nearest: list  # [(item, overdue)], due soonest first


@dataclass
class GridStaff:
    open_errands: int  # waiting for a volunteer to claim them
    gaps: list  # [(shift, running)] short of people, running now or starting within GAP_HOURS


@dataclass
class NextActions:
    volunteer: Volunteer | None = None
    rounds: Rounds | None = None
    items: Items | None = None
    grid_staff: GridStaff | None = None
    announcements: list = field(default_factory=list)  # unread, newest first: shown until read
    screening: list = field(default_factory=list)  # campaigns running over my places, what is left
    labels: dict = field(default_factory=lambda: LABELS)

    def __bool__(self) -> bool:
        return any((self.volunteer, self.rounds, self.items, self.grid_staff, self.announcements, self.screening))


def next_actions(user, now: datetime | None = None) -> NextActions:
    """The panels of this person's roles, each only about their own shifts, errands, items and
    places (the features' services apply the same rules as their pages)."""
    now = now or utcnow()
    out = NextActions()
    if policy.can(user, "view_announcements"):
        out.announcements = announcements.unread_for(user, ANNOUNCEMENTS_SHOWN)
    if policy.has_role(user, *PANEL_ROLES["volunteer"]):
        signup = duty.next_signup(user, now)
        out.volunteer = Volunteer(signup, signup is not None and signup.shift.starts_at <= now,
                                  errands.claims_to_deliver(user))
    if policy.has_role(user, *PANEL_ROLES["rounds"]):
        rows, counts, _total = disinfection.today_for(user, now, page=1, per_page=1)
        first = rows[0] if rows and rows[0][1] in ("due", "late") else None
        out.rounds = Rounds(counts["due"] + counts["late"], counts["missed"] + counts["overdue"], first)
    # Items are addressed to staff of every kind; volunteers see none (the items page's own rule).
    if policy.can(user, "view_supervision"):
        total, overdue, nearest = supervision.my_open_items(user, now, ITEMS_SHOWN)
        if total:
            out.items = Items(total, overdue, [(item, supervision.is_overdue(item, now)) for item in nearest])
    if policy.has_role(user, *PANEL_ROLES["screening"]):
        out.screening = screening.my_running(user, town_today(now))
    if policy.has_role(user, *PANEL_ROLES["grid_staff"]):
        gaps = duty.gaps(user, now, GAP_HOURS)
        out.grid_staff = GridStaff(errands.count_by_status(user).get("open", 0),
                                   [(shift, shift.starts_at <= now) for shift in gaps])
    return out
