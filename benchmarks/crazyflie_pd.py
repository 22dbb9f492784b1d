"""A hand-tuned cascaded PD controller on the Crazyflie tasks: a reference for what the success criterion asks.

Position PD -> desired acceleration -> collective thrust and desired body z; attitude PD on the tilt error and the
body rates -> torques; the firmware's mixer (``ghp.envs.quadrotor.mixer``) -> normalised forces -> actions. It has no
integral term, and it only reads the 18 state entries of the observation (not the previous action), so constant
disturbances and a randomised thrust-to-weight leave a steady-state position error.

Usage::

    .venv/bin/python benchmarks/crazyflie_pd.py                       # hover: nominal and default options
    .venv/bin/python benchmarks/crazyflie_pd.py --episodes 50 --env ghp/CrazyflieGoTo-v0
"""

from __future__ import annotations

import argparse

import numpy as np


def pd_action(obs: np.ndarray) -> np.ndarray:
    """Actions in [-1, 1]^4 from one 22-float observation."""
    from ghp.envs import quadrotor as qr

    e, rot, v, w = obs[0:3], obs[3:12].reshape(3, 3), obs[12:15], obs[15:18]
    acc = -6.0 * e - 4.0 * v + np.array([0.0, 0.0, qr.G])
    thrust = qr.CF_MASS * float(acc @ rot[:, 2])
    z_des = acc / np.linalg.norm(acc)
    err_body = rot.T @ np.cross(rot[:, 2], z_des)
    inertia = np.array(qr.INERTIA)
    tau = inertia * (120.0 * err_body - 20.0 * w)
    tau[2] = inertia[2] * (-5.0 * w[2])
    forces = qr.mixer(thrust, (float(tau[0]), float(tau[1]), float(tau[2]))) / qr.THRUST_MAX
    return np.clip(2.0 * forces - 1.0, -1.0, 1.0).astype(np.float32)


def success_rate(env_id: str, episodes: int, **kwargs: object) -> tuple[float, float]:
    """Success rate and mean episode length of the PD controller over ``episodes`` seeded episodes."""
    import gymnasium as gym

    env = gym.make(env_id, **kwargs)
    succ, lens = [], []
    for ep in range(episodes):
        obs, _ = env.reset(seed=1000 + ep)
        done, n, info = False, 0, {}
        while not done:
            obs, _, term, trunc, info = env.step(pd_action(obs))
            n += 1
            done = term or trunc
        succ.append(bool(info["is_success"]))
        lens.append(n)
    return float(np.mean(succ)), float(np.mean(lens))


def main() -> None:
    import ghp  # noqa: F401  (registers the ids)

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--env", default="ghp/CrazyflieHover-v0")
    ap.add_argument("--episodes", type=int, default=20)
    args = ap.parse_args()
    for name, kw in (("nominal", {"nominal": True}), ("default (randomised)", {})):
        rate, length = success_rate(args.env, args.episodes, **kw)
        print(f"{args.env} {name}: PD success {rate:.2f}, mean episode length {length:.0f} ({args.episodes} episodes)")


if __name__ == "__main__":
    main()
