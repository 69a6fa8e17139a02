"""The rounds export writes what people typed as text: never a formula, never a broken file."""
import pytest
from sqlalchemy import update

from gridapp.disinfection import services
from gridapp.disinfection.models import DisinfectionRound
from gridapp.extensions import db
from gridapp.timeutil import town_today
from tests.disinfection.factories import at, make_point
from tests.exports import INJECTIONS, as_exported, assert_all_text, confirmed, personal, workbook
from tests.grid.helpers import logged_in


@pytest.fixture(autouse=True)
def _early_morning(clock):
    """Points made before their morning window closes, whatever the hour the suite runs at."""
    clock.town("2026-11-25 06:30")


def _rounds_of_today(world, note, disinfectant):
    """A round in its window and an extra one after it, both with this note and disinfectant."""
    today = town_today()
    p = make_point(world.k1, windows="06:00-10:00", name="电梯")
    on_time = services.tick(p, world.pm1, now=at(today, "07:00")).round
    extra = services.tick(p, world.pm1, now=at(today, "13:00")).round
    assert extra.kind == "extra"
    db.session.execute(update(DisinfectionRound).where(DisinfectionRound.id.in_([on_time.id, extra.id]))
                       .values(note=note, disinfectant=disinfectant))
    db.session.commit()
    return today.isoformat()


def test_typed_formulas_come_out_as_text_on_both_sheets(make_client, world):
    today = _rounds_of_today(world, INJECTIONS[0], INJECTIONS[2])
    for i, text in enumerate(INJECTIONS):
        p = make_point(world.k1, windows="00:00-24:00", name=f"点{i}")
        done = services.tick(p, world.pm1, token=f"t{i}").round
        db.session.execute(update(DisinfectionRound).where(DisinfectionRound.id == done.id).values(note=text))
    db.session.commit()
    pm1 = confirmed(logged_in(make_client, "pm1"))
    wb = workbook(pm1.get(personal(f"/disinfection/rounds.xlsx?start={today}&end={today}")))
    rounds, extra = wb.worksheets
    assert_all_text(wb, INJECTIONS)
    notes = {r[8].value: r[12].value for r in rounds.iter_rows(min_row=3)}
    assert notes == {"电梯": as_exported(INJECTIONS[0]), **{f"点{i}": as_exported(t) for i, t in enumerate(INJECTIONS)}}
    assert [(r[5].value, r[6].value) for r in extra.iter_rows(min_row=3)] == \
        [(as_exported(INJECTIONS[2]), as_exported(INJECTIONS[0]))]


def test_a_control_character_in_a_note_does_not_break_the_export(make_client, world):
    today = _rounds_of_today(world, "已通风\x01", "84\x1b消毒液")
    for user in ("pm1", "leader"):
        client = confirmed(logged_in(make_client, user))
        wb = workbook(client.get(personal(f"/disinfection/rounds.xlsx?start={today}&end={today}")))
        rounds, extra = wb.worksheets
        assert [(r[11].value, r[12].value) for r in rounds.iter_rows(min_row=3)] == [("84\ufffd消毒液", "已通风\ufffd")]
        assert [(r[5].value, r[6].value) for r in extra.iter_rows(min_row=3)] == [("84\ufffd消毒液", "已通风\ufffd")]


def test_both_sheets_carry_the_title_row(make_client, world):
    today = _rounds_of_today(world, "", "")
    pm1 = confirmed(logged_in(make_client, "pm1"))
    wb = workbook(pm1.get(personal(f"/disinfection/rounds.xlsx?start={today}&end={today}")))
    for ws in wb.worksheets:
        assert ws["A1"].value.startswith(f"消毒记录 · 城关镇 · 红嘴鸥物业 · {today} 至 {today} · 导出人 Pm1 · "
                                         "导出时间 ")
        assert ws.freeze_panes == "A3"
    assert wb.worksheets[0]["A2"].value == "日期" and wb.worksheets[1]["A2"].value == "完成时间"
