"""The layers: the domain (gridapp/) never imports the job layer (jobs/) nor the benchmarks (bench/),
which import the domain."""
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


def _importers_of(package: str) -> list[str]:
    return sorted(str(p.relative_to(ROOT)) for p in (ROOT / "gridapp").rglob("*.py")
                  if any(n == package or n.startswith(package + ".") for n in _imports_of(p)))


def test_the_domain_does_not_import_the_job_layer():
    assert _importers_of("jobs") == []


def test_the_domain_does_not_import_the_benchmarks():
    assert _importers_of("bench") == []
