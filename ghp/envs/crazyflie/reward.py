"""The Crazyflie tasks' dense reward (the package docstring's **Reward**, after RLtools' l2f): a weighted cost of the
position error, tilt, velocity error, body rate and action change, as ``exp(-cost)`` or ``1 - cost``."""

from __future__ import annotations

from typing import Protocol

import numpy as np

REWARD_WEIGHTS = {"position": 2.0, "orientation": 0.2, "velocity": 0.05, "angular_velocity": 0.002, "action": 0.02}
"""Weights of the reward's cost terms (the package docstring); ``position`` and ``action`` are the defaults of
``position_weight`` and ``action_weight``."""
DIVERGED_COST = 100.0
"""Cost of a non-finite (diverged) state: far above any live drone's (about 6 at the termination limits)."""


class RewardOptions(Protocol):
    """The reward's options (:class:`~ghp.envs.crazyflie.config.CrazyflieConfig` has them)."""

    @property
    def reward(self) -> str: ...
    @property
    def position_weight(self) -> float | None: ...
    @property
    def yaw_weight(self) -> float | None: ...
    @property
    def action_weight(self) -> float: ...


def reward(
    dist: np.ndarray,
    rot: np.ndarray,
    vel_error: np.ndarray,
    omega: np.ndarray,
    action_change: np.ndarray,
    cfg: RewardOptions,
) -> np.ndarray:
    """[N] rewards from the position error norm [N] (m), the rotation [N, 3, 3], the velocity error [N, 3] (m/s; the
    velocity itself unless tracking), the body rate [N, 3] (rad/s) and the action change [N, 4], with ``cfg``'s form
    (``reward``: ``exp`` is ``exp(-cost)``, ``linear`` is ``1 - cost``) and weights: ``position_weight`` on ``|e|``,
    ``yaw_weight`` on the heading cost ``1 - (R_xx + R_yy) / 2`` (``1 - cos(yaw)`` when level) and ``action_weight``
    on ``|a_t - a_(t-1)|^2``; the other terms weigh :data:`REWARD_WEIGHTS`."""
    w = REWARD_WEIGHTS
    assert cfg.position_weight is not None, "position_weight is the task's once the config is built"
    cost = (
        cfg.position_weight * dist
        + w["orientation"] * (1.0 - rot[:, 2, 2])
        + w["velocity"] * np.linalg.norm(vel_error, axis=1)
        + w["angular_velocity"] * np.linalg.norm(omega, axis=1)
        + cfg.action_weight * np.einsum("ij,ij->i", action_change, action_change)
    )
    if cfg.yaw_weight:
        cost = cost + cfg.yaw_weight * (1.0 - 0.5 * (rot[:, 0, 0] + rot[:, 1, 1]))
    # Only a drone stepped on after its episode ended gets here (a live one is bounded by the termination limits): a
    # finite cost keeps NaN out of anything that reads the reward.
    cost = np.nan_to_num(cost, nan=DIVERGED_COST, posinf=DIVERGED_COST)
    return np.exp(-cost) if cfg.reward == "exp" else 1.0 - cost
