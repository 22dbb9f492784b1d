"""How close `ghp evaluate` comes to the raw speed of the environment, and how fast weights are emitted.

Measured in one process run, side by side (the machine is shared, so only ratios mean much):

1. emission: weights for every architecture of the run's space (4680 for the paper's space) in batched calls
   (``Run.emit(archs, batch_size=1024)``); target < 1 s on CPU.
2. raw: the same number of environments in the same number of processes, stepped with a constant action in a
   plain loop (reset when an episode ends): the ceiling.
3. evaluate: ``ghp.rollout.evaluate.evaluate`` on a uniform sample of the space (emission, batched policies, bookkeeping
   all included), in environment steps per second.

The last line is ``ratio <evaluate steps/s / raw steps/s>`` (target >= 0.7).

With ``--backend ray``, the same evaluation (same architectures, seed, workers, chunks) runs twice, alternating
``local`` (worker processes) and ``ray`` (Ray tasks on a local instance with ``--workers`` CPUs, or on
``--ray-address``); the last line is then ``ratio <ray steps/s / local steps/s>`` (aim >= 0.9), best of
``--repeats`` each. Ray's start-up is not timed (a cluster is started once and reused); the stored rows of both
backends are checked to be identical.

Usage::

    .venv/bin/python benchmarks/eval_speed.py                       # trains a tiny Pendulum run first (~10 s)
    .venv/bin/python benchmarks/eval_speed.py --env InvertedPendulum-v5
    .venv/bin/python benchmarks/eval_speed.py --run runs/pendulum --archs 1000 --workers 2
    .venv/bin/python benchmarks/eval_speed.py --run runs/pendulum --archs 1000 --workers 2 --backend ray
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


def compare_ray(run, archs, cfg, address: str | None, repeats: int) -> None:  # noqa: ANN001 - a script
    """Time the same evaluation on the local and the Ray backend, alternating, best of ``repeats`` each."""
    import dataclasses

    import ray

    from ghp.rollout.evaluate import evaluate

    ray_cfg = dataclasses.replace(cfg, backend="ray", ray_address=address)
    t0 = time.perf_counter()
    # Started once here and reused by every evaluation (as a cluster would be); workers run BLAS on one thread.
    blas = {v: "1" for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    if address is None:
        ray.init(num_cpus=cfg.n_workers, include_dashboard=False, runtime_env={"env_vars": blas})
    else:
        ray.init(address=address)
    print(f"ray: started in {time.perf_counter() - t0:.1f} s, {ray.cluster_resources().get('CPU', 0):.0f} CPU(s)")
    # Warm both: Ray starts its worker processes lazily, the local pool starts per evaluation (timed, as in use).
    evaluate(run, archs[: 2 * cfg.chunk_size], ray_cfg)
    best: dict[str, float] = {"local": 0.0, "ray": 0.0}
    rows: dict[str, list] = {}
    for i in range(repeats):
        for name, c in (("local", cfg), ("ray", ray_cfg)):
            summary, recs = evaluate(run, archs, c)
            rate = summary.env_steps / summary.seconds
            best[name] = max(best[name], rate)
            rows[name] = sorted((r.arch.key, r.returns, r.lengths) for r in recs)
            print(f"{name}: {rate:,.0f} steps/s ({summary.env_steps:,} steps in {summary.seconds:.1f} s, run {i + 1})")
    same = rows["local"] == rows["ray"]
    print(
        f"{len(archs)} architectures x {cfg.episodes} episodes, {cfg.n_workers} worker(s), chunks of "
        f"{cfg.chunk_size}: local {best['local']:,.0f} steps/s, ray {best['ray']:,.0f} steps/s (best of {repeats}); "
        f"identical results: {same}"
    )
    ray.shutdown()
    print(f"ratio {best['ray'] / best['local']:.2f}")


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
    ap.add_argument("--backend", choices=["local", "ray"], default="local", help="ray: compare Ray with local.")
    ap.add_argument("--ray-address", default=None, help="Ray cluster for --backend ray (default: a local instance).")
    ap.add_argument("--repeats", type=int, default=2, help="With --backend ray: timed runs per backend (best of).")
    args = ap.parse_args()

    import torch

    from ghp.rollout.evaluate import EvalConfig, evaluate, parse_arch_selection
    from ghp.run.load import load_run

    torch.set_num_threads(args.torch_threads)  # as `ghp evaluate` does: the workers own the other cores

    with tempfile.TemporaryDirectory() as tmp:
        if args.run is None:
            from ghp.rl.config import TrainConfig
            from ghp.rl.train import train

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
        if args.backend == "ray":
            compare_ray(run, archs, cfg, args.ray_address, args.repeats)
            return
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
