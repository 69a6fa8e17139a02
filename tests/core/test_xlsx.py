"""The one xlsx helper: text stays text, stored text never breaks a file, the layout every export shares."""
from datetime import UTC, date, datetime
from io import BytesIO

import pytest
from openpyxl import load_workbook

from gridapp.core import xlsx
from tests.exports import INJECTIONS, as_exported, formulas


def _read(book):
    return load_workbook(BytesIO(book.to_bytes()))


def test_every_string_is_a_text_cell_and_numbers_and_times_stay_typed(app):
    book = xlsx.Book("标题")
    ws = book.sheet("表", [xlsx.Column("文本", 20), xlsx.Column("数", 8), xlsx.Column("时间", 17),
                          xlsx.Column("日", 11), xlsx.Column("空", 5)])
    for text in [*INJECTIONS, "#N/A", "#DIV/0!", "普通文字"]:
        ws.append([text, 3, datetime(2026, 3, 2, 1, 30, tzinfo=UTC), date(2026, 3, 2), None])
    ws.append(["x", 9.9, None, None, ""])
    sheet = _read(book).active
    rows = list(sheet.iter_rows(min_row=3))
    texts = [r[0] for r in rows[:-1]]
    assert [c.value for c in texts] == [as_exported(t) for t in [*INJECTIONS, "#N/A", "#DIV/0!", "普通文字"]]
    assert {c.data_type for c in texts} == {"s"}
    # A text a spreadsheet would read as a formula when typed in keeps its quote prefix when edited.
    assert [c.quotePrefix for c in texts[:len(INJECTIONS)]] == [True] * len(INJECTIONS)
    assert not texts[-1].quotePrefix
    first = rows[0]
    assert (first[1].value, first[1].data_type) == (3, "n")
    # UTC moments are shown in the town's zone (Asia/Shanghai), as dates Excel can sort.
    assert first[2].value == datetime(2026, 3, 2, 9, 30) and first[2].is_date
    assert first[2].number_format == "yyyy-mm-dd hh:mm"
    assert first[3].value == datetime(2026, 3, 2) and first[3].number_format == "yyyy-mm-dd"
    assert first[4].value is None and rows[-1][1].value == 9.9
    assert formulas(sheet.parent) == []


@pytest.mark.parametrize("stored, shown", [
    ("a\x00b", "a\ufffdb"),
    ("a\x01b\x08c\x0bd\x0ce\x1ff", "a\ufffdb\ufffdc\ufffdd\ufffde\ufffdf"),
    ("tab\tand\nline", "tab\tand\nline"),
    ("crlf\r\nand\rcr", "crlf\nand\ncr"),
    ("\ufffe\uffff", "\ufffd\ufffd"),
    ("lone \ud800 surrogate", "lone \ufffd surrogate"),
    ("=1+1\x01", "=1+1\ufffd"),
])
def test_characters_a_workbook_cannot_hold_are_replaced(app, stored, shown):
    book = xlsx.Book("标题\x01")
    book.sheet("表\x02", [xlsx.Column("列\x03")]).append([stored])
    sheet = _read(book).active
    assert sheet["A3"].value == shown and sheet["A3"].data_type == "s"
    assert sheet["A1"].value == "标题\ufffd" and sheet["A2"].value == "列\ufffd"


def test_overlong_text_is_cut_to_what_excel_holds(app):
    book = xlsx.Book("标题")
    book.sheet("表", [xlsx.Column("列")]).append(["长" * 40000])
    value = _read(book).active["A3"].value
    assert len(value) == 32767 and value.endswith("长…")


def test_each_sheet_starts_with_the_title_row_and_a_frozen_header(app):
    book = xlsx.Book("代办代买 · 城关镇")
    one = book.sheet("一", [xlsx.Column("编号", 8), xlsx.Column("物品", 40)])
    one.append([1, "牛奶"])
    book.sheet("二", [xlsx.Column("备注", 30)])
    wb = _read(book)
    assert wb.sheetnames == ["一", "二"]
    for ws in wb:
        assert ws["A1"].value == "代办代买 · 城关镇" and ws["A1"].font.b
        assert ws["A2"].font.b and ws.freeze_panes == "A3"
    first = wb["一"]
    assert [c.value for c in first[2]] == ["编号", "物品"]
    assert (first.column_dimensions["A"].width, first.column_dimensions["B"].width) == (8, 40)
    assert [c.value for c in first[3]] == [1, "牛奶"]
    assert wb["二"]["A2"].value == "备注" and wb["二"].column_dimensions["A"].width == 30


def test_a_sheet_reads_each_cell_of_a_row_through_its_column(app):
    book = xlsx.Book("标题")
    book.sheet("表", [xlsx.Column("编号", 8, lambda r: r["id"]), xlsx.Column("物品", 40, lambda r: r["what"] or ""),
                     xlsx.Column("日", 11, lambda r: r["day"])]).extend(
        [{"id": 1, "what": "=牛奶", "day": date(2026, 3, 2)}, {"id": 2, "what": None, "day": None}])
    sheet = _read(book).active
    assert [c.value for c in sheet[2]] == ["编号", "物品", "日"]
    assert [c.value for c in sheet[3]] == [1, "=牛奶", datetime(2026, 3, 2)] and sheet["B3"].data_type == "s"
    assert [c.value for c in sheet[4]] == [2, None, None]
    assert formulas(sheet.parent) == []


def test_the_heading_names_the_export_the_places_the_period_the_person_and_the_time(app, world):
    now = datetime(2026, 11, 30, 2, 5, tzinfo=UTC)  # 10:05 in the town
    first, last = date(2026, 11, 1), date(2026, 11, 29)
    assert xlsx.heading("代办代买", world.sec1, first, last, now=now) == \
        "代办代买 · 城关镇 · 城关社区 · 2026-11-01 至 2026-11-29 · 导出人 Secretary1 · 导出时间 2026-11-30 10:05"
    assert xlsx.heading("整改事项", world.leader, now=now) == \
        "整改事项 · 城关镇 · 全部日期 · 导出人 Leader · 导出时间 2026-11-30 10:05"
    assert xlsx.scope_label(world.leader, community=world.c2) == "城关镇 · 东城社区"
    assert xlsx.scope_label(world.pm1) == "城关镇 · 红嘴鸥物业"
    assert xlsx.scope_label(world.gm1) == "城关镇 · 第一网格"
    assert xlsx.scope_label(world.admin) == "城关镇"
    assert xlsx.period_label(first, None) == "2026-11-01 起"
    assert xlsx.period_label(None, last) == "至 2026-11-29"
