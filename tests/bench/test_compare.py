"""bench/compare.py, two versions side by side: it checks a commit out beside this tree, seeds and
serves both, measures the page on each in turn and reports the ratio; and it cleans up after itself.
A smoke run (one round of a second): the figures mean little, the mechanism is what is tested."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IN_GIT = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True).returncode == 0


@pytest.mark.skipif(bool(os.environ.get("TEST_DATABASE_URL")),
                    reason="serves SQLite demo towns of its own: the SQLite pass runs it")
@pytest.mark.skipif(not IN_GIT, reason="compares against a commit: needs the git repository")
def test_this_tree_against_its_own_last_commit(app, tmp_path):
    worktrees = subprocess.run(["git", "worktree", "list"], cwd=ROOT, capture_output=True, text=True).stdout
    out = subprocess.run(
        [sys.executable, "-m", "bench.compare", "--ref", "HEAD", "--rounds", "2", "--duration", "1",
         "--connections", "2", "--redis", app.config["REDIS_URL"], "--out", str(tmp_path / "compare")],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    report = (tmp_path / "compare.md").read_text()
    rows = {m[0]: m for m in re.findall(r"^\| (before|after) \| (\d+) \| (\d+) \| ([\d.]+) \| (\d+) \|", report, re.M)}
    assert set(rows) == {"before", "after"}
    for _name, size, rps, _p95, errors in rows.values():
        assert int(size) > 1000 and int(rps) > 0 and errors == "0"
    assert re.search(r"After / before: \d+\.\d\d×", report)
    # The checkout of the commit is gone again.
    assert subprocess.run(["git", "worktree", "list"], cwd=ROOT, capture_output=True, text=True).stdout == worktrees
