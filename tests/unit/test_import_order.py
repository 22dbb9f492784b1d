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


PACKAGES = ("ghp", "search", "export", "cli")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    """Every module of the four packages (``search/tests`` are tests, not the library), by dotted name."""
    mods = {}
    for pkg in PACKAGES:
        for f in sorted((ROOT / pkg).rglob("*.py")):
            if "tests" not in f.relative_to(ROOT).parts:
                mods[_module_name(f)] = f
    return mods


def import_graph(mods: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the project modules it imports anywhere in its source.

    Every import statement counts: at the top, inside functions (lazy imports run too, only later) and under
    ``TYPE_CHECKING`` (a type's module is a dependency all the same). ``from package import name`` counts as an import
    of ``package.name`` when that is a module; an import of a module we do not own is left out.
    """
    graph: dict[str, set[str]] = {}
    for mod, path in mods.items():
        is_pkg = path.name == "__init__.py"
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = mod.split(".") if is_pkg else mod.split(".")[:-1]
                    base = base[: len(base) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                targets = [f"{target}.{a.name}" if f"{target}.{a.name}" in mods else target for a in node.names]
            else:
                continue
            for t in targets:
                while t and t not in mods:  # import a.b.c of a module a.b: a.b
                    t = t.rpartition(".")[0]
                if t and t != mod:
                    deps.add(t)
        graph[mod] = deps
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` (its modules in order, the first repeated at the end), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        path.append(m)
        for d in sorted(graph[m]):
            if state.get(d) == 1:
                return path[path.index(d) :] + [d]
            if d not in state and (found := visit(d)):
                return found
        path.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (found := visit(m)):
            return found
    return None


def test_the_project_has_no_import_cycle():
    mods = project_modules()
    assert {"ghp.rl.train", "ghp.rl.callbacks", "export.api", "export.crazyflie", "cli.main"} <= set(mods)
    cycle = find_cycle(import_graph(mods))
    assert cycle is None, " -> ".join(cycle or [])


def test_the_cycle_finder_finds_a_lazy_import_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    mods = project_modules()
    graph = import_graph(mods)
    assert "ghp.rl.save" in graph["ghp.rl.callbacks"]  # a top-level import
    assert "ghp.hypernet.policies" in graph["ghp.run.load"]  # a lazy one, inside policy_class
    assert "export.job" in graph["export.crazyflie"]  # one under TYPE_CHECKING


def test_export_takes_a_policy_and_never_a_run():
    # export/ turns PolicyWeights into files: choosing a run's policy is search/'s (search.choose), and reading a run
    # directory is ghp.run.load's; export imports neither.
    for f in sorted((ROOT / "export").rglob("*.py")):
        graph_roots = imported_modules(f)
        assert not {m for m in graph_roots if m == "search" or m.startswith("search.")}, f
        assert not {m for m in graph_roots if m.startswith("ghp.run.load")}, f


def imported_modules(path: Path) -> set[str]:
    """Every absolute module name ``path`` imports, anywhere in it."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return out
