"""Drone-steps per second of the Crazyflie physics: the single environment against the vectorised one.

Measured in one process, side by side, with random actions in [-1, 1] around hover and the default (randomised)
options; episodes that end are restarted (the single env by ``reset``, the vectorised one by its autoreset):

1. ``gym.make(ENV)``: one drone per ``step`` call (what SB3's DummyVecEnv and a per-episode evaluation do).
2. ``gym.make_vec(ENV, num_envs=N, vectorization_mode="vector_entry_point")`` for N = 1, 64 and 1024: N drones
   in one batched numpy step (the same dynamics, ``ghp.envs.quadrotor``).

The machine is shared, so only ratios mean much. The last line is ``speed-up at 1024 <vectorised / single>``.

Usage::

    .venv/bin/python benchmarks/env_speed.py
    .venv/bin/python benchmarks/env_speed.py --env ghp/CrazyflieGoTo-v0 --seconds 5
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def single_rate(env_id: str, seconds: float) -> float:
    """Drone-steps/s of one ``gym.make`` environment stepped in a loop."""
    import gymnasium as gym

    env = gym.make(env_id)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    acts = rng.uniform(-0.3, 0.7, size=(1024, 4)).astype(np.float32)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for i in range(256):
            _, _, term, trunc, _ = env.step(acts[(n + i) % 1024])
            if term or trunc:
                env.reset()
        n += 256
    return n / (time.perf_counter() - t0)


def vector_rate(env_id: str, num: int, seconds: float) -> float:
    """Drone-steps/s of a vectorised environment of ``num`` drones."""
    import gymnasium as gym

    venv = gym.make_vec(env_id, num_envs=num, vectorization_mode="vector_entry_point")
    venv.reset(seed=0)
    rng = np.random.default_rng(0)
    acts = rng.uniform(-0.3, 0.7, size=(8, num, 4)).astype(np.float32)
    steps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for i in range(8):
            venv.step(acts[i])
        steps += 8
    return steps * num / (time.perf_counter() - t0)


def main() -> None:
    import ghp  # noqa: F401  (registers the Crazyflie ids)

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--env", default="ghp/CrazyflieHover-v0")
    ap.add_argument("--seconds", type=float, default=3.0, help="Seconds per measurement.")
    args = ap.parse_args()
    single = single_rate(args.env, args.seconds)
    print(f"{args.env}: single env {single:,.0f} drone-steps/s")
    rates = {}
    for num in (1, 64, 1024):
        rates[num] = vector_rate(args.env, num, args.seconds)
        print(f"vectorised, {num} drones: {rates[num]:,.0f} drone-steps/s ({rates[num] / single:.1f}x single)")
    print(f"speed-up at 1024 {rates[1024] / single:.1f}")


if __name__ == "__main__":
    main()
