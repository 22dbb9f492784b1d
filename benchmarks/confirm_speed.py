"""What a held-out confirmation of a Crazyflie run costs: 50 architectures x 100 full-length (500-step) episodes.

The issue "Speed to the limit" asks that ``ghp evaluate RUN --confirm 50 --confirm-episodes 100`` take under 2
minutes on 2 cores. The figure runs the engine that command runs (``ghp.rollout.evaluate.evaluate`` with ``confirm=50``:
held-out starts, 100 episodes per architecture, 2 worker processes) and times it, emission and worker start-up
included.

The weights: a tiny run (a few hundred training steps) gives every architecture its real hidden layers, but such
policies crash within about 50 steps, and a confirmation's cost is in its steps: the top of a trained run flies all
500. So every policy's output layer is replaced by a constant (zero weights, a bias giving
``HOVER_ACTION`` on every motor), on the nominal airframe started at rest without noise or disturbances, where that
constant hovers for the whole episode: every episode runs its full 500 steps, and each step still computes every
hidden layer of the architecture (dense float32, the same matmuls as any weights). The architectures are a uniform
sample of the space (seeded), not the smallest: a real top 50 is not biased towards tiny policies.

Usage::

    .venv/bin/python -m benchmarks.confirm_speed            # trains a tiny Crazyflie run first (~20 s)
    .venv/bin/python -m benchmarks.confirm_speed --run runs/crazyflie --archs 50 --episodes 100 --workers 2
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

HOVER_KWARGS: dict[str, Any] = {
    "nominal": True,
    "start_rest_share": 1.0,
    "obs_noise": 0.0,
    "disturbance_force": 0.0,
    "disturbance_torque": 0.0,
}
"""Env kwargs under which a constant ``HOVER_ACTION`` flies every episode to its 500-step end."""


@dataclasses.dataclass
class HoverSource:
    """An evaluation source whose policies are a run's, their output layer replaced by the constant hover action."""

    spec: Any
    space: Any
    run_id: str
    timesteps: int
    run: Any

    def emit(self, archs: Sequence[Any], batch_size: int = 1024) -> list[Any]:
        from ghp.envs.crazyflie.interface import HOVER_ACTION
        from ghp.policy.weights import PolicyWeights

        out = []
        for w in self.run.emit(archs, batch_size):
            low, high = w.action_low, w.action_high
            # low + (tanh(b) + 1) / 2 * (high - low) = HOVER_ACTION
            bias = np.arctanh(2 * (HOVER_ACTION - low) / (high - low) - 1).astype(np.float32)
            last_w, _ = w.layers[-1]
            layers = [*w.layers[:-1], (np.zeros_like(last_w), bias)]
            out.append(PolicyWeights.from_arrays(w.arch, layers, low, high, w.activation))
        return out


def tiny_run(out: str) -> Path:
    """A Crazyflie hover run of the paper's space, trained for 300 steps."""
    from ghp.rl.config import TrainConfig
    from ghp.rl.train import train

    cfg = TrainConfig(
        env_id="ghp/CrazyflieHover-v0", steps=300, n_envs=2, learning_starts=100, batch_size=32, eval_every=0, out=out
    )
    return train(cfg, force=True)


def confirm_speed(run_dir: str | Path, archs: int = 50, episodes: int = 100, workers: int = 2) -> dict[str, Any]:
    """Time the confirmation of ``archs`` sampled architectures x ``episodes`` full-length episodes."""
    import torch

    from ghp.rollout.evaluate import EvalConfig, evaluate, parse_arch_selection
    from ghp.run.load import load_run

    torch.set_num_threads(1)  # as ghp evaluate does: the workers own the other cores
    run = load_run(run_dir)
    source = HoverSource(run.spec, run.space, run.run_id, run.timesteps, run)
    selected = parse_arch_selection(str(archs), run.space, 0)
    cfg = EvalConfig(workers=workers, confirm=archs, confirm_episodes=episodes, env_kwargs=HOVER_KWARGS)
    t0 = time.perf_counter()
    summary, records = evaluate(source, selected, cfg)
    seconds = time.perf_counter() - t0
    lengths = [n for r in records for n in r.lengths]
    return {
        "seconds": seconds,
        "archs": len(records),
        "episodes": episodes,
        "workers": summary.workers,
        "env_steps": summary.env_steps,
        "steps_per_s": summary.env_steps / seconds,
        "mean_episode_steps": sum(lengths) / len(lengths),
        "full_length_share": sum(n == 500 for n in lengths) / len(lengths),
        "mean_params": sum(r.params for r in records) / len(records),
        "mean_return": float(np.mean([r.mean_return for r in records])) if records else math.nan,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", help="A Crazyflie hover run (default: train a tiny one).")
    ap.add_argument("--archs", type=int, default=50)
    ap.add_argument("--episodes", type=int, default=100)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.run) if args.run else tiny_run(tmp)
        result = confirm_speed(path, args.archs, args.episodes, args.workers)
    print(result)
    print(f"confirmation: {result['seconds']:.1f} s (target < 120 s on 2 cores)")


if __name__ == "__main__":
    main()
