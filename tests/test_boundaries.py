"""The engine stays pure DSP: it imports nothing from the app, the UI or the stores."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {"auralis_tui", "textual", "duckdb", "tomlkit"}
ALLOWED_THIRD_PARTY = {"numpy", "scipy", "soundfile"}


def engine_imports() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / "engine").rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
        found[path.name] = names
    return found


def test_engine_source_imports_only_numpy_scipy_soundfile_and_stdlib():
    imports = engine_imports()
    assert imports, "engine/ has no modules"
    for module, names in imports.items():
        assert not names & FORBIDDEN, f"engine/{module} imports {names & FORBIDDEN}"
        foreign = names - ALLOWED_THIRD_PARTY - set(sys.stdlib_module_names) - {"engine"}
        assert not foreign, f"engine/{module} imports {foreign}"


def test_importing_the_engine_loads_no_app_ui_or_store():
    code = (
        "import pkgutil, sys, importlib, engine\n"
        "for m in pkgutil.walk_packages(engine.__path__, 'engine.'): importlib.import_module(m.name)\n"
        f"bad = sorted(n for n in sys.modules if n.split('.')[0] in {sorted(FORBIDDEN)!r})\n"
        "print(' '.join(bad)); sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, f"engine pulled in: {result.stdout} {result.stderr}"


def test_import_linter_contract_holds():
    lint_imports = Path(sys.executable).parent / "lint-imports"
    assert lint_imports.exists(), "import-linter is a dev dependency; run scripts/bootstrap.sh"
    result = subprocess.run([str(lint_imports)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
