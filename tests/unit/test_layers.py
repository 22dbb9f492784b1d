"""ghp/ is layered subpackages whose imports only go down (docs/architecture.md draws the layers).

Every import counts, including the lazy ones inside functions: a lazy import is still a dependency, it only moves
the cost of loading to the first call.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("io", "space", "envs", "policy", "hypernet", "run", "rollout", "rl", "es")
"""ghp's subpackages from the bottom up: each may import only those before it (and itself)."""
COMPAT = {"ghp/policies.py"}
"""Top-level modules kept for saved files only: SB3 pickles ``ghp.policies.<Class>`` into every run's model.zip."""


def ghp_imports(path: Path) -> set[str]:
    """Every ``ghp.*`` module name ``path`` imports, anywhere in the file."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.split(".")[0] == "ghp"}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "ghp":
                out |= {f"ghp.{a.name}" for a in node.names}
            elif node.module.startswith("ghp."):
                out.add(node.module)
    return out


def layer_of(module: str) -> str | None:
    """The subpackage of a ``ghp.<pkg>...`` module name, None for ``ghp`` itself and its dunders."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and not parts[1].startswith("__") else None


def test_ghp_is_subpackages():
    top = sorted(p.name for p in (ROOT / "ghp").iterdir() if p.suffix == ".py")
    assert top == ["__init__.py", "policies.py"], top
    pkgs = sorted(p.name for p in (ROOT / "ghp").iterdir() if (p / "__init__.py").is_file())
    assert sorted(LAYERS) == pkgs


@pytest.mark.parametrize("pkg", LAYERS)
def test_imports_only_go_down(pkg):
    rank = LAYERS.index(pkg)
    upward = {}
    for f in sorted((ROOT / "ghp" / pkg).rglob("*.py")):
        bad = {m for m in ghp_imports(f) if (layer := layer_of(m)) and LAYERS.index(layer) > rank}
        # A sibling of the same rank is not below either.
        bad |= {m for m in ghp_imports(f) if (layer := layer_of(m)) and layer != pkg and LAYERS.index(layer) == rank}
        if bad:
            upward[str(f.relative_to(ROOT))] = sorted(bad)
    assert not upward, f"imports that go up (or sideways) from ghp/{pkg}: {upward}"


def test_the_check_sees_an_upward_import(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("def f():\n    from ghp.rl.train import train\n    import ghp.es.core\n")
    assert ghp_imports(f) == {"ghp.rl.train", "ghp.es.core"}
    assert LAYERS.index(layer_of("ghp.rl.train")) > LAYERS.index("rollout")


def test_old_policy_path_still_resolves():
    import ghp.hypernet.policies as new
    import ghp.policies as old

    for name in old.__all__:
        assert getattr(old, name) is getattr(new, name)
