"""How close a trained Crazyflie policy holds its target: the position error over each episode's last 2 s.

The success criterion asks for under 0.1 m for the whole last 2 s; this prints, per episode, the length, success and
the mean / max distance to the target over the last 200 steps, so a policy that flies but misses the box shows by how
much. Deterministic actions, the run's own environment options (``--env-kwargs`` on top), reset seeds 1000, 1001, ...

Usage::

    .venv/bin/python benchmarks/crazyflie_precision.py runs/hov-nom-base                 # a --baseline run
    .venv/bin/python benchmarks/crazyflie_precision.py runs/hov-nom-ghp --arch 64-32-256-64 --episodes 20
"""

from __future__ import annotations

import argparse

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run")
    ap.add_argument("--arch", default="256-256", help="architecture (a --baseline run has 256-256)")
    ap.add_argument("--checkpoint", default=None, help="e.g. step_100000 (default: the latest model)")
    ap.add_argument("--episodes", type=int, default=10)
    ap.add_argument("--env-kwargs", default="", help="KEY=VALUE ... on top of the run's own")
    args = ap.parse_args()

    import gymnasium as gym
    import torch

    from ghp.envs import parse_env_kwargs
    from ghp.run.load import load_run
    from ghp.space.arch import parse_arch

    run = load_run(args.run, checkpoint=args.checkpoint)
    kwargs = {**(run.config["train"].get("env_kwargs") or {}), **parse_env_kwargs([args.env_kwargs])}
    env = gym.make(run.spec.env_id, **kwargs)
    policy = run.policy(parse_arch(args.arch))
    wins, errors = 0, []
    for ep in range(args.episodes):
        obs, _ = env.reset(seed=1000 + ep)
        dist: list[float] = []
        done, info = False, {}
        while not done:
            with torch.no_grad():
                action = policy(torch.as_tensor(obs[None], dtype=torch.float32))[0].numpy()
            obs, _, term, trunc, info = env.step(action)
            dist.append(float(np.linalg.norm(obs[:3])))  # the position error is the first 3 entries (m)
            done = term or trunc
        last = np.array(dist[-200:])
        wins += bool(info["is_success"])
        errors.append(last.mean())
        print(
            f"episode {ep}: {len(dist)} steps, success {bool(info['is_success'])}, "
            f"last 2 s |e| mean {last.mean():.3f} m, max {last.max():.3f} m"
        )
    print(f"{args.arch}: success {wins}/{args.episodes}, mean last-2 s position error {np.mean(errors):.3f} m")


if __name__ == "__main__":
    main()
