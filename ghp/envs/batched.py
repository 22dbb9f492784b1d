"""Batched forms of gymnasium environments that give the single environment's numbers bit for bit.

``ghp evaluate`` steps an environment's batched form when there is one (:func:`ghp.envs.vectorised`); copy ``i``
reset with seed ``s`` goes through the same observations, rewards and ends as ``gym.make(id)`` reset with ``s``
under the same actions, down to the last bit. Only the plain environment qualifies: gymnasium's own class (not a
subclass), no render mode, and only the wrappers ``gym.make`` adds (which check and count, and change no number).

- ``Pendulum-v1`` (:class:`PendulumBatch`): its step is a dozen numpy operations on scalars and costs about as much
  as the small policies it evaluates; here they run once per step over every copy, in the same order and dtypes.
  The squares are the one exception that cannot be vectorised: the environment squares numpy *scalars*, which numpy
  computes with the C library's ``pow`` (``powf`` for float32), and that rounds differently from ``x * x`` (numpy's
  array square) once in about a thousand values; they are taken per copy with the same scalar operation.
- ``Hopper-v5`` (:class:`HopperBatch`): one MuJoCo model and data per copy, stepped by the same MuJoCo calls as the
  environment; the Python around them (observation, health check, reward), which cost as much as the physics, runs
  once over every copy. The control cost is taken per copy, as the environment takes it.

Tests compare whole episodes against the single environments.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_WRAPPERS = ("TimeLimit", "OrderEnforcing", "PassiveEnvChecker")
"""``gym.make``'s wrappers: they check and count, none changes a number."""


def _scalar_squares(x: np.ndarray) -> np.ndarray:
    """``v ** 2`` for every ``v`` of ``x``, each a numpy scalar of ``x``'s dtype as in the environment (iterating an
    array yields numpy scalars; a ufunc over an object array would square Python floats, in double precision)."""
    return np.array([v**2 for v in x], dtype=x.dtype)


def batched(env: Any, n: int) -> Any | None:
    """``n`` copies of ``env`` (a ``gym.make`` of a supported id) as a batched form, or None when ``env`` is not one
    of the plain environments this module covers."""
    name = type(getattr(env, "unwrapped", env)).__name__
    if name not in ("PendulumEnv", "HopperEnv"):
        return None
    from gymnasium.envs.classic_control.pendulum import PendulumEnv
    from gymnasium.envs.mujoco.hopper_v5 import HopperEnv

    limit = None
    e = env
    while hasattr(e, "env"):  # the wrapper chain down to the environment itself
        name = type(e).__name__
        if name not in _WRAPPERS or type(e).__module__.split(".")[0] != "gymnasium":
            return None
        if name == "TimeLimit":
            limit = e._max_episode_steps if limit is None else min(limit, e._max_episode_steps)
        e = e.env
    if e.render_mode is not None:
        return None
    if type(e) is PendulumEnv:
        return PendulumBatch(e, n, limit)
    if type(e) is HopperEnv:
        return HopperBatch(e, n, limit)
    return None


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


class HopperBatch:
    """``n`` copies of gymnasium's ``Hopper-v5`` (its options included), with the protocol of
    :func:`ghp.envs.vectorised`.

    The copies share the environment's MuJoCo model (MuJoCo's step only reads it) and each has its own MuJoCo data.
    A copy starts by the environment's own seeded reset, whose data is then copied whole into the copy's
    (``mj_copyData``: the full simulation state), so starts are the environment's; :meth:`step_batch` calls MuJoCo
    per copy exactly as ``MujocoEnv.do_simulation`` does and computes ``HopperEnv.step``'s observation, reward and
    termination over all copies at once. Only copies started by :meth:`reset_rows` are stepped; a copy whose episode
    ended waits for its next reset.
    """

    reports_success = False
    rows_are_envs = True
    """Each row holds a MuJoCo data (about 1 ms to make): rows cost their making, unlike Pendulum's."""

    def __init__(self, env: Any, n: int, max_episode_steps: int | None) -> None:
        import mujoco

        self._mj = mujoco
        self.env = env
        """The unwrapped ``HopperEnv``: its seeded reset draws every copy's start, its options give the step's."""
        self.num_envs = n
        self.limit = max_episode_steps
        self.data: list[Any] = [None] * n
        """Row -> its MuJoCo data (None until the row is first needed)."""
        self.qpos = np.zeros((n, env.model.nq), np.float64)
        self.qvel = np.zeros((n, env.model.nv), np.float64)
        self.steps = np.zeros(n, np.int64)
        self.running = np.zeros(n, bool)

    def prepare(self, rows: int) -> None:
        """Make the MuJoCo data of the first ``rows`` rows now (a worker does so before its first chunk)."""
        for r in range(min(rows, self.num_envs)):
            self._data(r)

    def _data(self, r: int) -> Any:
        d = self.data[r]
        if d is None:
            d = self.data[r] = self._mj.MjData(self.env.model)
        return d

    def reset_rows(self, rows: Any, seeds: Any) -> np.ndarray:
        """Start new episodes on copies ``rows``, each from the environment's own reset with its seed; their
        observations."""
        rows = np.asarray(rows, dtype=np.intp)
        env, out = self.env, []
        for r, s in zip(rows.tolist(), seeds, strict=True):
            out.append(env.reset(seed=int(s))[0])
            self._mj.mj_copyData(self._data(r), env.model, env.data)
            self.qpos[r], self.qvel[r] = env.data.qpos, env.data.qvel
        self.steps[rows] = 0
        self.running[rows] = True
        return np.array(out).reshape(len(rows), -1)

    def step_batch(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """One step of every running copy: observations, rewards, terminated, truncated, success over all ``n``
        copies (``HopperEnv.step``'s arithmetic, in its order and dtypes)."""
        e, n = self.env, self.num_envs
        actions = np.asarray(actions)
        if actions.shape[1:] != (e.model.nu,):  # MujocoEnv.do_simulation's check
            raise ValueError(f"Action dimension mismatch. Expected {(e.model.nu,)}, found {actions.shape[1:]}")
        rows = np.flatnonzero(self.running)
        x_before = self.qpos[rows, 0].copy()
        ctrl_cost = np.empty(len(rows), actions.dtype)
        step, post, model, skip, weight = (
            self._mj.mj_step,
            self._mj.mj_rnePostConstraint,
            e.model,
            e.frame_skip,
            e._ctrl_cost_weight,
        )
        qpos, qvel, data = self.qpos, self.qvel, self.data
        for i, r in enumerate(rows.tolist()):
            a, d = actions[r], data[r]
            # MujocoEnv._step_mujoco_simulation, then HopperEnv.control_cost.
            d.ctrl[:] = a
            step(model, d, nstep=skip)
            post(model, d)
            qpos[r], qvel[r] = d.qpos, d.qvel
            ctrl_cost[i] = weight * np.sum(np.square(a))
        q, v = qpos[rows], qvel[rows]
        x_velocity = (q[:, 0] - x_before) / e.dt
        # HopperEnv._get_obs
        position = q[:, 1:] if e._exclude_current_positions_from_observation else q
        observation = np.concatenate((position, np.clip(v, -10, 10)), axis=1)
        # HopperEnv.is_healthy
        state = np.concatenate((q, v), axis=1)[:, 2:]
        (min_state, max_state), (min_z, max_z) = e._healthy_state_range, e._healthy_z_range
        min_angle, max_angle = e._healthy_angle_range
        z, angle = q[:, 1], q[:, 2]
        healthy = (
            np.all(np.logical_and(min_state < state, state < max_state), axis=1)
            & ((min_z < z) & (z < max_z))
            & ((min_angle < angle) & (angle < max_angle))
        )
        # HopperEnv._get_rew: (forward + healthy) - ctrl_cost, healthy = is_healthy * healthy_reward.
        reward_rows = (e._forward_reward_weight * x_velocity + healthy * e._healthy_reward) - ctrl_cost
        self.steps[rows] += 1
        obs = np.zeros((n, observation.shape[1]), np.float64)
        obs[rows] = observation
        reward = np.zeros(n, np.float64)
        reward[rows] = reward_rows
        terminated = np.zeros(n, bool)
        terminated[rows] = ~healthy & bool(e._terminate_when_unhealthy)
        truncated = np.zeros(n, bool)
        if self.limit is not None:  # TimeLimit: truncated once the limit is reached, terminated or not
            truncated[rows] = self.steps[rows] >= self.limit
        self.running[rows[terminated[rows] | truncated[rows]]] = False
        return obs, reward, terminated, truncated, np.zeros(n, bool)
