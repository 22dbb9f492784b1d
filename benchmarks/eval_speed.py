"""How close `ghp evaluate` comes to the raw speed of the environment, and how fast weights are emitted.

Measured in one process run, side by side (the machine is shared, so only ratios mean much):

1. emission: weights for every architecture of the run's space (4680 for the paper's space) in batched calls
   (``Run.emit(archs, batch_size=1024)``); target < 1 s on CPU.
2. raw: the same number of environments in the same number of processes, stepped with a constant action in a
   plain loop (reset when an episode ends): the ceiling.
3. evaluate: ``ghp.evaluate.evaluate`` on a uniform sample of the space (emission, batched policies, bookkeeping
   all included), in environment steps per second.

The last line is ``ratio <evaluate steps/s / raw steps/s>`` (target >= 0.7).

Usage::

    .venv/bin/python benchmarks/eval_speed.py                       # trains a tiny Pendulum run first (~10 s)
    .venv/bin/python benchmarks/eval_speed.py --env InvertedPendulum-v5
    .venv/bin/python benchmarks/eval_speed.py --run runs/pendulum --archs 1000 --workers 2
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import tempfile
import time
from pathlib import Path


def raw_steps(env_id: str, n_envs: int, seconds: float, seed: int = 0) -> tuple[int, float]:
    """Step ``n_envs`` environments round-robin with the action-space midpoint for about ``seconds``."""
    import numpy as np

    from ghp.envs import make_env

    envs = [make_env(env_id) for _ in range(n_envs)]
    for i, e in enumerate(envs):
        e.reset(seed=seed + i)
    act = ((envs[0].action_space.low + envs[0].action_space.high) / 2).astype(np.float32)
    n = 0
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for e in envs:
            _, _, term, trunc, _ = e.step(act)
            n += 1
            if term or trunc:
                e.reset()
    return n, time.perf_counter() - t0


def _raw_worker(args: tuple[str, int, float, int]) -> tuple[int, float]:
    return raw_steps(*args)


def raw_rate(env_id: str, n_envs: int, workers: int, seconds: float) -> float:
    """Raw environment steps/s over ``workers`` processes of ``n_envs`` environments each."""
    if workers == 1:
        n, dt = raw_steps(env_id, n_envs, seconds)
        return n / dt
    with mp.get_context("spawn").Pool(workers) as pool:
        out = pool.map(_raw_worker, [(env_id, n_envs, seconds, 1000 * w) for w in range(workers)])
    return sum(n / dt for n, dt in out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", help="A trained run (default: train a tiny run on --env with the paper's space).")
    ap.add_argument("--env", default="Pendulum-v1", help="Environment of the tiny run trained without --run.")
    ap.add_argument("--archs", default="1000", help="Architectures to evaluate: a count (uniform sample) or 'all'.")
    ap.add_argument("--episodes", type=int, default=5)
    ap.add_argument("--workers", type=int, default=1, help="Processes, for both the raw loop and the evaluation.")
    ap.add_argument("--envs-per-worker", type=int, default=160)
    ap.add_argument("--raw-seconds", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--torch-threads", type=int, default=1, help="torch threads for emission (ghp evaluate uses 1).")
    args = ap.parse_args()

    import torch

    from ghp.evaluate import EvalConfig, evaluate, parse_arch_selection
    from ghp.run import load_run

    torch.set_num_threads(args.torch_threads)  # as `ghp evaluate` does: the workers own the other cores

    with tempfile.TemporaryDirectory() as tmp:
        if args.run is None:
            from ghp.train import TrainConfig, train

            t0 = time.perf_counter()
            path = train(
                TrainConfig(env_id=args.env, steps=300, n_envs=2, learning_starts=100, batch_size=32, out=tmp),
                force=True,
            )
            print(f"trained a tiny {args.env} run (paper space, 300 steps) in {time.perf_counter() - t0:.1f} s")
        else:
            path = Path(args.run)
        run = load_run(path)
        space = list(run.space.archs)
        emit_s = []
        for _ in range(3):
            t0 = time.perf_counter()
            run.emit(space, batch_size=1024)
            emit_s.append(time.perf_counter() - t0)
        print(
            f"emit: weights for all {len(space)} architectures in {min(emit_s):.3f} s "
            f"(best of 3, {torch.get_num_threads()} torch thread(s); target < 1 s)"
        )

        archs = parse_arch_selection(args.archs, run.space, args.seed)
        cfg = EvalConfig(
            episodes=args.episodes, seed=args.seed, workers=args.workers, envs_per_worker=args.envs_per_worker
        )
        env_id = run.spec.env_id
        raw_before = raw_rate(env_id, cfg.envs_per_worker, args.workers, args.raw_seconds)
        summary, _ = evaluate(run, archs, cfg)
        raw_after = raw_rate(env_id, cfg.envs_per_worker, args.workers, args.raw_seconds)
        raw = (raw_before + raw_after) / 2
        ev = summary.env_steps / summary.seconds
        print(
            f"raw {env_id}: {raw:,.0f} steps/s ({raw_before:,.0f} before, {raw_after:,.0f} after), constant action, "
            f"{args.workers} process(es) x {cfg.envs_per_worker} envs"
        )
        print(
            f"ghp evaluate: {ev:,.0f} steps/s, {len(archs)} architectures x {args.episodes} episodes "
            f"({summary.env_steps:,} steps) in {summary.seconds:.1f} s = {len(archs) / summary.seconds:.1f} archs/s"
        )
        print(f"ratio {ev / raw:.2f}")


if __name__ == "__main__":
    main()
