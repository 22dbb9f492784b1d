"""``--target numpy``: the policy file itself (``PolicyWeights.to_npz``, the one writer of the format), checked.

The file holds the format version, the architecture, ``W0, b0, ...``, the action bounds, the hidden activation and
the observation clip if any; ``PolicyWeights.from_npz`` (or ``numpy.load``) reads it back. Writing is atomic and
byte-stable: re-exporting gives the same bytes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ghp.policy.weights import PolicyWeights


def write_npz(weights: PolicyWeights, path: Path) -> Path:
    """Write ``path`` (``NAME.npz``) and read it back to confirm it reproduces the policy's actions exactly."""
    weights.to_npz(path)
    back = PolicyWeights.from_npz(path)
    probe = np.linspace(-2, 2, 3 * weights.obs_dim, dtype=np.float32).reshape(3, weights.obs_dim)
    probe = np.concatenate([probe, probe * np.float32(1000)])  # beyond any observation clip
    if back.arch != weights.arch or not np.array_equal(back.act(probe), weights.act(probe)):
        raise RuntimeError(f"{path} does not reproduce the policy")
    return path
