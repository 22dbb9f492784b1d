"""ghp/ is the core: it must not import cli/, search/ or export/ (STYLE.md, 'The shape of the house')."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {"cli", "search", "export"}


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_core_imports_nothing_above_it():
    files = sorted((ROOT / "ghp").rglob("*.py"))
    assert files
    bad = {str(f.relative_to(ROOT)): imported_roots(f) & FORBIDDEN for f in files}
    assert not {k: v for k, v in bad.items() if v}


def test_libraries_do_not_import_the_cli():
    for pkg in ("search", "export"):
        for f in (ROOT / pkg).rglob("*.py"):
            assert "cli" not in imported_roots(f), f
            assert not {"click", "rich"} & imported_roots(f), f
