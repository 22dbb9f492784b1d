"""Shared test setup: one torch thread (tiny networks, a 2-core CI machine) and tiny trained runs."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

# The tests' own environments live in test modules (``tests.unit.test_es:GhpTestTarget-v0``): ghp imports the
# module of a ``module:Id`` only when the user names it (docs/security.md), so the tests name theirs. Set at import,
# so that worker processes inherit it.
_TEST_ENV_MODULES = ("tests.unit.test_es", "tests.integration.faultenv")
os.environ["GHP_ENV_MODULES"] = ",".join([*filter(None, [os.environ.get("GHP_ENV_MODULES")]), *_TEST_ENV_MODULES])


# The longest tests (``pytest --durations=20 -n 2``, longest first) are started first. Under pytest-xdist (``make
# test``: ``-n auto --maxschedchunk 1``) each worker holds at most two tests and takes the next as one ends, so the
# long ones go first and each is followed by a short one (a worker given two long tests would hold the second while
# running the first); a test of minutes started late would run alone at the end while the other cores idle. A node
# id or a file; the other tests keep their usual order.
_LONGEST_FIRST = (
    "tests/integration/test_train_learning.py::test_crazyflie_hover_learns_to_fly",
    "tests/integration/test_train_learning.py::test_pendulum_best_of_a_sample_swings_up",
    "tests/integration/test_reproduce.py::test_the_matrix_on_ray_gives_the_same_table",
    "tests/integration/test_documented_commands.py",
    "tests/integration/test_export_crazyflie.py::test_export_check_builds_the_firmware_and_flies_in_the_loop",
    "tests/integration/test_ray_backend.py::test_lost_head_one_line_then_the_same_command_resumes",
    "tests/integration/test_reproduce.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The tests of :data:`_LONGEST_FIRST` in its order, each followed by one other test, then the rest (the same
    order in every xdist worker)."""

    def rank(item: pytest.Item) -> int:
        for i, prefix in enumerate(_LONGEST_FIRST):
            if item.nodeid == prefix or item.nodeid.startswith(prefix + "::"):
                return i
        return len(_LONGEST_FIRST)

    long = sorted((it for it in items if rank(it) < len(_LONGEST_FIRST)), key=rank)
    rest = [it for it in items if rank(it) == len(_LONGEST_FIRST)]
    paired = [it for pair in zip(long, rest, strict=False) for it in pair]
    items[:] = paired + long[len(paired) // 2 :] + rest[len(paired) // 2 :]


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread() -> Iterator[None]:
    """Tiny networks: one torch thread is faster and leaves the other core to the workers and subprocesses."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def no_fused_adam(monkeypatch: pytest.MonkeyPatch) -> None:
    """torch's Adam refusing ``fused=True`` as it does where it has no fused kernel for the parameters' device (on
    CPU: torch < 2.4), with the message it gives; every other construction as usual."""
    real = torch.optim.Adam.__init__

    def no_fused(self: Any, params: Any, *args: Any, fused: Any = None, **kwargs: Any) -> None:
        if fused:
            raise RuntimeError("`fused=True` requires all the params to be floating point Tensors of supported devices")
        real(self, params, *args, fused=fused, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "__init__", no_fused)


@pytest.fixture
def host_c(tmp_path: Path) -> Callable[..., list[str]]:
    """Compile (gcc, the export check's strict flags) and run a program that calls the exported ``NAME_act`` from
    ``tmp_path/NAME.h`` on each row of ``obs`` and ``show``s each result; its lines of output.

    ``show`` is C run after each call (``a`` holds the action, ``i`` the row); ``decls`` declares what it needs
    (``#include``s go in ``includes``). The program's exit status is the header's self-test (0: passed).
    """
    import subprocess

    import numpy as np

    from export.toolchain import HOST_FLAGS

    def run(name: str, obs: np.ndarray, show: str, decls: str = "", includes: tuple[str, ...] = ()) -> list[str]:
        u, n = name.upper(), len(obs)
        rows = ",".join("{" + ",".join(f"{v:.9g}f" for v in row) + "}" for row in obs)
        (tmp_path / "main.c").write_text(
            "".join(f"#include <{h}>\n" for h in ("stdio.h", *includes)) + f'#include "{name}.h"\n'
            f"static const float obs[{n}][{u}_OBS_DIM] = {{{rows}}};\n"
            f"int main(void) {{ float a[{u}_ACT_DIM]; {decls}int i;\n"
            f"  for (i = 0; i < {n}; ++i) {{ {name}_act(obs[i], a); {show} }}\n"
            f"  return {name}_selftest(1e-6f); }}\n"
        )
        exe = tmp_path / "main"
        subprocess.run(["gcc", *HOST_FLAGS, "-I", tmp_path, tmp_path / "main.c", "-lm", "-o", exe], check=True)
        p = subprocess.run([exe], capture_output=True, text=True)
        assert p.returncode == 0, p.stdout + p.stderr
        return p.stdout.split()

    return run


@pytest.fixture(scope="session")
def train_tiny(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """Train a tiny run (300 steps, 2 environments, a handful of architectures) into a fresh directory.

    Keyword arguments override the tiny settings (e.g. ``env_id``, ``widths``).
    """
    from ghp.rl.config import TrainConfig
    from ghp.rl.train import train

    def make(name: str = "pendulum", **overrides: Any) -> Path:
        settings: dict[str, Any] = dict(
            env_id="Pendulum-v1",
            steps=300,
            n_envs=2,
            widths=(4, 8),
            depths=(1, 2),
            learning_starts=100,
            batch_size=32,
            buffer_size=1000,
            checkpoint_every=10**6,
        )
        out = tmp_path_factory.mktemp("runs") / name
        return train(TrainConfig(out=str(out), **{**settings, **overrides}))

    return make
