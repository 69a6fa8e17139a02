"""The demo town's people: each household's head and family, and in one household of 25 a member who
came back from outside weeks ago (the cities the field report's town saw people return from), their
14 days over. The people under observation now are home observation's demo (gridapp/observation/demo.py)."""
import random
from datetime import timedelta

from sqlalchemy import insert, select

from gridapp.extensions import db
from gridapp.grid.models import Household
from gridapp.people.models import Person
from gridapp.timeutil import town_today, utcnow

CITIES = ("武汉市", "广州市", "深圳市", "北京市", "上海市", "昆明市", "成都市", "温州市")
GIVEN = "建国秀英志强桂兰海燕子涵浩然欣怡晓东丽华"
FAMILY = (("spouse", 0.7), ("child", 0.6), ("parent", 0.25), ("grandchild", 0.15))


def seed_people(rng: random.Random | None = None) -> int:
    """People for every household that has none yet; how many were added. One statement per 2,000."""
    rng = rng or random.Random(2020)
    have = set(db.session.scalars(select(Person.household_id).distinct()))
    households = db.session.execute(select(Household.id, Household.head_name, Household.phone)
                                    .order_by(Household.id)).all()
    today = town_today()
    rows = []
    for n, (hid, head, phone) in enumerate(households):
        if hid in have:
            continue
        surname = head[:1] or "王"
        rows.append(_row(hid, head, "head", rng, phone=phone, born=rng.randint(1945, 1985)))
        for relation, chance in FAMILY:
            if rng.random() < chance:
                name = surname + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
                born = {"spouse": rng.randint(1945, 1988), "child": rng.randint(1975, 2012),
                        "parent": rng.randint(1930, 1955), "grandchild": rng.randint(2005, 2020)}[relation]
                rows.append(_row(hid, name, relation, rng, born=born))
        if n % 25 == 0:  # someone came back from outside weeks ago (their observation is over)
            name = surname + "".join(rng.choice(GIVEN) for _ in range(2))
            rows.append(_row(hid, name, "child", rng, born=rng.randint(1985, 2003),
                             phone=f"13{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}",
                             from_outside=True, came_from=rng.choice(CITIES),
                             arrived_on=today - timedelta(days=rng.randint(15, 40)),
                             travel_mode=rng.choice(("train", "train", "coach", "car", "plane"))))
    for chunk in range(0, len(rows), 2000):
        db.session.execute(insert(Person), rows[chunk:chunk + 2000])
    return len(rows)


def _row(household_id, name, relation, rng, *, born=None, phone="", from_outside=False, came_from="",
         arrived_on=None, travel_mode=""):
    now = utcnow()
    return {"household_id": household_id, "name": name, "relation": relation, "sex": rng.choice(("m", "f")),
            "birth_year": born, "phone": phone, "from_outside": from_outside, "came_from": came_from,
            "arrived_on": arrived_on, "travel_mode": travel_mode, "notes": "", "created_at": now, "updated_at": now}
