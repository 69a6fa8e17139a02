"""Spreadsheets for import tests, written as a town would: xlsx from openpyxl, csv in UTF-8 or GB18030."""
import csv
import io

from openpyxl import Workbook

from gridapp.extensions import db
from gridapp.imports.models import ImportRun

HOUSEHOLD_HEADERS = ["社区*", "网格", "小区*", "楼栋", "单元", "房号*", "户主姓名*", "联系电话", "居家不便", "独居"]


def xlsx_bytes(rows, title=None) -> bytes:
    wb = Workbook()
    ws = wb.active
    if title:
        ws.append([title])
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def csv_bytes(rows, encoding="utf-8-sig") -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode(encoding)


def upload(client, kind, data: bytes, name="住户.xlsx", **kw):
    return client.post("/imports/", {"kind": kind, "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data", **kw)


def last_run() -> ImportRun:
    db.session.expire_all()
    return db.session.query(ImportRun).order_by(ImportRun.id.desc()).first()
