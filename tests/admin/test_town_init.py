"""`flask town init`: the town and its first administrator on an empty database, once."""
import threading

from sqlalchemy import func, select

from gridapp.audit.models import AuditEvent
from gridapp.auth.models import RoleAssignment, User
from gridapp.extensions import db
from gridapp.grid.models import Town

STRONG = "Tq7-vexrm-Kd93"


def _init(app, *args, password=STRONG, input=None):
    env = {"GRIDAPP_ADMIN_PASSWORD": password} if password is not None else {}
    return app.test_cli_runner().invoke(
        args=["town", "init", "--name", "城关镇", "--admin-name", "王建国", *args], env=env, input=input)


def _counts():
    db.session.rollback()
    return (db.session.scalar(select(func.count(Town.id))), db.session.scalar(select(func.count(User.id))))


def test_creates_the_town_and_an_administrator_who_can_log_in(app, client):
    result = _init(app, "--admin-username", "wangjg", "--admin-phone", "13800001111")
    assert result.exit_code == 0, result.output
    assert "城关镇" in result.output and STRONG not in result.output

    town = db.session.scalars(select(Town)).one()
    admin = db.session.scalars(select(User)).one()
    assert town.name == "城关镇"
    assert (admin.username, admin.display_name, admin.phone) == ("wangjg", "王建国", "13800001111")
    assert [(r.role, r.scope_type) for r in admin.roles] == [("admin", "system")]
    assert admin.password_hash != STRONG
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "town_initialised")).one()
    assert event.actor_name == "wangjg" and STRONG not in event.summary

    client.login("wangjg", STRONG)
    assert client.get("/admin/users").status_code == 200


def test_refuses_to_run_twice(app):
    assert _init(app).exit_code == 0
    again = app.test_cli_runner().invoke(
        args=["town", "init", "--name", "另一个镇", "--admin-username", "second"],
        env={"GRIDAPP_ADMIN_PASSWORD": "Another-strong-88"})
    assert again.exit_code != 0
    assert "already set up (1 town(s), 1 account(s))" in again.output
    assert _counts() == (1, 1)


def test_refuses_a_database_that_has_an_account_but_no_town(app):
    from gridapp.auth.services import create_user

    create_user(None, username="early", display_name="早来的", password="x", check_password=False)
    db.session.commit()
    result = _init(app)
    assert result.exit_code != 0 and "(0 town(s), 1 account(s))" in result.output
    assert _counts() == (0, 1)


def test_a_weak_password_from_the_environment_is_refused_with_its_reason(app):
    result = _init(app, password="chengguan2020")  # the town's name in pinyin
    assert result.exit_code != 0
    assert "GRIDAPP_ADMIN_PASSWORD" in result.output
    assert "镇" in result.output or "town" in result.output  # the rule's own message, in the town's language
    assert _counts() == (0, 0)


def test_asked_on_the_terminal_twice_without_echo_and_again_when_weak(app):
    typed = "12345678\n12345678\n" + f"{STRONG}\n{STRONG}\n"
    result = _init(app, password=None, input=typed)
    assert result.exit_code == 0, result.output
    assert "Refused:" in result.output  # the sequence was refused, then the strong one taken
    assert STRONG not in result.output and "12345678" not in result.output
    assert _counts() == (1, 1)


def test_three_weak_answers_end_the_command_with_nothing_written(app):
    result = _init(app, password=None, input="password\npassword\n" * 3)
    assert result.exit_code != 0
    assert _counts() == (0, 0)


def test_the_time_zone_must_be_the_one_every_process_reads(app):
    wrong = _init(app, "--timezone", "Asia/Urumqi")
    assert wrong.exit_code != 0 and "TIMEZONE=Asia/Urumqi" in wrong.output
    unknown = _init(app, "--timezone", "Shanghai")
    assert unknown.exit_code != 0 and "Asia/Shanghai" in unknown.output  # the near spelling is offered
    assert _counts() == (0, 0)
    same = _init(app, "--timezone", app.config["TIMEZONE"])
    assert same.exit_code == 0, same.output


def test_bad_names_are_refused_plainly(app):
    result = _init(app, "--admin-username", "wang jg")
    assert result.exit_code != 0 and "no spaces" in result.output
    assert _counts() == (0, 0)


def test_simultaneous_inits_make_one_town_and_one_administrator(app):
    from gridapp.admin.town import init_town
    from gridapp.core.rules import RuleError

    outcomes, start = [], threading.Barrier(4)

    def run(n):
        with app.app_context():
            start.wait()
            try:
                init_town(town_name=f"镇{n}", username=f"admin{n}", display_name="", password=STRONG)
                db.session.commit()
                outcomes.append("made")
            except RuleError:
                db.session.rollback()
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["made", "refused", "refused", "refused"]
    assert _counts() == (1, 1)
    assert db.session.scalar(select(func.count(RoleAssignment.id))) == 1
