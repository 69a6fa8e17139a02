"""bench.instructions: callgrind counts the instructions of a block, in proportion to the work the
block does, and the same work counts the same twice."""
import json
import subprocess
import sys

import pytest

from bench.instructions import available, command

PROGRAM = """
import json, sys
from pathlib import Path
from bench.instructions import Counter

def work(n):
    return sum(i * i for i in range(n))

counter = Counter(Path(sys.argv[1]))
work(10)
counts = []
for n in (20000, 40000, 20000):
    with counter.counting() as block:
        work(n)
    counts.append(block["instructions"])
print(json.dumps(counts))
"""


@pytest.mark.skipif(available() is not None, reason=str(available()))
def test_counts_follow_the_work_and_repeat(tmp_path):
    argv, env = command(["-c", PROGRAM, str(tmp_path / "helper")], tmp_path / "out")
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    once, twice, again = json.loads(done.stdout)
    assert 1.8 < twice / once < 2.2
    assert abs(again - once) / once < 0.05
    # Each block's dump was read and removed; only the one written at the program's end is left.
    assert len(list((tmp_path / "out").glob("callgrind.out.*"))) == 1


def test_refuses_to_count_outside_valgrind(tmp_path):
    done = subprocess.run([sys.executable, "-c", "from pathlib import Path; from bench.instructions import Counter; "
                           f"Counter(Path({str(tmp_path)!r}))"], capture_output=True, text=True,
                          env={"GRIDAPP_UNDER_CALLGRIND": str(tmp_path), "PATH": "/usr/bin:/bin"})
    if available() is None:
        assert "not running under valgrind" in done.stderr
    else:
        assert done.returncode != 0
