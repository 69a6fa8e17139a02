"""bench/peer.py, gridapp's duty list beside a peer application's: it makes the peer's virtualenv
(from the package index, once), configures, seeds and serves the peer and gridapp, measures both in
turn and reports the ratio; and it cleans up after itself. A smoke run (two rounds of three seconds each):
the figures mean little, the mechanism is what is tested."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from bench.peer import PEER_VENV
from bench.run import ROOT, ensure_venv


@pytest.mark.skipif(bool(os.environ.get("TEST_DATABASE_URL")),
                    reason="serves SQLite databases of its own: the SQLite pass runs it")
@pytest.mark.skipif(not shutil.which("wrk"), reason="needs wrk")
def test_the_duty_list_beside_the_peer(app, tmp_path):
    try:
        ensure_venv(PEER_VENV, ROOT / "bench" / "requirements-peer.txt", "gunicorn")
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"the peer's virtualenv (.venv-peer) could not be made: {exc}")
    before = set(Path(tempfile.gettempdir()).glob("gridapp-peer-*"))
    out = subprocess.run(
        # Rounds of 3 s: on a busy machine the peer's page takes about a second, and a round of one
        # second could end before its first answer.
        [sys.executable, "-m", "bench.peer", "--rounds", "2", "--duration", "3", "--connections", "2",
         "--redis", app.config["REDIS_URL"], "--out", str(tmp_path / "peer")],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    report = (tmp_path / "peer.md").read_text()
    rows = {m[0]: m for m in re.findall(r"^\| (gridapp|peer) \| [^|]+ \| (\d+) \| (\d+) \| ([\d.]+) \| (\d+) \|",
                                        report, re.M)}
    assert set(rows) == {"gridapp", "peer"}
    for _name, size, rps, _p95, errors in rows.values():
        assert int(size) > 1000 and int(rps) > 0 and errors == "0"
    shifts = int(re.search(r"(\d+) shifts as on gridapp's page", report)[1])
    assert shifts > 0
    assert re.search(r"gridapp / peer: \d+\.\d\d×", report)
    # Its folders (databases, the peer's configuration) are gone again.
    assert set(Path(tempfile.gettempdir()).glob("gridapp-peer-*")) == before
