"""GroupText, the only way to write to a group robot: messages of the code filled with whitelisted
fields (places, labels, numbers, times, a path); anything else, a str above all, is refused."""
from datetime import UTC, date, datetime, time

import pytest
from flask_babel import lazy_gettext as _l

from gridapp.config import ConfigError, load_config
from gridapp.errands.services import CATEGORY_LABELS
from gridapp.notifications.group import GroupText, Percent, Published, Window
from tests.notifications.group import PHONES, RESIDENT_NAME

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
