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


# The shared kernel every feature builds on: the places (grid) and the people (auth).
SHARED_MODELS = {"gridapp.grid.models", "gridapp.auth.models", "gridapp.audit.models"}


def test_a_view_module_imports_no_other_features_models():
    """A feature's pages ask its own services for other features' data, never their tables."""
    offenders = []
    for views in sorted((ROOT / "gridapp").glob("*/views.py")):
        own = f"gridapp.{views.parent.name}.models"
        for name in _imports_of(views):
            if name.endswith(".models") and name.startswith("gridapp.") and name not in SHARED_MODELS | {own}:
                offenders.append(f"{views.relative_to(ROOT)} imports {name}")
    assert offenders == []


def test_the_layer_tests_see_the_imports_they_guard():
    """The checks above read real imports (a test that can fail): this very file imports ast."""
    assert "ast" in _imports_of(Path(__file__))
    assert "gridapp.grid.models" in _imports_of(ROOT / "gridapp" / "duty" / "views.py")


def test_project_modules_are_imported_at_the_top():
    """No import of a gridapp/jobs/bench module hides inside a function in gridapp/: every
    dependency shows at the top of the module (the factory included)."""
    hidden = []
    for path in sorted((ROOT / "gridapp").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fn in ast.walk(tree):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").split(".")[0] in
                                                         ("gridapp", "jobs", "bench")):
                    hidden.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.module}")
                elif isinstance(node, ast.Import) and any(a.name.split(".")[0] in ("gridapp", "jobs", "bench")
                                                          for a in node.names):
                    hidden.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert hidden == []
