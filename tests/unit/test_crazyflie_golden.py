"""Hover and GoTo observe exactly what they observed before the tracking task: saved runs stay valid.

``data/crazyflie_golden.npz`` was written by :func:`rollout` on the tree before ``task="track"`` existed (commit
2a14885), with every option named (:data:`GOLDEN_KWARGS`), so a later change of a default does not move it. On the
machine that wrote it the observations and rewards match bit for bit; the comparison allows a few float32 ulps
(numpy's vectorised sin / exp may round their last bit differently on another CPU), far below any change of what the
policy observes. Regenerate it only for a deliberate change of the hover / goto observation, which invalidates every
saved run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ghp.envs.crazyflie import HOVER_ACTION, CrazyflieEnv, CrazyflieVectorEnv

GOLDEN = Path(__file__).parent / "data" / "crazyflie_golden.npz"
GOLDEN_KWARGS: dict[str, Any] = dict(
    nominal=False,
    mass_range=(0.9, 1.1),
    inertia_range=(0.8, 1.2),
    thrust_to_weight_range=(1.5, 2.0),
    motor_tau_range=(0.7, 1.5),
    yaw_coef_range=(0.7, 1.3),
    motor_gain_range=(0.95, 1.05),
    obs_noise=1.0,
    disturbance_force=0.03,
    disturbance_torque=2e-5,
    action_latency=0,
    action_history=1,
    substeps=5,
    episode_steps=500,
    reward="exp",
    position_weight=2.0,
    yaw_weight=0.0,
    yaw_frame=False,
    error_clip=0.0,
)
"""Every option but the task and its start-state defaults, at its value when the file was written."""
SEEDS = (0, 7, 123)
STEPS = 60


def rollout(task: str) -> dict[str, np.ndarray]:
    """Observations and rewards of a few single-env episodes and of a vectorised batch, under fixed actions."""
    rng = np.random.default_rng(42)
    env = CrazyflieEnv(task=task, **GOLDEN_KWARGS)
    obs, rew = [], []
    for seed in SEEDS:
        o, _ = env.reset(seed=seed)
        obs.append(o)
        for _ in range(STEPS):
            a = np.clip(HOVER_ACTION + 0.3 * rng.standard_normal(4), -1, 1).astype(np.float32)
            o, r, term, trunc, _ = env.step(a)
            obs.append(o)
            rew.append(r)
            if term or trunc:
                o, _ = env.reset(seed=seed + 1000)
                obs.append(o)
    venv = CrazyflieVectorEnv(num_envs=4, task=task, **GOLDEN_KWARGS)
    vobs = [venv.reset_rows(np.arange(4), [s + 500 for s in range(4)])]
    vrew = []
    for _ in range(STEPS):
        a = np.clip(HOVER_ACTION + 0.3 * rng.standard_normal((4, 4)), -1, 1)
        o, r, _, _, _ = venv.step_batch(a)
        vobs.append(o)
        vrew.append(r)
    return {
        "obs": np.asarray(obs, np.float32),
        "reward": np.asarray(rew, np.float64),
        "vec_obs": np.asarray(vobs, np.float32),
        "vec_reward": np.asarray(vrew, np.float64),
    }


@pytest.mark.parametrize("task", ["hover", "goto"])
def test_hover_and_goto_observe_what_they_did_before_tracking(task: str) -> None:
    want = np.load(GOLDEN)
    got = rollout(task)
    for name, arr in got.items():
        ref = want[f"{task}_{name}"]
        assert arr.shape == ref.shape, name
        np.testing.assert_allclose(arr, ref, rtol=1e-5, atol=1e-6, err_msg=f"{task} {name}")
