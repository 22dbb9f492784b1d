"""A stand-in for a trained run: emits seeded random weights, one generator per architecture."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ghp.envs import EnvSpec, env_spec
from ghp.policy.weights import PolicyWeights
from ghp.space.arch import Arch, ArchSpace
from ghp.space.counting import layer_shapes


class FakeRun:
    """Anything with .spec, .space, .run_id, .timesteps and .emit is enough for ghp.rollout.evaluate."""

    def __init__(self, env_id: str = "Pendulum-v1", space: ArchSpace | None = None, scale: float = 0.5) -> None:
        self.spec: EnvSpec = env_spec(env_id)
        self.space = space or ArchSpace(widths=(4, 8, 16, 64), depths=(1, 2))
        self.run_id = "fake" + env_id.replace("-", "").lower()
        self.timesteps = 1000
        self.scale = scale
        self.emitted: list[int] = []

    def emit(self, archs: Sequence[Arch], batch_size: int = 1024) -> list[PolicyWeights]:
        self.emitted.append(len(archs))
        out = []
        for a in archs:
            rng = np.random.default_rng(self.space.index(a))
            layers = [
                (rng.standard_normal((o, i)) * self.scale / np.sqrt(i), rng.standard_normal(o) * 0.1)
                for i, o in layer_shapes(a, self.spec.obs_dim, self.spec.act_dim)
            ]
            out.append(PolicyWeights.from_arrays(a, layers, self.spec.action_low, self.spec.action_high))
        return out


_TINY: dict[tuple[object, ...], Path] = {}


def tiny_run(root: Path, widths: tuple[int, ...] = (4, 8), depths: tuple[int, ...] = (1, 2), **kw: object) -> Path:
    """A real, tiny Pendulum-v1 run (a few hundred SAC steps), trained once per session and parameters."""
    from ghp.rl.config import TrainConfig
    from ghp.rl.train import train

    key = (widths, depths, *sorted(kw.items()))
    if key not in _TINY:
        out = root / f"run{len(_TINY)}"
        cfg = TrainConfig(
            env_id="Pendulum-v1",
            steps=300,
            n_envs=2,
            widths=widths,
            depths=depths,
            learning_starts=100,
            batch_size=32,
            out=str(out),
            **kw,  # type: ignore[arg-type]
        )
        _TINY[key] = train(cfg, force=True)
    return _TINY[key]


def copy_run(src: Path, dst: Path) -> Path:
    """A private copy of a run directory (tests write results into it)."""
    shutil.copytree(src, dst)
    return dst
