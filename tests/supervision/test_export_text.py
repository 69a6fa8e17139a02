"""The items export writes what people typed as text: never a formula, never a broken file."""
import pytest

from gridapp.extensions import db
from tests.exports import INJECTIONS, as_exported, assert_all_text, confirmed, personal, workbook
from tests.grid.helpers import logged_in
from tests.supervision.factories import make_item


def test_typed_formulas_come_out_as_text(make_client, world):
    items = []
    for text in INJECTIONS:
        item = make_item(world, commit=False)
        item.description, item.target_name = text, text + "小区"
        items.append(item)
    world.pm1.display_name = "=1+2"
    db.session.commit()
    wb = workbook(confirmed(logged_in(make_client, "sup1")).get(personal("/supervision/items.xlsx")))
    assert_all_text(wb, [*INJECTIONS, *(t + "小区" for t in INJECTIONS), "=1+2"])
    rows = {r[0].value: r for r in wb.active.iter_rows(min_row=3)}
    assert sorted(rows) == sorted(i.id for i in items)
    assert [rows[i.id][4].value for i in items] == [as_exported(t) for t in INJECTIONS]


def test_a_control_character_already_stored_does_not_break_the_export(make_client, world):
    item = make_item(world, commit=False)
    item.description = "卡口\x01无人\x1f测温"
    db.session.commit()
    wb = workbook(confirmed(logged_in(make_client, "secretary1")).get(personal("/supervision/items.xlsx")))
    row = [c.value for c in wb.active[3]]
    assert row[0] == item.id and row[4] == "卡口\ufffd无人\ufffd测温"


@pytest.mark.parametrize("query, period", [("", "全部日期"), ("?start=2026-03-01&end=2026-03-02",
                                                              "2026-03-01 至 2026-03-02")])
def test_the_title_row_names_the_scope_the_period_and_who_exported(make_client, world, query, period):
    make_item(world)
    wb = workbook(confirmed(logged_in(make_client, "secretary1")).get(personal(f"/supervision/items.xlsx{query}")))
    assert wb.active["A1"].value.startswith(f"整改事项 · 城关镇 · 城关社区 · {period} · 导出人 Secretary1 · 导出时间 ")
