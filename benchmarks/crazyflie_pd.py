"""A hand-tuned cascaded PD / PID controller on the Crazyflie tasks: a reference for what the success criterion asks.

Position PD (plus, with ``--integral``, an integral of the position error) -> desired acceleration -> collective
thrust and desired body z; attitude PD on the tilt error and the body rates -> torques; the firmware's mixer
(``ghp.envs.quadrotor.mixer``) -> normalised forces -> actions. It reads only the 18 state entries of the
observation (not the previous actions) and has fixed gains: it does not adapt to the airframe it flies.

``--ablate`` flies the controller on the default (randomised) task with each group of randomised parameters set back
to nominal in turn, and writes the success rates with Wilson 95% intervals as JSON: which part of the randomisation
a fixed-gain controller cannot absorb.

Usage::

    .venv/bin/python benchmarks/crazyflie_pd.py                       # hover: nominal and default options
    .venv/bin/python benchmarks/crazyflie_pd.py --episodes 50 --env ghp/CrazyflieGoTo-v0
    .venv/bin/python benchmarks/crazyflie_pd.py --ablate --episodes 100 --out docs/results/crazyflie/pd_ablation.json
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Gains:
    """The controller's gains: position (``kp``, ``kd``, ``ki``: 1/s^2, 1/s, 1/s^3) and attitude (``att_kp``,
    ``att_kd``, ``yaw_kd``; torques are the inertia times these times the error)."""

    kp: float = 6.0
    kd: float = 4.0
    ki: float = 0.0
    att_kp: float = 120.0
    att_kd: float = 20.0
    yaw_kd: float = 5.0


def pd_action(obs: np.ndarray, gains: Gains = Gains(), integral: np.ndarray | None = None) -> np.ndarray:
    """Actions in [-1, 1]^4 from one observation (its first 18 entries); ``integral`` is the running integral of the
    position error (m s), used when ``gains.ki`` is not 0."""
    from ghp.envs import quadrotor as qr

    e, rot, v, w = obs[0:3], obs[3:12].reshape(3, 3), obs[12:15], obs[15:18]
    acc = -gains.kp * e - gains.kd * v + np.array([0.0, 0.0, qr.G])
    if gains.ki and integral is not None:
        acc = acc - gains.ki * integral
    thrust = qr.CF_MASS * float(acc @ rot[:, 2])
    z_des = acc / np.linalg.norm(acc)
    err_body = rot.T @ np.cross(rot[:, 2], z_des)  # tilt error, body frame
    inertia = np.array(qr.INERTIA)
    tau = inertia * (gains.att_kp * err_body - gains.att_kd * w)
    tau[2] = inertia[2] * (-gains.yaw_kd * w[2])
    forces = qr.mixer(thrust, (float(tau[0]), float(tau[1]), float(tau[2]))) / qr.THRUST_MAX
    return np.clip(2.0 * forces - 1.0, -1.0, 1.0).astype(np.float32)


def success_rate(
    env_id: str, episodes: int, gains: Gains = Gains(), seed: int = 1000, **kwargs: object
) -> tuple[float, float]:
    """Success rate and mean episode length of the controller over ``episodes`` episodes (reset seeds from ``seed``)."""
    import gymnasium as gym

    from ghp.envs.crazyflie import POLICY_DT

    env = gym.make(env_id, **kwargs)
    succ, lens = [], []
    for ep in range(episodes):
        obs, _ = env.reset(seed=seed + ep)
        integral = np.zeros(3)
        done, n, info = False, 0, {}
        while not done:
            integral = integral + obs[0:3] * POLICY_DT
            obs, _, term, trunc, info = env.step(pd_action(obs, gains, integral))
            n += 1
            done = term or trunc
        succ.append(bool(info["is_success"]))
        lens.append(n)
    return float(np.mean(succ)), float(np.mean(lens))


ABLATIONS: dict[str, dict[str, Any]] = {
    "default (everything randomised)": {},
    "observation noise off": {"obs_noise": 0.0},
    "disturbances off": {"disturbance_force": 0.0, "disturbance_torque": 0.0},
    "motor gains nominal": {"motor_gain_range": (1.0, 1.0)},
    "motor time constants nominal": {"motor_tau_range": (1.0, 1.0)},
    "thrust-to-weight nominal": {"thrust_to_weight_range": (1.69, 1.69)},
    "mass, inertia, yaw nominal": {"mass_range": (1.0, 1.0), "inertia_range": (1.0, 1.0), "yaw_coef_range": (1.0, 1.0)},
    "motor gains and time constants nominal": {"motor_gain_range": (1.0, 1.0), "motor_tau_range": (1.0, 1.0)},
    "nominal drone": {"nominal": True},
}
"""Each row's options on top of the task's defaults: one group of the randomisation set back to nominal."""


def ablate(env_id: str, episodes: int, controllers: dict[str, Gains]) -> dict[str, Any]:
    """Every controller on every row of :data:`ABLATIONS` (the same reset seeds everywhere)."""
    from ghp.run.stats import wilson_interval

    rows = []
    for name, gains in controllers.items():
        for setting, kwargs in ABLATIONS.items():
            rate, length = success_rate(env_id, episodes, gains, **kwargs)
            est = wilson_interval(round(rate * episodes), episodes)
            low, high = est.low, est.high
            options = {k: list(v) if isinstance(v, tuple) else v for k, v in kwargs.items()}
            rows.append({"controller": name, "setting": setting, "env_kwargs": options, "success": rate,
                         "wilson_95": [round(low, 4), round(high, 4)], "mean_length": length})  # fmt: skip
            print(
                f"{name:>4} {setting:<40} success {rate:.2f} [{low:.2f}, {high:.2f}], mean length {length:.0f}",
                flush=True,
            )
    gains_doc = {name: g.__dict__ for name, g in controllers.items()}
    return {"env": env_id, "episodes": episodes, "reset_seeds_from": 1000, "controllers": gains_doc, "rows": rows}


def main() -> None:
    import ghp  # noqa: F401  (registers the ids)

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--env", default="ghp/CrazyflieHover-v0")
    ap.add_argument("--episodes", type=int, default=20)
    ap.add_argument("--integral", type=float, default=0.0, help="Integral gain ki on the position error (0: PD).")
    ap.add_argument("--ablate", action="store_true", help="PD and PID (ki 4) with each randomised group nominal.")
    ap.add_argument("--out", type=Path, help="With --ablate: write the rows here as JSON.")
    args = ap.parse_args()
    if args.episodes < 1:
        ap.error(f"--episodes must be at least 1, got {args.episodes}")
    if args.ablate:
        doc = ablate(args.env, args.episodes, {"PD": Gains(), "PID": Gains(ki=4.0)})
        if args.out:
            args.out.write_text(json.dumps(doc, indent=1) + "\n")
        return
    gains = Gains(ki=args.integral)
    label = "PID" if gains.ki else "PD"
    for name, kw in (("nominal", {"nominal": True}), ("default (randomised)", {})):
        rate, length = success_rate(args.env, args.episodes, gains, **kw)
        print(
            f"{args.env} {name}: {label} success {rate:.2f}, mean episode length {length:.0f} "
            f"({args.episodes} episodes)"
        )


if __name__ == "__main__":
    main()
