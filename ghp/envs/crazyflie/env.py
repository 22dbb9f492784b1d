"""The gymnasium face of the Crazyflie tasks: :class:`CrazyflieEnv` (one drone), :class:`CrazyflieVectorEnv` (N
drones, with the batched protocol ``ghp evaluate`` steps) and their registration under :data:`ENV_IDS`."""

from __future__ import annotations

import dataclasses
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from ghp.envs.crazyflie.batch import CrazyflieBatch
from ghp.envs.crazyflie.config import CrazyflieConfig
from ghp.envs.crazyflie.interface import ACT_DIM, obs_clip


def _spaces(cfg: CrazyflieConfig) -> tuple[Any, Any]:
    clip = obs_clip(cfg.action_history, cfg.position_integral > 0)
    obs = spaces.Box(-clip, clip, dtype=np.float32)
    act = spaces.Box(-1.0, 1.0, shape=(ACT_DIM,), dtype=np.float32)
    return obs, act


class CrazyflieEnv(gym.Env):  # type: ignore[misc]
    """One Crazyflie 2.x (a :class:`CrazyflieBatch` of one drone); options are :class:`CrazyflieConfig`'s fields."""

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__()
        self.config = CrazyflieConfig.from_kwargs(**kwargs)
        self.observation_space, self.action_space = _spaces(self.config)
        self.batch = CrazyflieBatch(1, self.config)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        if seed is None:
            seed = int(self.np_random.integers(2**63))
        obs = self.batch.reset([0], [seed])
        return obs[0], {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        obs, rew, term, trunc, succ = self.batch.step(np.asarray(action).reshape(1, ACT_DIM))
        info: dict[str, Any] = {"is_success": bool(succ[0])}
        if self.config.task == "track":
            info["tracking_error"] = float(self.batch.distance[0])
        return obs[0], float(rew[0]), bool(term[0]), bool(trunc[0]), info

    def vectorised(self, n: int) -> CrazyflieVectorEnv:
        """The vectorised form of this environment (same options), :data:`ghp.envs.VECTORISED` protocol."""
        return CrazyflieVectorEnv(num_envs=n, **dataclasses.asdict(self.config))


class CrazyflieVectorEnv(VectorEnv):  # type: ignore[misc]
    """N Crazyflies as a gymnasium ``VectorEnv`` (autoreset on the next step, gymnasium's default).

    ``gym.make_vec("ghp/CrazyflieHover-v0", num_envs=N)`` builds it through the spec's ``vector_entry_point``.
    Besides the VectorEnv API it offers :meth:`reset_rows` and :meth:`step_batch`, the batched protocol
    ``ghp evaluate`` uses (no autoreset: the caller resets the rows it wants).
    """

    metadata: dict[str, Any] = {"render_modes": [], "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(self, num_envs: int = 1, **kwargs: Any) -> None:
        if not isinstance(num_envs, int) or num_envs < 1:
            raise ValueError(f"num_envs must be a positive integer, got {num_envs!r}")
        kwargs.pop("render_mode", None)
        self.config = CrazyflieConfig.from_kwargs(**kwargs)
        self.num_envs = num_envs
        self.single_observation_space, self.single_action_space = _spaces(self.config)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.batch = CrazyflieBatch(num_envs, self.config)
        self._autoreset = np.zeros(num_envs, dtype=bool)
        self._seed_rng = np.random.default_rng()

    def reset(self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None) -> Any:
        if isinstance(seed, int):
            seeds: list[int | None] = [seed + i for i in range(self.num_envs)]
        elif seed is None:
            seeds = [int(x) for x in self._seed_rng.integers(2**63, size=self.num_envs)]
        else:
            seeds = list(seed)
        if isinstance(seed, int):
            self._seed_rng = np.random.default_rng(seed)
        obs = self.batch.reset(np.arange(self.num_envs), seeds)
        self._autoreset[:] = False
        return obs, {}

    def step(self, actions: Any) -> Any:
        obs, rew, term, trunc, succ = self.batch.step(np.asarray(actions))
        dist = self.batch.distance.copy()
        rows = np.flatnonzero(self._autoreset)
        if rows.size:
            seeds = [int(x) for x in self._seed_rng.integers(2**63, size=rows.size)]
            obs[rows] = self.batch.reset(rows, seeds)
            rew[rows], term[rows], trunc[rows], succ[rows], dist[rows] = 0.0, False, False, False, 0.0
        self._autoreset = term | trunc
        info: dict[str, Any] = {"is_success": succ}
        if self.config.task == "track":
            info["tracking_error"] = dist
        return obs, rew, term, trunc, info

    def reset_rows(self, rows: Any, seeds: Any) -> np.ndarray:
        """Start new episodes on drones ``rows`` with ``seeds`` (one per row); their [len(rows), 18 + 4 K]
        observations."""
        return self.batch.reset(rows, seeds)

    def step_batch(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Step every drone, no autoreset: observations, rewards, terminated, truncated, success."""
        return self.batch.step(np.asarray(actions))


ENV_IDS = {"ghp/CrazyflieHover-v0": "hover", "ghp/CrazyflieGoTo-v0": "goto", "ghp/CrazyflieTrack-v0": "track"}
"""Registered ids and their task."""


def register() -> None:
    """Register the Crazyflie ids with gymnasium (idempotent)."""
    from gymnasium.envs.registration import register as gym_register
    from gymnasium.envs.registration import registry

    for env_id, task in ENV_IDS.items():
        if env_id in registry:
            continue
        gym_register(
            id=env_id,
            entry_point="ghp.envs.crazyflie:CrazyflieEnv",
            vector_entry_point="ghp.envs.crazyflie:CrazyflieVectorEnv",
            kwargs={"task": task},
            disable_env_checker=True,
        )
