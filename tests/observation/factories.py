"""Home observation's test rows: a returnee of household h1 (阳光小区, grid 1, community 1), staff to
answer for him, an observation started at a pinned instant."""
from datetime import datetime
from zoneinfo import ZoneInfo

from gridapp.extensions import db
from gridapp.observation import services
from gridapp.people.models import Person
from gridapp.timeutil import pin_clock

ZONE = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 30, 7, 0, tzinfo=ZONE)  # a Monday, 07:00 town time: before the morning check


def make_person(world, household=None, name="王小明", phone="13909390001"):
    p = Person(household_id=(household or world.h1).id, name=name, relation="child", phone=phone,
               from_outside=True, came_from="武汉市")
    db.session.add(p)
    db.session.commit()
    return p


def start(world, person=None, at=T0, actor=None, **values):
    pin_clock(at)
    person = person or make_person(world)
    obs = services.start_observation(person, actor or world.head1, values, now=at)
    db.session.commit()
    return obs
