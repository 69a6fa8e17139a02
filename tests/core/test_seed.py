"""`flask seed-demo`: the town of the field report, idempotent, never in production."""
from sqlalchemy import func, select

from gridapp.auth.models import User
from gridapp.extensions import db
from gridapp.grid.models import Community, Compound, Household, PropertyCompany
from gridapp.people.models import Person


def _counts():
    return {m.__name__: db.session.scalar(select(func.count()).select_from(m))
            for m in (Community, Compound, Household, Person, User)}


def test_seed_demo_builds_the_town_and_is_idempotent(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "demo-pass-2020" in first.output
    counts = _counts()
    assert counts["Community"] == 4
    assert counts["Household"] >= 300
    assert counts["Person"] > counts["Household"]  # every household's head, and families
    returnees = db.session.scalars(select(Person).where(Person.from_outside.is_(True))).all()
    assert returnees and all(p.came_from and p.arrived_on for p in returnees)
    names = set(db.session.scalars(select(PropertyCompany.name)))
    assert {"红嘴鸥物业", "远景物业", "东升物业"} <= names
    kinds = set(db.session.scalars(select(Community.kind)))
    assert kinds == {"community", "urban_village"}
    usernames = set(db.session.scalars(select(User.username)))
    expected = ({"admin", "leader", "pm1", "pm2", "pm3", "unit1", "sup1", "sup2"}
                | {f"secretary{i}" for i in range(1, 5)} | {f"gridder{i}" for i in range(1, 9)}
                | {f"head{i}" for i in range(1, 9)} | {f"vol{i}" for i in range(1, 31)})
    assert expected <= usernames
    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 0
    db.session.expire_all()
    assert _counts() == counts


def test_demo_accounts_log_in_with_the_demo_password(app, client):
    app.test_cli_runner().invoke(args=["seed-demo"])
    client.login("pm1", "demo-pass-2020")
    body = client.get("/profile").get_data(as_text=True)
    assert "红嘴鸥物业" in body


def test_seed_scale_multiplies_households(app):
    app.test_cli_runner().invoke(args=["seed-demo", "--scale", "2"])
    assert _counts()["Household"] == 2 * 320


def test_seed_demo_scale_is_a_number_and_points_at_seed_bench_for_the_levels(app):
    result = app.test_cli_runner().invoke(args=["seed-demo", "--scale", "town"])
    assert result.exit_code != 0
    assert "flask seed-bench" in result.output
    assert _counts()["User"] == 0


def test_seed_demo_refused_in_production(app):
    app.config["GRIDAPP_ENV"] = "production"
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code != 0
    assert "production" in result.output
    assert _counts()["User"] == 0
