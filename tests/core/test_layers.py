"""The layers: the domain (gridapp/) never imports the job layer (jobs/), which imports the domain."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imports_of(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_the_domain_does_not_import_the_job_layer():
    offenders = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "gridapp").rglob("*.py")
                       if any(n == "jobs" or n.startswith("jobs.") for n in _imports_of(p)))
    assert offenders == []
