"""A day in the small town of tests/factories.py, built through the features' services, for the
today board: at 2026-11-25 10:00 in the town (NOW) each panel has something to show, with figures
worked out by hand in the docstring of day_in_town()."""
import re
from datetime import date, timedelta
from types import SimpleNamespace

from sqlalchemy import update

from gridapp.disinfection import services as disinfection
from gridapp.disinfection.models import DisinfectionSlot
from gridapp.duty import services as duty
from gridapp.extensions import db
from gridapp.supervision import services as supervision
from gridapp.supervision.models import RectificationItem
from tests.disinfection.factories import at, make_points
from tests.duty.factories import make_checkpoint, shift_of
from tests.errands import factories as errands
from tests.factories import make_household, make_user
from tests.supervision.factories import make_item

TODAY = date(2026, 11, 25)
YESTERDAY = TODAY - timedelta(days=1)
NOW_TEXT = "2026-11-25 10:00"
NOW = at(TODAY, "10:00")
VOL1_PHONE = "13911112222"
WINDOWS = "06:00-09:00,12:00-14:00"


def day_in_town(w) -> SimpleNamespace:
    """Adds to the world `w` (tests/factories.build_world):

    Duty — cpA (阳光小区, grid 1, at least 2), cpB (育才楼院, grid 2, at least 1), cpC (监管局家属楼,
    grid 3, the work unit's, at least 1). Now (08:00–16:00): cpA has vol1 checked in (1 of 2, short),
    cpB nobody (short), cpC volc2 checked in. Every later shift is empty: 3 gaps each in the next 24 h.
    Today's 00:00–08:00: on cpA volA never checked in (to confirm), on cpB volB marked no-show.

    Disinfection (windows 06–09 and 12–14; p4 09–11 and 12–14) — p1, p2 in 阳光小区 (红嘴鸥), p3 a
    public place of 城关社区, p4 in 育才楼院 (远景), p5 in 监管局家属楼 (community-run, 东城社区).
    Today 06–09: p1 done, p2 missed, p3 never ticked (past the grace: missed), p5 done; p4's 09–11 is
    open (due). Yesterday everything done but p3's 06–09 (9 of 10). The day before, p2 missed once:
    p2 and p3 are missed on two of the last three days.

    Errands — e1 open urgent (h1, 09:30 today), e2 open (h3, yesterday 16:00), e3 claimed by vol1
    (h2, filed 08:00), e4 delivered at 08:30 (h1, filed yesterday), e5 open (h4, 东城社区, 07:00).

    Supervision — i1 about 阳光小区 (pm1's) escalated to level 2, i2 about 监管局家属楼 at level 1, i4
    about cpA (gridder1's) overdue at level 0; i3 (育才楼院) recorded at 09:00 and due at 13:00; i5
    about the work unit (unit1's) recorded at 08:00 and due in three days. One interview and one
    circular about i1.
    """
    d = SimpleNamespace()
    vol1 = w.vol1
    vol1.phone = VOL1_PHONE
    d.vol_a = make_user("vola", ("volunteer", w.c1), display_name="志愿者甲", phone="13922220001")
    d.vol_b = make_user("volb", ("volunteer", w.c1), display_name="志愿者乙", phone="13922220002")
    d.vol_c2 = make_user("volc2", ("volunteer", w.c2), display_name="东城志愿者", phone="13922220003")
    w.vol1.display_name = "志愿者一"
    db.session.commit()

    # --- duty
    setup = at(YESTERDAY, "06:00")
    d.cp_a = make_checkpoint(w.c1, w.k1, name="阳光北门", min_people=2, max_people=3, now=setup)
    d.cp_b = make_checkpoint(w.c1, w.k2, name="育才东门", min_people=1, max_people=2, now=setup)
    d.cp_c = make_checkpoint(w.c2, w.k3, name="监管局南门", min_people=1, max_people=2, now=setup)
    before = at(YESTERDAY, "12:00")
    on_a = duty.sign_up(shift_of(d.cp_a, TODAY, "08:00-16:00"), vol1, now=before)
    on_c = duty.sign_up(shift_of(d.cp_c, TODAY, "08:00-16:00"), d.vol_c2, now=before)
    night_a = duty.sign_up(shift_of(d.cp_a, TODAY, "00:00-08:00"), d.vol_a, now=before)
    night_b = duty.sign_up(shift_of(d.cp_b, TODAY, "00:00-08:00"), d.vol_b, now=before)
    db.session.commit()
    duty.check_in(on_a, vol1, now=at(TODAY, "07:50"))
    duty.check_in(on_c, d.vol_c2, now=at(TODAY, "07:55"))
    duty.mark_no_show(night_b, w.sec1, now=at(TODAY, "09:00"))
    db.session.commit()
    d.shift_a_now = shift_of(d.cp_a, TODAY, "08:00-16:00")
    d.shift_b_now = shift_of(d.cp_b, TODAY, "08:00-16:00")
    d.night_a = night_a

    # --- disinfection
    made = at(TODAY - timedelta(days=2), "00:00")
    d.p1, d.p2 = make_points(w.k1, kind="elevator", count=2, windows=WINDOWS, now=made)
    d.p3 = make_point_place(w, made)
    (d.p4,) = make_points(w.k2, kind="stairwell", windows="09:00-11:00,12:00-14:00", now=made)
    (d.p5,) = make_points(w.k3, kind="garbage_point", windows=WINDOWS, now=made)
    points = [d.p1, d.p2, d.p3, d.p4, d.p5]
    disinfection.ensure_slots([TODAY - timedelta(days=2), YESTERDAY, TODAY], [p.id for p in points])
    set_slots([p.id for p in points], TODAY - timedelta(days=2), "done")
    set_slots([p.id for p in points], YESTERDAY, "done")
    set_slots([d.p2.id], TODAY - timedelta(days=2), "missed", window="06:00-09:00")
    set_slots([d.p3.id], YESTERDAY, "missed", window="06:00-09:00")
    set_slots([d.p1.id, d.p5.id], TODAY, "done", window="06:00-09:00")
    set_slots([d.p2.id], TODAY, "missed", window="06:00-09:00")
    db.session.commit()

    # --- errands
    d.e2 = errands.make_errand(w, by=w.sec1, household=w.h3, now=at(YESTERDAY, "16:00"), needed_in=timedelta(days=2))
    d.e4 = errands.delivered(w, household=w.h1, now=at(YESTERDAY, "10:00"))
    d.e4.delivered_at = at(TODAY, "08:30")
    d.e3 = errands.claimed(w, household=w.h2, now=at(TODAY, "08:00"))
    d.e3.claimed_at = at(TODAY, "09:00")
    d.e5 = errands.make_errand(w, by=w.sec2, household=w.h4, now=at(TODAY, "07:00"))
    d.e1 = errands.make_errand(w, household=w.h1, urgent=True, now=at(TODAY, "09:30"))
    db.session.commit()

    # --- supervision
    d.i1 = make_item(w, w.k1, now=at(TODAY - timedelta(days=5), "09:00"))
    d.i2 = make_item(w, w.k3, now=at(TODAY - timedelta(days=3), "09:00"))
    d.i4 = make_item(w, d.cp_a, now=at(YESTERDAY, "08:00"))
    d.i3 = make_item(w, w.k2, severity="critical", now=at(TODAY, "09:00"))
    d.i5 = make_item(w, w.unit, severity="minor", now=at(TODAY, "08:00"))
    db.session.execute(update(RectificationItem).where(RectificationItem.id == d.i1.id).values(escalation_level=2))
    db.session.execute(update(RectificationItem).where(RectificationItem.id == d.i2.id).values(escalation_level=1))
    supervision.record_interview(w.sup, {"person_name": "红嘴鸥物业负责人", "interviewer": "督查组",
                                         "reason": "逾期未整改", "held_on": YESTERDAY, "item_ids": [d.i1.id]})
    supervision.issue_circular(w.sup, {"number": 1, "title": "关于阳光小区的通报", "body": "……", "issued_on": TODAY,
                                       "item_ids": [d.i1.id]})
    db.session.commit()
    return d


def make_point_place(w, now):
    (point,) = make_points(community=w.c1, kind="public_toilet", place_name="城关公厕", windows=WINDOWS, now=now)
    return point


def set_slots(point_ids, day, status, window=None):
    stmt = update(DisinfectionSlot).where(DisinfectionSlot.point_id.in_(point_ids), DisinfectionSlot.day == day)
    if window:
        stmt = stmt.where(DisinfectionSlot.window == window)
    values = {"status": status}
    if status == "done":
        values["done_at"] = DisinfectionSlot.starts_at
    db.session.execute(stmt.values(**values).execution_options(synchronize_session=False))


def grow(w, n: int, tag: str) -> None:
    """n more of everything in every grid of the world: households, checkpoints (each with a short
    shift now and gaps), points with missed and due rounds, errands in each state, overdue items."""
    setup, before = at(YESTERDAY, "06:00"), at(YESTERDAY, "12:00")
    for k, community, sec in ((w.k1, w.c1, w.sec1), (w.k2, w.c1, w.sec1), (w.k3, w.c2, w.sec2)):
        helper = make_user(f"helper-{tag}-{k.id}", ("volunteer", community))
        for i in range(n):
            cp = make_checkpoint(community, k, name=f"{tag}卡点{k.id}-{i}", min_people=2, max_people=3, now=setup)
            if i == 0:
                duty.sign_up(shift_of(cp, TODAY, "08:00-16:00"), helper, now=before)
        points = make_points(k, kind="shop", count=n, windows=WINDOWS, name=f"{tag}商铺",
                             now=at(TODAY - timedelta(days=2), "00:00"))
        ids = [p.id for p in points]
        disinfection.ensure_slots([TODAY - timedelta(days=2), YESTERDAY, TODAY], ids)
        set_slots(ids, TODAY - timedelta(days=2), "missed")
        set_slots(ids, YESTERDAY, "missed")
        for i in range(n):
            h = make_household(k, 900 + i, building=tag, head_name=f"{tag}住户{i}")
            db.session.flush()
            errands.make_errand(w, by=sec, household=h, urgent=i % 2 == 0, now=at(TODAY, "07:00"))
            if community.id == w.c1.id:  # a claim and a delivery, each by a volunteer of its own
                runner = make_user(f"runner-{tag}-{k.id}-{i}", ("volunteer", community))
                errands.claimed(w, runner, by=sec, household=h, now=at(TODAY, "07:30"))
                errands.delivered(w, runner, by=sec, household=h, now=at(TODAY, "06:00"))
        for _i in range(n):
            item = make_item(w, k, now=at(TODAY - timedelta(days=3), "09:00"))
            item.escalation_level = 1
        db.session.commit()


FIGURE = re.compile(r'id="([a-z0-9-]+)" data-n="([^"]*)"')


def figures(html: str) -> dict[str, str]:
    """Every figure of the board by its id: {"duty-short-now": "2", …}."""
    return dict(FIGURE.findall(html))

