"""The errands export writes what people typed as text: never a formula, never a broken file."""
import pytest

from gridapp.extensions import db
from tests.errands.factories import add_volunteers, make_errand
from tests.errands.helpers import logged_in
from tests.exports import INJECTIONS, as_exported, assert_all_text, confirmed, personal, workbook


@pytest.fixture
def w(world):
    return add_volunteers(world)


def test_typed_formulas_come_out_as_text(make_client, w):
    for text in INJECTIONS:
        errand = make_errand(w, commit=False)
        errand.items, errand.cancel_reason = text + "\n牛奶 1盒", text
    db.session.commit()
    wb = workbook(confirmed(logged_in(make_client, "secretary1")).get(personal("/errands/export.xlsx")))
    # The items column shows the stripped lines joined; the cancel reason the text as typed.
    assert_all_text(wb, [*INJECTIONS, *(t.strip() + "、牛奶 1盒" for t in INJECTIONS)])
    rows = list(wb.active.iter_rows(min_row=3))
    assert len(rows) == len(INJECTIONS)
    assert [r[16].value for r in rows] == [as_exported(t) for t in INJECTIONS]


@pytest.mark.parametrize("control", ["\x00", "\x01", "\x1b"])
def test_a_control_character_already_stored_does_not_break_the_export(make_client, w, control):
    if control == "\x00" and db.engine.dialect.name == "postgresql":
        pytest.skip("PostgreSQL text holds no NUL")
    errand = make_errand(w, commit=False)
    errand.items = f"牛奶{control}2盒"
    errand.cancel_reason = f"原因{control}"
    db.session.commit()
    wb = workbook(confirmed(logged_in(make_client, "secretary1")).get(personal("/errands/export.xlsx")))
    row = [c.value for c in wb.active[3]]
    assert row[0] == errand.id and row[4] == "牛奶\ufffd2盒" and row[16] == "原因\ufffd"


def test_the_title_row_names_the_scope_the_period_and_who_exported(make_client, w):
    make_errand(w, by=w.sec2, household=w.h4)
    leader = confirmed(logged_in(make_client, "leader"))
    wb = workbook(leader.get(personal(f"/errands/export.xlsx?community={w.c2.id}&since=2026-11-01&until=2026-11-29")))
    title = wb.active["A1"].value
    assert title.startswith("Errands · 城关镇 · 东城社区 · 2026-11-01 to 2026-11-29 · exported by Leader · "
                            "exported at ")
    assert wb.active["A2"].value == "No." and wb.active.freeze_panes == "A3"
    sec1 = confirmed(logged_in(make_client, "secretary1"))
    mine = workbook(sec1.get(personal("/errands/export.xlsx"))).active["A1"].value
    assert mine.startswith("Errands · 城关镇 · 城关社区 · all dates · exported by Secretary1")
