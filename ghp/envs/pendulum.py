"""A batched form of gymnasium's ``Pendulum-v1`` that gives the single environment's numbers bit for bit.

``ghp evaluate`` steps an environment's batched form when there is one (:func:`ghp.envs.vectorised`). Pendulum's own
step is a dozen numpy operations on scalars and costs about as much as the small policies it evaluates; here they
run once per step over every copy. Copy ``i`` reset with seed ``s`` goes through the same states, observations and
rewards as ``gym.make("Pendulum-v1")`` reset with ``s`` under the same actions, down to the last bit: the arithmetic
is the environment's own, operation by operation, in the same dtypes. The squares are the one exception that
cannot be vectorised: the environment squares numpy *scalars*, which numpy computes with the C library's ``pow``
(``powf`` for float32), and that rounds differently from ``x * x`` (numpy's array square) once in about a thousand
values; they are taken per copy with the same scalar operation. A test compares whole episodes against the
single environment.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_WRAPPERS = ("TimeLimit", "OrderEnforcing", "PassiveEnvChecker")
"""``gym.make``'s wrappers of Pendulum-v1: they check and count, none changes a number."""


def _scalar_squares(x: np.ndarray) -> np.ndarray:
    """``v ** 2`` for every ``v`` of ``x``, each a numpy scalar of ``x``'s dtype as in the environment (iterating an
    array yields numpy scalars; a ufunc over an object array would square Python floats, in double precision)."""
    return np.array([v**2 for v in x], dtype=x.dtype)


def pendulum_batch(env: Any, n: int) -> PendulumBatch | None:
    """``n`` copies of ``env`` (a ``gym.make("Pendulum-v1", ...)``) as a :class:`PendulumBatch`, or None when ``env``
    is not gymnasium's plain Pendulum (a subclass, a render mode, or a wrapper that might change numbers)."""
    if type(getattr(env, "unwrapped", env)).__name__ != "PendulumEnv":
        return None
    from gymnasium.envs.classic_control.pendulum import PendulumEnv

    limit = None
    e = env
    while hasattr(e, "env"):  # the wrapper chain down to the environment itself
        name = type(e).__name__
        if name not in _WRAPPERS or type(e).__module__.split(".")[0] != "gymnasium":
            return None
        if name == "TimeLimit":
            limit = e._max_episode_steps if limit is None else min(limit, e._max_episode_steps)
        e = e.env
    if type(e) is not PendulumEnv or e.render_mode is not None:
        return None
    return PendulumBatch(e, n, limit)


class PendulumBatch:
    """``n`` Pendulum copies stepped at once, with the protocol of :func:`ghp.envs.vectorised`.

    Only copies started by :meth:`reset_rows` are stepped; a copy whose episode was truncated waits for its next
    reset (its rows of :meth:`step_batch`'s results are then meaningless, as the protocol allows).
    """

    reports_success = False
    """Pendulum has no success flag (its episodes' outcomes carry none, as with the single environment)."""

    def __init__(self, env: Any, n: int, max_episode_steps: int | None) -> None:
        self.env = env
        """An unwrapped ``PendulumEnv``: its seeded ``reset`` draws every copy's start, so starts are its own."""
        self.num_envs = n
        self.limit = max_episode_steps
        self.th = np.zeros(n, np.float64)
        self.thdot = np.zeros(n, np.float64)
        self.steps = np.zeros(n, np.int64)
        self.running = np.zeros(n, bool)

    def _obs(self, rows: np.ndarray) -> np.ndarray:
        th, thdot = self.th[rows], self.thdot[rows]
        # PendulumEnv._get_obs: np.array([cos(theta), sin(theta), thetadot], dtype=float32).
        return np.stack([np.cos(th), np.sin(th), thdot], axis=-1).astype(np.float32)

    def reset_rows(self, rows: Any, seeds: Any) -> np.ndarray:
        """Start new episodes on copies ``rows``, each from its seed (the environment's own seeded reset); their
        ``[len(rows), 3]`` observations."""
        rows = np.asarray(rows, dtype=np.intp)
        for r, s in zip(rows.tolist(), seeds, strict=True):
            self.env.reset(seed=int(s))
            self.th[r], self.thdot[r] = self.env.state
        self.steps[rows] = 0
        self.running[rows] = True
        return self._obs(rows)

    def step_batch(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """One step of every running copy (``actions[n, 1]``): observations, rewards, terminated, truncated,
        success, over all ``n`` copies. The arithmetic of ``PendulumEnv.step``, in its order and dtypes."""
        e, n = self.env, self.num_envs
        actions = np.asarray(actions)
        rows = np.flatnonzero(self.running)
        th, thdot = self.th[rows], self.thdot[rows]
        g, m, length, dt = e.g, e.m, e.l, e.dt
        u = np.clip(actions[rows, 0], -e.max_torque, e.max_torque)
        # angle_normalize(th) ** 2 + 0.1 * thdot**2 + 0.001 * (u**2)
        costs = _scalar_squares(((th + np.pi) % (2 * np.pi)) - np.pi)
        costs += 0.1 * _scalar_squares(thdot)
        costs += 0.001 * _scalar_squares(u)
        newthdot = thdot + (3 * g / (2 * length) * np.sin(th) + 3.0 / (m * length**2) * u) * dt
        newthdot = np.clip(newthdot, -e.max_speed, e.max_speed)
        self.th[rows] = th + newthdot * dt
        self.thdot[rows] = newthdot
        self.steps[rows] += 1
        obs = np.zeros((n, 3), np.float32)
        obs[rows] = self._obs(rows)
        reward = np.zeros(n, np.float64)
        reward[rows] = -costs
        terminated = np.zeros(n, bool)
        truncated = np.zeros(n, bool)
        if self.limit is not None:
            truncated[rows] = self.steps[rows] >= self.limit
            self.running[rows[truncated[rows]]] = False
        return obs, reward, terminated, truncated, np.zeros(n, bool)
