"""Errand factories: volunteers and errands built through the services the app uses."""
from datetime import timedelta

from gridapp.errands import services
from gridapp.extensions import db
from gridapp.timeutil import utcnow
from tests.factories import make_user

H = timedelta(hours=1)


def add_volunteers(world):
    """vol2, vol3 serve c1 (like vol1); volc2 serves c2."""
    world.vol2 = make_user("vol2", ("volunteer", world.c1), display_name="志愿者二")
    world.vol3 = make_user("vol3", ("volunteer", world.c1), display_name="志愿者三")
    world.volc2 = make_user("volc2", ("volunteer", world.c2), display_name="东城志愿者")
    return world


def make_errand(world, *, by=None, household=None, urgent=False, now=None, needed_in=4 * H,
                category="medicine", items="布洛芬 1盒\n口罩 10只", estimated_cost="35.50", commit=True):
    now = now or utcnow()
    errand = services.file_errand(by or world.head1, household or world.h1, {
        "category": category, "items": items, "estimated_cost": estimated_cost,
        "needed_by_at": now + needed_in, "urgent": urgent, "pay_on_delivery": True, "notes": "放门口"}, now=now)
    if commit:
        db.session.commit()
    return errand


def claimed(world, volunteer=None, **kw):
    errand = make_errand(world, **kw)
    services.claim(errand, volunteer or world.vol1, now=kw.get("now"))
    db.session.commit()
    return errand


def delivered(world, volunteer=None, cost="30", **kw):
    volunteer = volunteer or world.vol1
    errand = claimed(world, volunteer, **kw)
    services.purchase(errand, volunteer, cost, now=kw.get("now"))
    services.deliver(errand, volunteer, "交给本人", now=kw.get("now"))
    db.session.commit()
    return errand
