"""Instructions executed by a piece of code, counted by valgrind's callgrind.

A count of instructions does not move with what else the machine is doing, as CPU time does on a
shared machine: the same code on the same data counts the same, within a per cent or so. It counts
everything the process runs (Python, the C parts of Jinja, SQLAlchemy and markupsafe, SQLite), not
what that costs in cache misses, so it is a companion of the CPU time, not a replacement.

The process runs under `valgrind --tool=callgrind --instr-atstart=no` (`command()`), so everything
outside the measured blocks runs without instrumentation. `Counter.counting()` switches it on for
a block through a small C helper built here with gcc (callgrind's client requests are machine
code, not functions a Python program can call otherwise), and reads the block's total from the
file callgrind writes when the block ends.
"""
import ctypes
import os
import re
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

HELPER_SOURCE = """\
#include <valgrind/callgrind.h>
void gp_on(void) { CALLGRIND_ZERO_STATS; CALLGRIND_START_INSTRUMENTATION; }
void gp_off(void) { CALLGRIND_DUMP_STATS_AT("block"); CALLGRIND_STOP_INSTRUMENTATION; }
int gp_running(void) { return RUNNING_ON_VALGRIND; }
"""
OUT_NAME = "callgrind.out"
MARK = "GRIDAPP_UNDER_CALLGRIND"  # set in the environment of the process command() starts


def available() -> str | None:
    """Why instructions cannot be counted here, or None when they can."""
    if not shutil.which("valgrind"):
        return "valgrind is not installed (Debian: apt-get install valgrind)"
    if not shutil.which("gcc"):
        return "gcc is not installed"
    if not Path("/usr/include/valgrind/callgrind.h").exists():
        return "valgrind's headers are missing (/usr/include/valgrind/callgrind.h)"
    return None


def helper(folder: Path) -> Path:
    """The helper library, built in `folder` when missing or when its source changed."""
    folder.mkdir(parents=True, exist_ok=True)
    source, library = folder / "callgrind_toggle.c", folder / "callgrind_toggle.so"
    if not library.exists() or not source.exists() or source.read_text() != HELPER_SOURCE:
        source.write_text(HELPER_SOURCE)
        subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-o", str(library), str(source)], check=True)
    return library


def command(argv: list[str], out: Path) -> tuple[list[str], dict]:
    """The command and environment that run `python argv…` under callgrind, writing its counts in
    `out`. Hash randomisation is fixed, so that two runs lay their dictionaries out alike."""
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, MARK: str(out), "PYTHONHASHSEED": "0"}
    return (["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--log-file={out / 'valgrind.log'}",
             f"--callgrind-out-file={out / OUT_NAME}.%p", sys.executable, *argv], env)


def totals(path: Path) -> int:
    """The instructions (Ir) of one callgrind dump."""
    match = re.search(r"^totals:\s+(\d+)", path.read_text(errors="replace"), re.M)
    if not match:
        raise ValueError(f"no totals in {path}")
    return int(match.group(1))


class Counter:
    """Counts the instructions of blocks of this process, which command() started under callgrind."""

    def __init__(self, folder: Path):
        self.out = Path(os.environ[MARK])
        self.lib = ctypes.CDLL(str(helper(folder)))
        if not self.lib.gp_running():
            raise RuntimeError("not running under valgrind: start the process with bench.instructions.command()")
        self.pid = os.getpid()

    def _dumps(self) -> list[Path]:
        prefix = f"{OUT_NAME}.{self.pid}."
        return sorted((p for p in self.out.iterdir() if p.name.startswith(prefix)),
                      key=lambda p: int(p.name.removeprefix(prefix)))

    @contextmanager
    def counting(self):
        """`with counter.counting() as block:` … then block["instructions"] holds the block's count."""
        block: dict = {}
        seen = len(self._dumps())
        self.lib.gp_on()
        try:
            yield block
        finally:
            self.lib.gp_off()
        dumps = self._dumps()
        if len(dumps) != seen + 1:
            raise RuntimeError(f"callgrind wrote {len(dumps) - seen} dumps for one block")
        block["instructions"] = totals(dumps[-1])
        dumps[-1].unlink()
