"""GroupText, the only way to write to a group robot: messages of the code filled with whitelisted
fields (places, labels, numbers, times, a path); anything else, a str above all, is refused, and
notify() and Digest.add() take nothing else for the robots."""
import ast
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from gridapp.config import ConfigError, load_config
from gridapp.errands.services import CATEGORY_LABELS
from gridapp.extensions import db
from gridapp.notifications import services
from gridapp.notifications.digest import Digest
from gridapp.notifications.group import GroupText, Percent, Published, Window
from gridapp.notifications.models import GroupWebhook, Notification, OutboxMessage
from tests.notifications.group import PHONES, RESIDENT_NAME, a_group_text

ROOT = Path(__file__).resolve().parents[2]
LINE = _l("%(what)s")


def test_places_labels_numbers_and_times_fill_a_message_of_the_code(app, world):
    from gridapp.duty.models import Checkpoint

    gate = Checkpoint(community=world.c1, compound=world.k1, name="东门检查点")
    text = GroupText(_l("%(place)s / %(grid)s / %(compound)s / %(gate)s / %(unit)s: %(category)s #%(id)d, "
                        "%(n)d of %(min)d, %(rate)s, %(missing)s, %(day)s %(shift)s, %(at)s, %(clock)s"),
                     link="/errands/7", place=world.c1, grid=world.g1, compound=world.k1, gate=gate, unit=world.unit,
                     category=CATEGORY_LABELS["medicine"], id=7, n=1, min=2, rate=Percent(83), missing=None,
                     day=date(2026, 11, 30), shift=Window(time(16), None),
                     at=datetime(2026, 11, 30, 0, 0, tzinfo=UTC), clock=time(8, 0))
    medicine = CATEGORY_LABELS["medicine"]
    assert text.lines == (f"城关社区 / 第一网格 / 阳光小区 / 东门检查点 / 县市场监管局: {medicine} #7, "
                          "1 of 2, 83%, —, 2026-11-30 16:00-24:00, 2026-11-30 08:00, 08:00",)
    assert (text.subject, text.body) == (text.lines[0], "/errands/7")
    app.config["PUBLIC_URL"] = "https://grid.example.gov.cn"
    assert text.body == "https://grid.example.gov.cn/errands/7"


@pytest.mark.parametrize("value", [
    "阳光小区", f"{RESIDENT_NAME} {PHONES[0]}", PHONES[1], b"13809390001", ["阳光小区"], {"name": "x"},
    _l("%(x)s", x=RESIDENT_NAME), True, datetime(2026, 11, 30, 8, 0), Published,
])
def test_anything_off_the_whitelist_is_refused_without_repeating_it(app, value):
    with pytest.raises(TypeError) as refused:
        GroupText(LINE, what=value)
    assert RESIDENT_NAME not in str(refused.value) and PHONES[0] not in str(refused.value)


def test_a_resident_a_person_or_an_errand_is_no_place(app, world):
    for record in (world.h1, world.vol1):
        with pytest.raises(TypeError):
            GroupText(LINE, what=record)


@pytest.mark.parametrize("line", [f"{RESIDENT_NAME} 需要胰岛素", _l("%(x)s", x=RESIDENT_NAME), None])
def test_a_line_is_a_message_of_the_code_never_a_string(app, line):
    with pytest.raises(TypeError) as refused:
        GroupText(line)
    assert RESIDENT_NAME not in str(refused.value)


@pytest.mark.parametrize("link", ["https://evil.example/x", "/errands/7?who=王秀英", "/errands/王秀英", "errands/7"])
def test_the_link_is_a_path_of_this_site(app, link):
    with pytest.raises(ValueError):
        GroupText(LINE, what=1, link=link)


def test_fields_and_lines_must_agree(app):
    with pytest.raises(ValueError):  # a field no line shows: a typo, or data smuggled past review
        GroupText(LINE, what=1, name=2)
    with pytest.raises(ValueError):
        GroupText(_l("%(what)s and %(more)s"), what=1)
    with pytest.raises(ValueError):
        GroupText()


def test_a_published_title_is_its_one_line(app):
    assert GroupText(LINE, what=Published("暂停集市\n08:00 起")).lines == ("暂停集市 08:00 起",)


def test_public_url_is_an_address(monkeypatch, tmp_path):
    monkeypatch.setenv("PUBLIC_URL", "grid.example.gov.cn")
    with pytest.raises(ConfigError):
        load_config(tmp_path)
    monkeypatch.setenv("PUBLIC_URL", "https://grid.example.gov.cn/")
    assert load_config(tmp_path)["PUBLIC_URL"] == "https://grid.example.gov.cn"


def test_only_an_announcements_title_is_published():
    """Published lets typed text through: the announcement form tells its author so. Nothing else
    may use it (a test that fails when someone reaches for it elsewhere)."""
    users = []
    for path in sorted((ROOT / "gridapp").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Published":
                users.append((str(path.relative_to(ROOT)), ast.unparse(node)))
    assert users == [("gridapp/announcements/services.py", "Published(ann.title)")]


# --- notify() and Digest.add() take a GroupText for the robots, and nothing else -------------------------

@pytest.fixture
def robots(world):
    hooks = [GroupWebhook(community_id=world.c1.id, provider="wecom", name="城关社区群", url="https://a.example/1")]
    db.session.add_all(hooks)
    db.session.commit()
    return hooks


def _webhook_rows():
    return db.session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "webhook")).all()


def test_robots_get_the_group_text_never_the_notice(app, world, robots):
    services.notify([world.vol1], "urgent", f"急需胰岛素 {RESIDENT_NAME}", f"3-2-501 {PHONES[0]}", dedupe_key="g",
                    places=[world.c1], group_text=a_group_text())
    row = _webhook_rows()[0]
    assert (row.subject, row.body) == (a_group_text().subject, a_group_text().body)
    assert db.session.scalars(select(Notification.title)).one() == f"急需胰岛素 {RESIDENT_NAME}"


def test_without_a_group_text_the_robots_hear_nothing(app, world, robots):
    services.notify([world.vol1], "urgent", f"急需胰岛素 {RESIDENT_NAME}", PHONES[0], dedupe_key="p",
                    places=[world.c1])
    services.notify([], "test", "t", "b", dedupe_key="w", webhooks=robots)
    assert _webhook_rows() == []
    assert len(db.session.scalars(select(Notification)).all()) == 1  # the person still hears


def test_a_string_for_the_robots_is_refused(app, world, robots):
    with pytest.raises(TypeError):
        services.notify([], "urgent", "t", dedupe_key="s", places=[world.c1], group_text="阳光小区有急单")
    digest = Digest("duty_gap", title=lambda n, u: f"{n}", link="/duty/roster", more=lambda n: f"{n}")
    with pytest.raises(TypeError):
        digest.add([world.gm1], "line", places=[world.c1], group_line="东门检查点 08:00-16:00")
    with pytest.raises(ValueError):  # a digest's link closes the robot's message; its lines have none
        digest.add([world.gm1], "line", places=[world.c1], group_line=GroupText(LINE, what=1, link="/x"))
    with pytest.raises(ValueError):
        digest.add([world.gm1], "line", places=[world.c1], group_line=a_group_text())  # two lines
    assert _webhook_rows() == []


def test_a_digest_counts_many_items_under_the_kinds_name_and_links_once(app, world, robots):
    digest = Digest("duty_gap", title=lambda n, u: f"缺人 {n} {RESIDENT_NAME}", link="/duty/roster",
                    more=lambda n: f"{n} {PHONES[0]}")
    for i in range(45):
        digest.add([world.gm1], f"{RESIDENT_NAME} {i}", places=[world.c1], group_line=GroupText(LINE, what=i))
    digest.send()
    row = _webhook_rows()[0]
    lines = row.body.splitlines()
    assert row.subject == "缺人的值班班次：共 45 条"
    assert lines[:2] == ["0", "1"] and len(lines) == 42 and "5" in lines[-2] and lines[-1] == "/duty/roster"
    assert RESIDENT_NAME not in row.subject + row.body and PHONES[0] not in row.body
