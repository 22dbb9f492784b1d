"""Test vectors embedded in an exported policy: real observations from rollouts, plus edge cases.

The rollouts run the exported policy itself (its deterministic action) in the run's environment, so the vectors
are the inputs the controller will actually see; the edge cases probe zeros, large magnitudes (saturated
outputs, i.e. the action bounds) and the observation space's own bounds where they are finite.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ghp.policy.weights import PolicyWeights, obs_vector

LARGE = 1000.0
"""Magnitude of the large-input edge cases (and the stand-in for an infinite observation bound)."""


@dataclass(frozen=True, eq=False)
class TestVectors:
    """Observations for the self-test, one label each (written as a comment next to the vector)."""

    obs: np.ndarray
    """float32 ``[n, obs_dim]``."""
    labels: tuple[str, ...]
    """Where each vector comes from, e.g. ``rollout 0 step 12`` or ``zeros``."""


def rollout_observations(
    weights: PolicyWeights,
    env_id: str,
    n: int = 12,
    seed: int = 0,
    max_steps: int = 100,
    env_kwargs: dict[str, Any] | None = None,
) -> tuple[np.ndarray, list[str]]:
    """``n`` observations spread evenly over short rollouts of the policy's deterministic action in ``env_id``."""
    from ghp.envs import make_env

    env = make_env(env_id, **(env_kwargs or {}))
    seen: list[np.ndarray] = []
    where: list[str] = []
    try:
        for episode in range(2):
            obs, _ = env.reset(seed=seed + episode)
            if obs_vector(obs).shape[-1] != weights.obs_dim:
                options = f" with {env_kwargs}" if env_kwargs else ""
                raise ValueError(
                    f"{env_id}{options} gives {obs_vector(obs).shape[-1]} inputs but the policy takes "
                    f"{weights.obs_dim} (export with the environment options the policy was trained with)"
                )
            for step in range(max_steps):
                x = obs_vector(obs)
                seen.append(x)
                where.append(f"rollout {episode} step {step}")
                obs, _, terminated, truncated, _ = env.step(weights.act(x))
                if terminated or truncated:
                    break
    finally:
        env.close()
    pick = np.unique(np.linspace(0, len(seen) - 1, min(n, len(seen))).round().astype(int))
    return np.stack([seen[i] for i in pick]).astype(np.float32), [where[i] for i in pick]


def observation_bounds(env_id: str, env_kwargs: dict[str, Any] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The actor input's bounds from the observation space, infinite entries replaced by +-LARGE."""
    from ghp.envs import make_env

    env = make_env(env_id, **(env_kwargs or {}))
    try:
        space = env.observation_space
        if hasattr(space, "spaces"):
            lo = np.concatenate([space["observation"].low, space["desired_goal"].low])
            hi = np.concatenate([space["observation"].high, space["desired_goal"].high])
        else:
            lo, hi = space.low, space.high
    finally:
        env.close()
    clip = np.float32(LARGE)
    return np.clip(lo, -clip, clip).astype(np.float32), np.clip(hi, -clip, clip).astype(np.float32)


def test_vectors(
    weights: PolicyWeights,
    env_id: str | None,
    n_rollout: int = 12,
    seed: int = 0,
    env_kwargs: dict[str, Any] | None = None,
) -> TestVectors:
    """Rollout observations (or, without an environment, seeded N(0, 2^2) draws) followed by edge cases."""
    d = weights.obs_dim
    if env_id is not None:
        obs, labels = rollout_observations(weights, env_id, n_rollout, seed, env_kwargs=env_kwargs)
        lo, hi = observation_bounds(env_id, env_kwargs)
        rows, names = [obs], labels
    else:
        rng = np.random.default_rng(seed)
        rows = [(rng.standard_normal((n_rollout, d)) * 2).astype(np.float32)]
        names = [f"random {i}" for i in range(n_rollout)]
        lo, hi = np.full(d, -LARGE, np.float32), np.full(d, LARGE, np.float32)
    alternating = np.where(np.arange(d) % 2 == 0, LARGE, -LARGE).astype(np.float32)
    edges = {
        "zeros": np.zeros(d, np.float32),
        f"all +{LARGE:g}": np.full(d, LARGE, np.float32),
        f"all -{LARGE:g}": np.full(d, -LARGE, np.float32),
        f"alternating +-{LARGE:g}": alternating,
        "observation low bound": lo,
        "observation high bound": hi,
    }
    unique: dict[bytes, str] = {}
    for label, row in edges.items():
        unique.setdefault(row.tobytes(), label)  # unbounded spaces repeat the +-LARGE rows
    rows.append(np.stack([np.frombuffer(k, np.float32) for k in unique]))
    names = [*names, *unique.values()]
    return TestVectors(np.concatenate(rows).astype(np.float32), tuple(names))


def clip_vectors(tv: TestVectors, low: np.ndarray, high: np.ndarray) -> TestVectors:
    """``tv`` clipped to ``[low, high]`` (a controller that clips its observation can only feed those), deduplicated.

    A clipped vector keeps its label with ``(clipped)`` appended; one that becomes a copy of an earlier one is dropped.
    """
    clipped = np.clip(tv.obs, low, high).astype(np.float32)
    seen: set[bytes] = set()
    rows, labels = [], []
    for row, old, label in zip(clipped, tv.obs, tv.labels, strict=True):
        key = row.tobytes()
        if key in seen:
            continue
        seen.add(key)
        rows.append(row)
        labels.append(label if np.array_equal(row, old) else f"{label} (clipped)")
    return TestVectors(np.stack(rows), tuple(labels))
