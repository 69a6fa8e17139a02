"""The household import at scale: a file of N households (20,000 by default) previewed, imported and
imported again, on the dataset already built; and the preview's peak memory for a small and a large
file: the sheet is streamed (openpyxl read-only, batches of 500 rows), so what grows with the rows
is only the set of natural keys kept to find a row that repeats an earlier one.

Run by bench/run.py on the first level of each database; alone: `python -m bench.imports` needs an
app (see run.py). Target (issue: a real town moves in): 20,000 households in under two minutes.
"""
import gc
import tempfile
import time
import tracemalloc
from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from gridapp.auth.models import User
from gridapp.extensions import db
from gridapp.grid.models import Community, Compound, Grid
from gridapp.imports import services

HEADERS = ["社区", "网格", "小区", "楼栋", "单元", "房号", "户主姓名", "联系电话", "居家不便", "独居"]
IMPORT_TARGET_S = 120.0


def write_file(path: Path, compounds: list, rows: int) -> int:
    """N household rows spread over the compounds, each in a building no dataset uses ("导入N")."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet()
    ws.append(HEADERS)
    for i in range(rows):
        community, grid, compound = compounds[i % len(compounds)]
        n = i // len(compounds)
        ws.append([community, grid, compound, f"导入{n // 100}", str(n // 10 % 10), str(n), f"导入户主{i}",
                   f"177{i:08d}", "否", "是" if i % 17 == 0 else "否"])
    wb.save(path)
    return path.stat().st_size


def _upload(admin, path: Path):
    with path.open("rb") as fh:
        run = services.upload(admin, "households", FileStorage(fh, filename=path.name))
    db.session.commit()
    return run


def _peak_preview_mb(admin, path: Path) -> float:
    gc.collect()
    tracemalloc.start()
    try:
        run = _upload(admin, path)
        _size, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    services.discard(admin, run)
    db.session.commit()
    return peak / 2**20


def import_benchmark(app, rows: int = 20_000, small: int = 2_000) -> dict:
    with app.app_context():
        admin = db.session.scalars(select(User).where(User.username == "admin")).one()
        compounds = db.session.execute(
            select(Community.name, Grid.name, Compound.name).join(Grid, Grid.id == Compound.grid_id)
            .join(Community, Community.id == Grid.community_id).order_by(Compound.id).limit(400)).all()
        with tempfile.TemporaryDirectory(prefix="gridapp-bench-import-") as tmp:
            large, little = Path(tmp) / "households.xlsx", Path(tmp) / "households-small.xlsx"
            size = write_file(large, compounds, rows)
            write_file(little, compounds, small)

            start = time.perf_counter()
            run = _upload(admin, large)
            preview_s = time.perf_counter() - start
            services.confirm(admin, run)
            db.session.commit()
            start = time.perf_counter()
            report = services.execute(run.id)
            import_s = time.perf_counter() - start

            again = _upload(admin, large)  # the same file again: every row already as it says
            services.confirm(admin, again)
            db.session.commit()
            start = time.perf_counter()
            second = services.execute(again.id)
            reimport_s = time.perf_counter() - start

            peak_small, peak_large = _peak_preview_mb(admin, little), _peak_preview_mb(admin, large)
        db.session.remove()
    return {"rows": rows, "file_kb": size / 1024, "compounds": len(compounds), "preview_s": preview_s,
            "import_s": import_s, "created": report["created"], "reimport_s": reimport_s,
            "reimport_unchanged": second["unchanged"], "rows_per_s": rows / import_s if import_s else None,
            "small_rows": small, "peak_mb_small": peak_small, "peak_mb_large": peak_large,
            "kb_per_row": (peak_large - peak_small) * 1024 / (rows - small) if rows > small else None,
            "ok": report["created"] == rows and second["unchanged"] == rows and import_s < IMPORT_TARGET_S}


def render(kind: str, r: dict) -> list[str]:
    return ["### Household import", "",
            f"{r['rows']:,} households over {r['compounds']} compounds in one xlsx ({r['file_kb']:.0f} KB): "
            f"preview {r['preview_s']:.1f} s, import {r['import_s']:.1f} s ({r['rows_per_s']:.0f} rows/s, "
            f"{r['created']:,} created), the same file again {r['reimport_s']:.1f} s "
            f"({r['reimport_unchanged']:,} unchanged). Target: under {IMPORT_TARGET_S:.0f} s — "
            f"{'met' if r['ok'] else 'NOT MET'}.",
            f"Peak Python memory of the preview (tracemalloc): {r['small_rows']:,} rows {r['peak_mb_small']:.1f} MB, "
            f"{r['rows']:,} rows {r['peak_mb_large']:.1f} MB: {r['kb_per_row'] or 0:.2f} KB more per row (the natural "
            "keys kept to find repeated rows; the sheet itself is streamed, never held).", ""]
