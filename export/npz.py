"""``--target numpy``: the policy as a ``.npz`` (``PolicyWeights.to_npz``: ``W0, b0, ...``, bounds, architecture)."""

from __future__ import annotations

from pathlib import Path

from ghp.policy import PolicyWeights


def write_npz(weights: PolicyWeights, path: Path) -> Path:
    """Write ``path`` (``NAME.npz``) and read it back to confirm it reproduces the policy's actions exactly."""
    import numpy as np

    weights.to_npz(path)
    back = PolicyWeights.from_npz(path)
    probe = np.linspace(-2, 2, 3 * weights.obs_dim, dtype=np.float32).reshape(3, weights.obs_dim)
    if back.arch != weights.arch or not np.array_equal(back.act(probe), weights.act(probe)):
        raise RuntimeError(f"{path} does not reproduce the policy")
    return path
