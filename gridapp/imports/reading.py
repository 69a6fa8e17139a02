"""Rows out of a town's own spreadsheet, one at a time: xlsx (read-only, streamed) or csv.

A file is read twice (the preview, then the import job) and never held in memory whole: openpyxl's
read-only mode walks the sheet's XML as it goes, the csv reader reads line by line. A sheet may
begin with title lines above the header (a 登记表 often does): the header is the first row within
the first ten that names a required column. A csv saved by a Chinese Excel is in GB18030 more
often than in UTF-8: both are read.
"""
import csv
import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

from flask_babel import gettext as _
from openpyxl import load_workbook

HEADER_SEARCH_ROWS = 10


class UnreadableFile(ValueError):
    """Not a spreadsheet this reader understands; the message says so plainly."""


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a phone number typed into a number cell: 13800001111.0
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _xlsx_rows(path: Path) -> Iterator[list[str]]:
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise UnreadableFile(_("The file is not an .xlsx workbook: save it from Excel or WPS as .xlsx or .csv.")) \
            from exc
    try:
        sheet = book.worksheets[0]
        for row in sheet.iter_rows(values_only=True):
            yield [_cell_text(v) for v in row]
    finally:
        book.close()


def _encoding(path: Path) -> str:
    with path.open("rb") as fh:
        head = fh.read(64 * 1024)
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            head.decode(encoding)
            return encoding
        except UnicodeDecodeError as exc:
            if encoding == "utf-8-sig" and exc.start > len(head) - 4:
                return encoding  # a character cut at the end of the sample
    raise UnreadableFile(_("The csv file is neither UTF-8 nor GB18030 text."))


def _csv_rows(path: Path) -> Iterator[list[str]]:
    encoding = _encoding(path)
    with path.open(newline="", encoding=encoding, errors="strict") as fh:
        reader = None
        try:
            sample = fh.read(4096)
            fh.seek(0)
            try:
                dialect = csv.Sniffer().sniff(sample, delimiters=",\t;")
            except csv.Error:
                dialect = csv.excel
            reader = csv.reader(fh, dialect)
            for row in reader:
                yield [c.strip() for c in row]
        except (UnicodeDecodeError, csv.Error) as exc:
            line = (reader.line_num + 1) if reader is not None else 1
            raise UnreadableFile(_("The csv file cannot be read from line %(line)d on.", line=line)) from exc


def raw_rows(path: Path, file_name: str) -> Iterator[list[str]]:
    """Every row of the first sheet as a list of stripped texts."""
    suffix = Path(file_name).suffix.lower()
    if suffix == ".xlsx":
        return _xlsx_rows(path)
    if suffix in (".csv", ".txt"):
        return _csv_rows(path)
    raise UnreadableFile(_("Choose an .xlsx or .csv file (an old .xls must be saved again as .xlsx)."))


def header_index(row: list[str], aliases: dict[str, str]) -> dict[str, int]:
    """{column key: position} for the header cells this kind knows (by any of its names)."""
    found = {}
    for pos, cell in enumerate(row):
        key = aliases.get(normal_header(cell))
        if key is not None and key not in found:
            found[key] = pos
    return found


def normal_header(header: str) -> str:
    # "联系电话*", "房号（必填）", " Room " all name the same column.
    text = header.replace("（", "(").split("(")[0]
    return text.replace("*", "").replace(" ", "").replace("\u3000", "").strip().lower()


def open_rows(path: Path, file_name: str, aliases: dict[str, str], required: set[str]):
    """(header {key: position}, the header's line number, an iterator of (line number, row)).

    The line numbers are the spreadsheet's own (1-based), as a person sees them in Excel."""
    rows = raw_rows(path, file_name)
    line = 0
    for line, row in enumerate(rows, start=1):
        index = header_index(row, aliases)
        if required & set(index):
            return index, line, ((n, r) for n, r in enumerate(rows, start=line + 1))
        if line >= HEADER_SEARCH_ROWS:
            break
    return {}, 0, iter(())

